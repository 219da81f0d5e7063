"""Stripe's limits on what the API takes: metadata, URLs, and values of the wrong
type anywhere (an array or a hash where a string goes, numbers that are not)."""

from urllib.parse import parse_qsl, urlencode

import pytest

from stripe_emulator.engine import Engine

from .conftest import Api


def assert_400(answer, param=None):
    status, body = answer
    assert status == 400, body
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"]
    if param:
        assert body["error"]["param"] == param


# -- metadata ----------------------------------------------------------------------


def metadata(pairs):
    return "&".join(f"metadata[{key}]={value}" for key, value in pairs)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (metadata((f"k{n}", "v") for n in range(51)), "metadata"),
        (metadata([("k" * 41, "v")]), "metadata[" + "k" * 41 + "]"),
        (metadata([("key", "v" * 501)]), "metadata[key]"),
        ("metadata[key][nested]=v", "metadata[key]"),
        ("metadata[key][]=v", "metadata[key]"),
    ],
)
def test_metadata_beyond_stripe_s_limits_is_refused(api, body, param):
    assert_400(api("POST", "/v1/customers", body), param)
    assert api("GET", "/v1/customers")[1]["data"] == []


def test_metadata_at_stripe_s_limits_is_taken(api):
    body = metadata([("k" * 40, "v" * 500)] + [(f"k{n}", "v") for n in range(49)])

    customer = api.ok("POST", "/v1/customers", body)

    assert len(customer["metadata"]) == 50


def test_an_update_may_not_grow_metadata_past_50_keys(api):
    customer = api.ok(
        "POST", "/v1/customers", metadata((f"k{n}", "v") for n in range(50))
    )
    path = f"/v1/customers/{customer['id']}"

    assert_400(api("POST", path, "metadata[one_more]=v"), "metadata")
    # Removing a key makes room, as on Stripe.
    updated = api.ok("POST", path, "metadata[k0]=&metadata[one_more]=v")
    assert len(updated["metadata"]) == 50


def test_subscription_and_item_metadata_are_limited_too(api, catalog, customer):
    too_many = "&".join(f"items[0][metadata][k{n}]=v" for n in range(51))
    body = f"customer={customer['id']}&items[0][price]={catalog['monthly']['id']}"

    assert_400(api("POST", "/v1/subscriptions", body + "&" + too_many))
    assert_400(api("POST", "/v1/subscriptions", body + "&metadata[k]=" + "v" * 501))


# -- URLs ------------------------------------------------------------------------------

BAD_URLS = [
    "javascript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://files.example/x",
    "//no-scheme.example/x",
    "/relative/path",
    "https://",
    "http://exa mple.com/",
    "https://example.com/\nSet-Cookie:x",
    "https://example.com/" + "x" * 5000,
]


@pytest.fixture
def session_body(catalog):
    return (
        f"mode=subscription&line_items[0][price]={catalog['monthly']['id']}"
        "&line_items[0][quantity]=1"
    )


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("param", ["success_url", "cancel_url"])
def test_checkout_takes_only_http_urls(api, session_body, url, param):
    urls = {"success_url": "https://site.test/done", "cancel_url": "http://x.test/"}
    urls[param] = url

    assert_400(
        api("POST", "/v1/checkout/sessions", session_body, query=urlencode(urls)), param
    )
    assert api("GET", "/v1/checkout/sessions")[1]["data"] == []


def test_checkout_keeps_a_good_url_with_its_placeholder(api, session_body):
    query = urlencode(
        {
            "success_url": "http://127.0.0.1:8000/done?id={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://site.test/pricing#plans",
        }
    )

    session = api.ok("POST", "/v1/checkout/sessions", session_body, query=query)

    assert session["cancel_url"] == "https://site.test/pricing#plans"


@pytest.mark.parametrize("url", BAD_URLS[:4])
def test_portal_sessions_and_configurations_take_only_http_urls(api, customer, url):
    quoted = urlencode({"return_url": url})
    assert_400(
        api(
            "POST", "/v1/billing_portal/sessions", f"customer={customer['id']}&{quoted}"
        ),
        "return_url",
    )
    features = "features[invoice_history][enabled]=true"
    for param in (
        "default_return_url",
        "business_profile[privacy_policy_url]",
        "business_profile[terms_of_service_url]",
    ):
        body = f"{features}&{urlencode({param: url})}"
        assert_400(api("POST", "/v1/billing_portal/configurations", body), param)


@pytest.mark.parametrize("url", BAD_URLS[:4])
def test_webhook_endpoints_and_intents_take_only_http_urls(api, customer, url):
    body = urlencode({"url": url, "enabled_events[]": "*"})
    assert_400(api("POST", "/v1/webhook_endpoints", body), "url")
    intent = f"amount=1000&currency=usd&customer={customer['id']}&"
    assert_400(
        api("POST", "/v1/payment_intents", intent + urlencode({"return_url": url})),
        "return_url",
    )


# -- values of the wrong type, on every route ------------------------------------

# A valid request for each route that takes parameters: each of its parameters in
# turn is replaced by malformed values.
BASES = [
    (
        "POST",
        "/v1/products",
        "name=P&active=true&metadata[a]=b&marketing_features[0][name]=x&default_price_data[currency]=usd&default_price_data[unit_amount]=5",
    ),
    (
        "POST",
        "/v1/prices",
        "product={product}&currency=usd&unit_amount=900&recurring[interval]=month&recurring[interval_count]=1&lookup_key=k&transfer_lookup_key=true&nickname=n",
    ),
    (
        "POST",
        "/v1/prices",
        "product={product}&currency=usd&billing_scheme=tiered&tiers_mode=graduated&tiers[0][up_to]=5&tiers[0][unit_amount]=100&tiers[1][up_to]=inf&tiers[1][unit_amount]=50&recurring[interval]=month",
    ),
    (
        "POST",
        "/v1/customers",
        "email=a@b.c&name=n&payment_method=pm_card_visa&invoice_settings[default_payment_method]=pm_card_visa&balance=5&preferred_locales[0]=en",
    ),
    ("POST", "/v1/customers/{customer}", "email=a@b.c&balance=5&metadata[a]=b"),
    (
        "POST",
        "/v1/checkout/sessions",
        "mode=subscription&line_items[0][price]={price}&line_items[0][quantity]=2&success_url=https://x.test/s&cancel_url=https://x.test/c&customer={customer}&subscription_data[trial_period_days]=3&allow_promotion_codes=true&expires_at=9999999999",
    ),
    (
        "POST",
        "/v1/checkout/sessions",
        "mode=payment&line_items[0][price_data][currency]=usd&line_items[0][price_data][unit_amount]=500&line_items[0][price_data][product_data][name]=x&line_items[0][quantity]=1&success_url=https://x.test/s&customer_email=a@b.c&invoice_creation[enabled]=true",
    ),
    (
        "POST",
        "/v1/subscriptions",
        "customer={customer}&items[0][price]={price}&items[0][quantity]=2&trial_period_days=3&cancel_at_period_end=false&coupon={coupon}&proration_behavior=none",
    ),
    (
        "POST",
        "/v1/subscriptions/{subscription}",
        "items[0][id]={item}&items[0][quantity]=3&proration_behavior=always_invoice&cancel_at_period_end=true&pause_collection[behavior]=void&cancel_at=9999999999",
    ),
    ("DELETE", "/v1/subscriptions/{subscription}", "invoice_now=true&prorate=true"),
    (
        "POST",
        "/v1/billing_portal/sessions",
        "customer={customer}&return_url=https://x.test/r&locale=en",
    ),
    (
        "POST",
        "/v1/billing_portal/configurations",
        "features[subscription_update][enabled]=true&features[subscription_update][default_allowed_updates][0]=price&features[subscription_update][products][0][product]={product}&features[subscription_update][products][0][prices][0]={price}&features[subscription_cancel][enabled]=true&features[subscription_cancel][cancellation_reason][enabled]=true&features[subscription_cancel][cancellation_reason][options][0]=other&business_profile[headline]=h",
    ),
    (
        "POST",
        "/v1/webhook_endpoints",
        "url=https://x.test/h&enabled_events[0]=*&description=d",
    ),
    (
        "POST",
        "/v1/coupons",
        "percent_off=10&duration=repeating&duration_in_months=3&max_redemptions=5&redeem_by=9999999999&applies_to[products][0]={product}",
    ),
    ("POST", "/v1/coupons", "amount_off=100&currency=usd&duration=once"),
    (
        "POST",
        "/v1/promotion_codes",
        "coupon={coupon}&code=ABC&max_redemptions=3&expires_at=9999999999&restrictions[first_time_transaction]=true&restrictions[minimum_amount]=100&restrictions[minimum_amount_currency]=usd",
    ),
    (
        "POST",
        "/v1/payment_intents",
        "amount=1000&currency=usd&customer={customer}&payment_method=pm_card_visa&confirm=true&setup_future_usage=off_session",
    ),
    ("POST", "/v1/refunds", "charge={charge}&amount=100&reason=requested_by_customer"),
    ("POST", "/v1/refunds", "payment_intent={intent}&amount=100"),
    (
        "POST",
        "/v1/customers/{customer}/balance_transactions",
        "amount=-100&currency=usd&description=d",
    ),
    ("POST", "/v1/test_helpers/test_clocks", "frozen_time=1700000000&name=n"),
    (
        "GET",
        "/v1/events",
        "limit=3&type=customer.created&types[0]=customer.created&created[gte]=1&starting_after={event}",
    ),
    (
        "GET",
        "/v1/subscriptions",
        "customer={customer}&status=all&price={price}&ending_before={subscription}",
    ),
    (
        "GET",
        "/v1/invoices",
        "customer={customer}&subscription={subscription}&status=open&created=5",
    ),
    (
        "GET",
        "/v1/prices",
        "product={product}&active=true&type=recurring&lookup_keys[0]=k&currency=usd",
    ),
    ("GET", "/v1/products", "active=true&ids[0]={product}&limit=2"),
    ("GET", "/v1/customers", "email=a@b.c&test_clock=clock_x&created[lt]=9"),
    (
        "GET",
        "/v1/checkout/sessions",
        "customer={customer}&subscription={subscription}&payment_intent={intent}",
    ),
    ("GET", "/v1/charges", "customer={customer}&payment_intent={intent}"),
    ("GET", "/v1/payment_methods", "customer={customer}&type=card"),
    ("GET", "/v1/subscription_items", "subscription={subscription}"),
    ("GET", "/v1/invoice_payments", "invoice={invoice}"),
    ("GET", "/v1/promotion_codes", "code=ABC&active=true&coupon={coupon}"),
    (
        "GET",
        "/v1/subscriptions/{subscription}",
        "expand[0]=latest_invoice.payment_intent&expand[1]=customer",
    ),
]
MALFORMED = ["abc", "-1", "1e309", "9" * 40, "", "inf", "nan", "1.5", "\u0663"]
SHAPES = ["{key}", "{key}[]", "{key}[0]", "{key}[a]", "{key}[0][a]"]


def account():
    """A fresh engine with one of everything the bases name."""
    api = Api(Engine())
    product = api.ok("POST", "/v1/products", "name=P")
    price = api.ok(
        "POST",
        "/v1/prices",
        f"product={product['id']}&currency=usd&unit_amount=900&recurring[interval]=month",
    )
    customer = api.ok("POST", "/v1/customers", "payment_method=pm_card_visa")
    sub = api.ok(
        "POST",
        "/v1/subscriptions",
        f"customer={customer['id']}&items[0][price]={price['id']}",
    )
    intent = api.ok(
        "POST",
        "/v1/payment_intents",
        f"amount=1000&currency=usd&customer={customer['id']}"
        "&payment_method=pm_card_visa&confirm=true",
    )
    ids = {
        "product": product["id"],
        "price": price["id"],
        "customer": customer["id"],
        "subscription": sub["id"],
        "item": sub["items"]["data"][0]["id"],
        "invoice": sub["latest_invoice"],
        "coupon": api.ok("POST", "/v1/coupons", "percent_off=5&duration=once")["id"],
        "intent": intent["id"],
        "charge": intent["latest_charge"],
        "event": api.ok("GET", "/v1/events")["data"][0]["id"],
    }
    return api, ids


@pytest.mark.parametrize(("method", "path", "base"), BASES, ids=lambda v: str(v)[:40])
def test_malformed_values_never_fail_the_emulator(method, path, base):
    api, ids = account()
    path, pairs = path.format(**ids), parse_qsl(base.format(**ids))
    failures = []
    for index, (key, _) in enumerate(pairs):
        for value in MALFORMED:
            for shape in SHAPES:
                changed = [*pairs[:index], (shape.format(key=key), value)]
                query = urlencode(changed + pairs[index + 1 :])
                if method == "GET":
                    status, body = api(method, path, query=query)
                else:
                    status, body = api(method, path, query)
                if status >= 500:
                    failures.append((query, body["error"]["message"]))
    assert failures == []


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/test_helpers/test_clocks", "frozen_time=" + "9" * 20, "frozen_time"),
        (
            "/v1/prices",
            "currency=usd&product_data[name]=x&unit_amount=" + "9" * 20,
            "unit_amount",
        ),
        ("/v1/customers", "balance=-" + "9" * 20, "balance"),
    ],
)
def test_numbers_beyond_64_bits_are_refused(api, path, body, param):
    assert_400(api("POST", path, body), param)


def test_timestamps_past_2200_are_refused(api, catalog, customer):
    # A clock in the year 31 million once made every subscription on it fail.
    assert_400(
        api("POST", "/v1/test_helpers/test_clocks", f"frozen_time={10**15}"),
        "frozen_time",
    )
    body = f"customer={customer['id']}&items[0][price]={catalog['monthly']['id']}"
    for param in ("trial_end", "cancel_at"):
        assert_400(api("POST", "/v1/subscriptions", f"{body}&{param}={2**62}"), param)
    assert_400(
        api("POST", "/v1/subscriptions", f"{body}&trial_period_days=731"),
        "trial_period_days",
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("POST", "/v1/customers", "email=" + "x" * 5001, "email"),
        (
            "POST",
            "/v1/prices",
            "currency=usd&product=prod_missing&unit_amount=abc",
            "unit_amount",
        ),
        (
            "POST",
            "/v1/subscriptions",
            f"customer=cus_missing&items[0][quantity]={10**30}",
            None,
        ),
        ("GET", "/v1/customers", "expand[]=data.nothing.here", "expand"),
        ("GET", "/v1/checkout/sessions", "expand[]=data.nothing", "expand"),
    ],
)
def test_values_are_checked_before_objects_are_looked_up(
    api, method, path, body, param
):
    # Stripe checks what was sent before it looks anything up, and an unknown
    # expansion is refused even when the list is empty.
    if method == "GET":
        assert_400(api(method, path, query=body), param)
    else:
        assert_400(api(method, path, body), param)
