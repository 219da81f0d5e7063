"""Each resource the site uses: create, retrieve, update, delete, list and their events."""

import pytest

from stripe_emulator.catalog import price_amount


def event_types(api):
    return [
        e["type"]
        for e in reversed(api.ok("GET", "/v1/events", query="limit=100")["data"])
    ]


def subscribe(api, customer, price, extra=""):
    return api.ok(
        "POST",
        "/v1/subscriptions",
        f"customer={customer['id']}&items[0][price]={price['id']}{extra}",
    )


def test_account_is_served(api):
    account = api.ok("GET", "/v1/account")
    assert account["id"].startswith("acct_")
    assert account["charges_enabled"] is True
    assert api.ok("GET", f"/v1/accounts/{account['id']}") == account
    assert api("GET", "/v1/accounts/acct_other")[0] == 404


def test_product_lifecycle(api):
    product = api.ok(
        "POST",
        "/v1/products",
        "name=Studio&marketing_features[0][name]=SSO&metadata[slug]=studio",
    )
    assert product["marketing_features"] == [{"name": "SSO"}]
    updated = api.ok(
        "POST", f"/v1/products/{product['id']}", "active=false&name=Studios"
    )
    assert (updated["active"], updated["name"]) == (False, "Studios")
    assert (
        api.ok("GET", "/v1/products", query="active=false")["data"][0]["id"]
        == product["id"]
    )
    assert api.ok("GET", "/v1/products", query="active=true")["data"] == []
    assert api.ok("DELETE", f"/v1/products/{product['id']}")["deleted"] is True
    assert api("GET", f"/v1/products/{product['id']}")[0] == 404
    assert event_types(api) == ["product.created", "product.updated", "product.deleted"]


def test_product_update_event_carries_previous_attributes(api):
    product = api.ok("POST", "/v1/products", "name=Old")
    api.ok("POST", f"/v1/products/{product['id']}", "name=New")
    event = api.ok("GET", "/v1/events", query="type=product.updated")["data"][0]
    assert event["data"]["object"]["name"] == "New"
    assert event["data"]["previous_attributes"]["name"] == "Old"


def test_a_product_with_prices_cannot_be_deleted(api, catalog):
    status, _ = api("DELETE", f"/v1/products/{catalog['product']['id']}")
    assert status == 400


def test_recurring_price_with_interval_count_and_lookup_key(api, catalog):
    price = api.ok(
        "POST",
        "/v1/prices",
        f"product={catalog['product']['id']}&currency=eur&unit_amount=2500"
        "&recurring[interval]=month&recurring[interval_count]=3&lookup_key=quarterly",
    )
    assert price["recurring"]["interval_count"] == 3
    assert price["currency"] == "eur"
    found = api.ok("GET", "/v1/prices", query="lookup_keys[]=quarterly")["data"]
    assert [p["id"] for p in found] == [price["id"]]


def test_price_with_product_data_creates_the_product(api):
    price = api.ok(
        "POST",
        "/v1/prices",
        "currency=usd&unit_amount=500&product_data[name]=Starter&recurring[interval]=year",
    )
    assert api.ok("GET", f"/v1/products/{price['product']}")["name"] == "Starter"


def test_a_taken_lookup_key_is_refused_unless_transferred(api, catalog):
    body = f"product={catalog['product']['id']}&currency=usd&unit_amount=1&lookup_key=pro_monthly"
    assert api("POST", "/v1/prices", body)[0] == 400
    moved = api.ok("POST", "/v1/prices", body + "&transfer_lookup_key=true")
    assert moved["lookup_key"] == "pro_monthly"
    assert api.ok("GET", f"/v1/prices/{catalog['monthly']['id']}")["lookup_key"] is None


def test_price_update_and_list_filters(api, catalog):
    api.ok(
        "POST", f"/v1/prices/{catalog['yearly']['id']}", "active=false&metadata[a]=1"
    )
    active = api.ok("GET", "/v1/prices", query="active=true&type=recurring")["data"]
    assert [p["id"] for p in active] == [catalog["monthly"]["id"]]
    by_product = api.ok(
        "GET", "/v1/prices", query=f"product={catalog['product']['id']}"
    )
    assert len(by_product["data"]) == 2


@pytest.mark.parametrize(
    ("mode", "quantity", "expected"),
    [
        ("graduated", 3, 3 * 1000),
        ("graduated", 7, 5 * 1000 + 2 * 800),
        ("volume", 7, 7 * 800),
    ],
)
def test_tiered_prices_bill_by_tiers(api, engine, catalog, mode, quantity, expected):
    price = api.ok(
        "POST",
        "/v1/prices",
        f"product={catalog['product']['id']}&currency=usd&billing_scheme=tiered"
        f"&tiers_mode={mode}&recurring[interval]=month"
        "&tiers[0][up_to]=5&tiers[0][unit_amount]=1000"
        "&tiers[1][up_to]=inf&tiers[1][unit_amount]=800&expand[]=tiers",
    )
    assert len(price["tiers"]) == 2
    stored = engine.store.find(price["id"])
    assert price_amount(engine.store, stored, quantity) == expected


def test_customer_lifecycle(api):
    customer = api.ok("POST", "/v1/customers", "email=bo@example.com&name=Bo")
    api.ok("POST", f"/v1/customers/{customer['id']}", "metadata[account]=3")
    found = api.ok("GET", "/v1/customers", query="email=bo@example.com")["data"]
    assert found[0]["metadata"] == {"account": "3"}
    assert api.ok("DELETE", f"/v1/customers/{customer['id']}")["deleted"] is True
    assert api.ok("GET", f"/v1/customers/{customer['id']}")["deleted"] is True
    assert event_types(api) == [
        "customer.created",
        "customer.updated",
        "customer.deleted",
    ]


def test_checkout_session_create_retrieve_list_expire(api, catalog):
    session = api.ok(
        "POST",
        "/v1/checkout/sessions",
        f"mode=subscription&line_items[0][price]={catalog['monthly']['id']}"
        "&line_items[0][quantity]=2&customer_email=cy@example.com&client_reference_id=account-9"
        "&success_url=https://site.test/ok?session_id={CHECKOUT_SESSION_ID}"
        "&cancel_url=https://site.test/back&metadata[account]=9&allow_promotion_codes=true"
        "&subscription_data[metadata][account]=9&subscription_data[trial_period_days]=14",
    )
    assert session["url"].endswith(f"/checkout/{session['id']}")
    assert (session["status"], session["amount_subtotal"]) == ("open", 2000)
    got = api.ok(
        "GET", f"/v1/checkout/sessions/{session['id']}", query="expand[]=line_items"
    )
    assert got["line_items"]["data"][0]["quantity"] == 2
    assert api.ok("GET", "/v1/checkout/sessions")["data"][0]["id"] == session["id"]
    expired = api.ok("POST", f"/v1/checkout/sessions/{session['id']}/expire")
    assert expired["status"] == "expired"
    assert "checkout.session.expired" in event_types(api)
    assert api("POST", f"/v1/checkout/sessions/{session['id']}/expire")[0] == 400


def test_checkout_session_refuses_customer_and_email_together(api, catalog, customer):
    status, _ = api(
        "POST",
        "/v1/checkout/sessions",
        f"mode=subscription&line_items[0][price]={catalog['monthly']['id']}"
        f"&customer={customer['id']}&customer_email=x@example.com&success_url=https://s.test/",
    )
    assert status == 400


def test_completed_checkout_creates_customer_subscription_and_paid_invoice(
    engine, api, catalog
):
    session = api.ok(
        "POST",
        "/v1/checkout/sessions",
        f"mode=subscription&line_items[0][price]={catalog['monthly']['id']}"
        "&line_items[0][quantity]=3&customer_email=di@example.com"
        "&success_url=https://site.test/ok?session_id={CHECKOUT_SESSION_ID}",
    )
    url = engine.complete_checkout(session["id"], card="success")
    assert url == f"https://site.test/ok?session_id={session['id']}"
    done = api.ok(
        "GET",
        f"/v1/checkout/sessions/{session['id']}",
        query="expand[]=subscription&expand[]=customer",
    )
    assert done["status"] == "complete"
    assert done["customer"]["email"] == "di@example.com"
    assert done["subscription"]["status"] == "active"
    assert done["subscription"]["items"]["data"][0]["quantity"] == 3
    invoice = api.ok("GET", f"/v1/invoices/{done['subscription']['latest_invoice']}")
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 3000)
    assert event_types(api)[-1] == "checkout.session.completed"


def test_portal_session_points_at_the_hosted_portal(api, customer):
    session = api.ok(
        "POST",
        "/v1/billing_portal/sessions",
        f"customer={customer['id']}&return_url=https://site.test/billing",
    )
    assert session["url"].endswith(f"/portal/{session['id']}")
    assert session["return_url"] == "https://site.test/billing"


def test_subscription_create_with_trial(api, catalog, customer):
    sub = subscribe(
        api, customer, catalog["monthly"], "&trial_period_days=7&metadata[account]=1"
    )
    item = sub["items"]["data"][0]
    assert sub["status"] == "trialing"
    assert item["current_period_end"] == sub["trial_end"]
    assert sub["metadata"] == {"account": "1"}


def test_subscription_without_a_card_is_refused(api, catalog):
    bare = api.ok("POST", "/v1/customers", "email=no-card@example.com")
    status, body = api(
        "POST",
        "/v1/subscriptions",
        f"customer={bare['id']}&items[0][price]={catalog['monthly']['id']}",
    )
    assert status == 400
    assert "payment method" in body["error"]["message"]


def test_default_incomplete_leaves_the_subscription_incomplete(api, catalog):
    bare = api.ok("POST", "/v1/customers", "email=no-card@example.com")
    sub = api.ok(
        "POST",
        "/v1/subscriptions",
        f"customer={bare['id']}&items[0][price]={catalog['monthly']['id']}"
        "&payment_behavior=default_incomplete",
    )
    assert sub["status"] == "incomplete"


def test_a_declining_card_with_error_if_incomplete_is_a_402(api, catalog):
    declining = api.ok(
        "POST",
        "/v1/customers",
        "email=d@example.com&payment_method=pm_card_chargeCustomerFail",
    )
    status, body = api(
        "POST",
        "/v1/subscriptions",
        f"customer={declining['id']}&items[0][price]={catalog['monthly']['id']}"
        "&payment_behavior=error_if_incomplete",
    )
    assert (status, body["error"]["code"]) == (402, "card_declined")
    assert api.ok("GET", "/v1/subscriptions", query="status=all")["data"] == []


def test_subscription_update_quantity_price_and_metadata(api, catalog, customer):
    sub = subscribe(api, customer, catalog["monthly"])
    item_id = sub["items"]["data"][0]["id"]
    updated = api.ok(
        "POST",
        f"/v1/subscriptions/{sub['id']}",
        f"items[0][id]={item_id}&items[0][quantity]=4&items[0][price]={catalog['yearly']['id']}"
        "&proration_behavior=none&metadata[seats]=4",
    )
    item = updated["items"]["data"][0]
    assert (item["id"], item["quantity"], item["price"]["id"]) == (
        item_id,
        4,
        catalog["yearly"]["id"],
    )
    event = api.ok("GET", "/v1/events", query="type=customer.subscription.updated")[
        "data"
    ][0]
    assert event["data"]["previous_attributes"]["items"]["data"][0]["quantity"] == 1


def test_always_invoice_bills_the_proration_now(api, catalog, customer):
    sub = subscribe(api, customer, catalog["monthly"])
    item_id = sub["items"]["data"][0]["id"]
    updated = api.ok(
        "POST",
        f"/v1/subscriptions/{sub['id']}",
        f"items[0][id]={item_id}&items[0][quantity]=2&proration_behavior=always_invoice",
    )
    invoice = api.ok("GET", f"/v1/invoices/{updated['latest_invoice']}")
    assert invoice["billing_reason"] == "subscription_update"
    assert 0 < invoice["amount_paid"] <= 1000


def test_cancel_at_period_end_then_resume_then_cancel(api, catalog, customer):
    sub = subscribe(api, customer, catalog["monthly"])
    period_end = sub["items"]["data"][0]["current_period_end"]
    pending = api.ok(
        "POST", f"/v1/subscriptions/{sub['id']}", "cancel_at_period_end=true"
    )
    assert (pending["cancel_at_period_end"], pending["cancel_at"]) == (True, period_end)
    resumed = api.ok(
        "POST", f"/v1/subscriptions/{sub['id']}", "cancel_at_period_end=false"
    )
    assert (resumed["cancel_at_period_end"], resumed["cancel_at"]) == (False, None)
    canceled = api.ok("DELETE", f"/v1/subscriptions/{sub['id']}")
    assert canceled["status"] == "canceled"
    assert event_types(api)[-1] == "customer.subscription.deleted"
    assert (
        api("POST", f"/v1/subscriptions/{sub['id']}", "items[0][quantity]=2")[0] == 400
    )


def test_subscription_list_filters(api, catalog, customer):
    kept = subscribe(api, customer, catalog["monthly"])
    gone = subscribe(api, customer, catalog["yearly"])
    api.ok("DELETE", f"/v1/subscriptions/{gone['id']}")
    default = api.ok("GET", "/v1/subscriptions", query=f"customer={customer['id']}")
    assert [s["id"] for s in default["data"]] == [kept["id"]]
    every = api.ok("GET", "/v1/subscriptions", query="status=all")
    assert len(every["data"]) == 2
    canceled = api.ok("GET", "/v1/subscriptions", query="status=canceled")
    assert [s["id"] for s in canceled["data"]] == [gone["id"]]
    by_price = api.ok(
        "GET", "/v1/subscriptions", query=f"price={catalog['monthly']['id']}"
    )
    assert [s["id"] for s in by_price["data"]] == [kept["id"]]


def test_invoices_list_by_customer_and_subscription(api, catalog, customer):
    sub = subscribe(api, customer, catalog["monthly"])
    by_sub = api.ok("GET", "/v1/invoices", query=f"subscription={sub['id']}")["data"]
    by_customer = api.ok("GET", "/v1/invoices", query=f"customer={customer['id']}")[
        "data"
    ]
    assert (
        [i["id"] for i in by_sub]
        == [i["id"] for i in by_customer]
        == [sub["latest_invoice"]]
    )
    lines = api.ok("GET", f"/v1/invoices/{sub['latest_invoice']}/lines")["data"]
    assert lines[0]["amount"] == 1000


def test_events_list_filters(api, catalog, customer):
    subscribe(api, customer, catalog["monthly"])
    created = api.ok("GET", "/v1/events", query="type=customer.subscription.created")[
        "data"
    ]
    assert len(created) == 1
    several = api.ok(
        "GET",
        "/v1/events",
        query="types[]=invoice.paid&types[]=invoice.created&limit=100",
    )["data"]
    assert {e["type"] for e in several} == {"invoice.paid", "invoice.created"}
    first = api.ok("GET", "/v1/events", query="limit=100")["data"][-1]
    since = api.ok(
        "GET", "/v1/events", query=f"created[gte]={first['created']}&limit=100"
    )
    assert len(since["data"]) >= len(several)
    assert api.ok("GET", f"/v1/events/{first['id']}")["type"] == first["type"]


def test_webhook_endpoint_lifecycle(api):
    created = api.ok(
        "POST",
        "/v1/webhook_endpoints",
        "url=https://site.test/stripe/webhook/&enabled_events[]=customer.subscription.updated",
    )
    assert created["secret"].startswith("whsec_")
    got = api.ok("GET", f"/v1/webhook_endpoints/{created['id']}")
    assert "secret" not in got
    api.ok(
        "POST",
        f"/v1/webhook_endpoints/{created['id']}",
        "enabled_events[]=*&disabled=true",
    )
    listed = api.ok("GET", "/v1/webhook_endpoints")["data"]
    assert (listed[0]["enabled_events"], listed[0]["status"]) == (["*"], "disabled")
    assert api.ok("DELETE", f"/v1/webhook_endpoints/{created['id']}")["deleted"] is True


def test_webhook_endpoint_needs_a_url_and_events(api):
    assert (
        api("POST", "/v1/webhook_endpoints", "enabled_events[]=*")[1]["error"]["param"]
        == "url"
    )
    status, _ = api("POST", "/v1/webhook_endpoints", "url=ftp://x&enabled_events[]=*")
    assert status == 400


def test_test_clock_create_retrieve_list_advance(api):
    clock = api.ok(
        "POST", "/v1/test_helpers/test_clocks", "frozen_time=1700000000&name=c"
    )
    assert clock["status"] == "ready"
    advanced = api.ok(
        "POST",
        f"/v1/test_helpers/test_clocks/{clock['id']}/advance",
        "frozen_time=1700086400",
    )
    assert advanced["frozen_time"] == 1700086400
    assert api.ok("GET", f"/v1/test_helpers/test_clocks/{clock['id']}")[
        "frozen_time"
    ] == (1700086400)
    assert len(api.ok("GET", "/v1/test_helpers/test_clocks")["data"]) == 1
    backwards = api(
        "POST", f"/v1/test_helpers/test_clocks/{clock['id']}/advance", "frozen_time=1"
    )
    assert backwards[0] == 400


def test_items_can_be_added_and_removed(api, catalog, customer):
    sub = subscribe(api, customer, catalog["monthly"])
    first = sub["items"]["data"][0]["id"]
    grown = api.ok(
        "POST",
        f"/v1/subscriptions/{sub['id']}",
        f"items[0][price]={catalog['yearly']['id']}&items[0][quantity]=2",
    )
    assert len(grown["items"]["data"]) == 2
    shrunk = api.ok(
        "POST",
        f"/v1/subscriptions/{sub['id']}",
        f"items[0][id]={first}&items[0][deleted]=true",
    )
    assert [i["price"]["id"] for i in shrunk["items"]["data"]] == [
        catalog["yearly"]["id"]
    ]
    status, _ = api(
        "POST",
        f"/v1/subscriptions/{sub['id']}",
        f"items[0][id]={shrunk['items']['data'][0]['id']}&items[0][deleted]=true",
    )
    assert status == 400


def test_trial_end_now_starts_billing(api, catalog, customer):
    sub = subscribe(api, customer, catalog["monthly"], "&trial_period_days=30")
    ended = api.ok("POST", f"/v1/subscriptions/{sub['id']}", "trial_end=now")
    assert ended["status"] == "active"
    invoice = api.ok("GET", f"/v1/invoices/{ended['latest_invoice']}")
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 1000)


def test_subscriptions_without_a_clock_renew_in_real_time():
    from stripe_emulator.engine import Engine

    from .conftest import Api

    now = [1_767_225_600.0]
    engine = Engine(clock=lambda: now[0])
    api = Api(engine)
    product = api.ok("POST", "/v1/products", "name=P")
    price = api.ok(
        "POST",
        "/v1/prices",
        f"product={product['id']}&currency=usd&unit_amount=100&recurring[interval]=week",
    )
    customer = api.ok("POST", "/v1/customers", "payment_method=pm_card_visa")
    sub = subscribe(api, customer, price)
    now[0] += 15 * 86400

    assert engine.run_due_transitions() == 2

    invoices = api.ok("GET", "/v1/invoices", query=f"subscription={sub['id']}")["data"]
    assert len(invoices) == 3
