"""Contract: every object served has the keys and JSON types of Stripe's own examples.

The contract (tests/contract.json) is derived from Stripe's fixtures3.json by
`python -m stripe_emulator.contract`, so these tests need nothing outside this folder.
"""

import json
from pathlib import Path

import pytest
import stripe

from stripe_emulator.contract import (
    SERVED_RESOURCES,
    mismatches,
)

from .conftest import Api

CONTRACT = Path(__file__).with_name("contract.json")


@pytest.fixture(scope="module")
def contract():
    return json.loads(CONTRACT.read_text())["resources"]


@pytest.fixture(scope="module")
def served():
    """One object of every resource the emulator serves, as its API returns them."""
    from stripe_emulator.engine import Engine

    engine = Engine()
    api = Api(engine)
    out = {"account": api.ok("GET", "/v1/account")}
    product = api.ok("POST", "/v1/products", "name=Pro&marketing_features[0][name]=SSO")
    price = api.ok(
        "POST",
        "/v1/prices",
        f"product={product['id']}&currency=usd&unit_amount=700&recurring[interval]=month",
    )
    out["product"] = api.ok("GET", f"/v1/products/{product['id']}")
    out["price"] = price
    customer = api.ok(
        "POST", "/v1/customers", "email=k@example.com&payment_method=pm_card_visa"
    )
    out["customer"] = customer
    out["payment_method"] = api.ok(
        "GET", "/v1/payment_methods", query="customer=" + customer["id"]
    )["data"][0]
    session = api.ok(
        "POST",
        "/v1/checkout/sessions",
        f"mode=subscription&line_items[0][price]={price['id']}&line_items[0][quantity]=1"
        "&success_url=https://s.test/ok&customer_email=k2@example.com",
    )
    out["item"] = api.ok("GET", f"/v1/checkout/sessions/{session['id']}/line_items")[
        "data"
    ][0]
    engine.complete_checkout(session["id"])
    out["checkout.session"] = api.ok("GET", f"/v1/checkout/sessions/{session['id']}")
    sub = api.ok("GET", f"/v1/subscriptions/{out['checkout.session']['subscription']}")
    out["subscription"] = sub
    out["subscription_item"] = api.ok(
        "GET", f"/v1/subscription_items/{sub['items']['data'][0]['id']}"
    )
    out["plan"] = out["subscription_item"]["plan"]
    out["invoice"] = api.ok("GET", f"/v1/invoices/{sub['latest_invoice']}")
    out["line_item"] = out["invoice"]["lines"]["data"][0]
    out["invoice_payment"] = api.ok(
        "GET", "/v1/invoice_payments", query=f"invoice={sub['latest_invoice']}"
    )["data"][0]
    out["payment_intent"] = api.ok(
        "GET",
        f"/v1/payment_intents/{out['invoice_payment']['payment']['payment_intent']}",
    )
    out["charge"] = api.ok(
        "GET", f"/v1/charges/{out['payment_intent']['latest_charge']}"
    )
    out["refund"] = api.ok(
        "POST", "/v1/refunds", f"charge={out['charge']['id']}&amount=100"
    )
    coupon = api.ok("POST", "/v1/coupons", "percent_off=20&duration=forever&name=Pal")
    out["coupon"] = api.ok("GET", f"/v1/coupons/{coupon['id']}")
    out["promotion_code"] = api.ok(
        "POST",
        "/v1/promotion_codes",
        f"promotion[type]=coupon&promotion[coupon]={coupon['id']}&code=PAL",
    )
    discounted = api.ok(
        "POST",
        f"/v1/subscriptions/{sub['id']}",
        f"discounts[0][coupon]={coupon['id']}",
        query="expand[]=discounts",
    )
    out["discount"] = discounted["discounts"][0]
    out["deleted_discount"] = api.ok(
        "DELETE", f"/v1/subscriptions/{sub['id']}/discount"
    )
    out["deleted_coupon"] = api.ok("DELETE", f"/v1/coupons/{coupon['id']}")
    out["customer_balance_transaction"] = api.ok(
        "POST",
        f"/v1/customers/{customer['id']}/balance_transactions",
        "amount=-500&currency=usd&description=Goodwill",
    )
    out["billing_portal.session"] = api.ok(
        "POST", "/v1/billing_portal/sessions", f"customer={customer['id']}"
    )
    out["billing_portal.configuration"] = api.ok(
        "POST",
        "/v1/billing_portal/configurations",
        "features[subscription_update][enabled]=true"
        "&features[subscription_update][default_allowed_updates][]=price"
        f"&features[subscription_update][products][0][product]={product['id']}"
        f"&features[subscription_update][products][0][prices][]={price['id']}"
        "&features[subscription_cancel][enabled]=true",
    )
    out["event"] = api.ok("GET", "/v1/events")["data"][0]
    endpoint = api.ok(
        "POST", "/v1/webhook_endpoints", "url=https://s.test/h&enabled_events[]=*"
    )
    out["webhook_endpoint"] = api.ok("GET", f"/v1/webhook_endpoints/{endpoint['id']}")
    clock = api.ok("POST", "/v1/test_helpers/test_clocks", "frozen_time=1700000000")
    out["test_helpers.test_clock"] = clock
    out["deleted_webhook_endpoint"] = api.ok(
        "DELETE", f"/v1/webhook_endpoints/{endpoint['id']}"
    )
    out["deleted_customer"] = api.ok("DELETE", f"/v1/customers/{customer['id']}")
    spare = api.ok("POST", "/v1/products", "name=Spare")
    out["deleted_product"] = api.ok("DELETE", f"/v1/products/{spare['id']}")
    out["deleted_test_helpers.test_clock"] = api.ok(
        "DELETE", f"/v1/test_helpers/test_clocks/{clock['id']}"
    )
    return out


def test_the_contract_covers_every_served_resource(contract, served):
    assert sorted(contract) == sorted(SERVED_RESOURCES) == sorted(served)


@pytest.mark.parametrize("resource", SERVED_RESOURCES)
def test_served_object_matches_stripes_shape(contract, served, resource):
    assert mismatches(served[resource], contract[resource]) == []


def test_a_mismatch_is_reported():
    shape = {"id": "string", "count": "number", "note": "null"}
    served = {"id": 7, "note": "any type", "colour": "blue"}
    assert mismatches(served, shape) == [
        "missing count",
        "extra colour",
        "id: number where Stripe has string",
    ]


def test_the_webhook_endpoint_create_answer_adds_only_the_secret(contract, api):
    created = api.ok(
        "POST", "/v1/webhook_endpoints", "url=https://s.test/h&enabled_events[]=*"
    )
    assert mismatches(created, contract["webhook_endpoint"]) == ["extra secret"]


def test_stripe_python_reads_the_fields_the_site_uses(stripe_emulator):
    product = stripe.Product.create(name="Pro", marketing_features=[{"name": "SSO"}])
    price = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=700,
        recurring={"interval": "month"},
        lookup_key="pro",
    )
    session = stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": price.id, "quantity": 2}],
        success_url="https://s.test/ok?session_id={CHECKOUT_SESSION_ID}",
        client_reference_id="account-1",
        metadata={"account": "1"},
    )
    stripe_emulator.complete_checkout(session.id)
    done = stripe.checkout.Session.retrieve(session.id, expand=["subscription"])
    sub = done.subscription
    item = sub["items"].data[0]
    portal = stripe.billing_portal.Session.create(
        customer=done.customer, return_url="https://s.test"
    )
    invoice = stripe.Invoice.retrieve(sub.latest_invoice)
    event = stripe.Event.list(type="checkout.session.completed").data[0]

    assert isinstance(sub, stripe.Subscription)
    assert (done.client_reference_id, done.metadata["account"], done.status) == (
        "account-1",
        "1",
        "complete",
    )
    assert (sub.status, sub.cancel_at_period_end, sub.customer) == (
        "active",
        False,
        done.customer,
    )
    assert item.current_period_end > item.current_period_start
    assert (item.quantity, item.price.id, item.price.recurring.interval) == (
        2,
        price.id,
        "month",
    )
    assert (price.lookup_key, product.marketing_features[0].name) == ("pro", "SSO")
    assert portal.url.endswith(portal.id)
    assert (invoice.status, invoice.amount_paid, invoice.lines.data[0].amount) == (
        "paid",
        1400,
        1400,
    )
    assert isinstance(event.data.object, stripe.checkout.Session)
    assert event.data.object.id == session.id
