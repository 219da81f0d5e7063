"""Failed renewals and dunning: retries on the schedule, the decline reason, fixing
the card (API, portal, hosted invoice page), paying, voiding, and how dunning ends
(in-process door with test clocks, and the HTTP door for the hosted pages)."""

import json

import pytest
import stripe

from stripe_emulator.errors import StripeError

from .billing import (
    DAY,
    START,
    add_default_card,
    customer_on,
    latest_event,
    monthly_price,
    subscribe,
    types_since,
)
from .conftest import Api, http

RENEWAL = START + 31 * DAY


@pytest.fixture
def price(stripe_emulator):
    return monthly_price()


@pytest.fixture
def clock(stripe_emulator):
    return stripe_emulator.create_test_clock(START)


@pytest.fixture
def past_due(stripe_emulator, price, clock):
    """A subscription whose first renewal (day 31) was declined."""
    customer = customer_on(clock)
    sub = subscribe(customer, price)
    stripe_emulator.set_card(customer.id, "fail")
    stripe_emulator.advance_clock(clock, to=RENEWAL + 3600)
    return stripe.Subscription.retrieve(sub.id)


def open_invoice(sub):
    return stripe.Invoice.retrieve(sub.latest_invoice)


def test_a_declined_renewal_goes_past_due_with_its_events(
    stripe_emulator, price, clock
):
    customer = customer_on(clock)
    sub = subscribe(customer, price)
    stripe_emulator.set_card(customer.id, "fail")
    mark = len(stripe_emulator.events())

    stripe_emulator.advance_clock(clock, days=32)

    assert types_since(stripe_emulator, mark) == [
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
        "invoice.payment_failed",
        "invoice.updated",
        "customer.subscription.updated",
    ]
    failed = latest_event(stripe_emulator, "invoice.payment_failed")["data"]["object"]
    assert failed["status"] == "open"
    assert (failed["attempt_count"], failed["amount_due"], failed["currency"]) == (
        1,
        1500,
        "usd",
    )
    assert failed["next_payment_attempt"] == RENEWAL + 3 * DAY
    assert failed["hosted_invoice_url"].endswith(f"/invoice/{failed['id']}")
    updated = latest_event(stripe_emulator, "invoice.updated")["data"]
    assert updated["previous_attributes"] == {
        "attempt_count": 0,
        "attempted": False,
        "next_payment_attempt": None,
    }
    sub_updated = latest_event(stripe_emulator, "customer.subscription.updated")
    assert sub_updated["data"]["previous_attributes"]["status"] == "active"
    assert stripe.Subscription.retrieve(sub.id).status == "past_due"


def test_the_decline_reason_is_on_the_invoices_payment_intent(past_due):
    invoice = stripe.Invoice.retrieve(
        past_due.latest_invoice, expand=["payments.data.payment.payment_intent"]
    )
    [payment] = invoice.payments.data
    intent = payment.payment.payment_intent
    assert (payment.status, intent.status) == ("open", "requires_payment_method")
    error = intent.last_payment_error
    assert (error.code, error.decline_code, error.type) == (
        "card_declined",
        "generic_decline",
        "card_error",
    )
    assert error.message == "Your card was declined."
    assert error.payment_method.card.last4 == "4242"
    assert stripe.PaymentIntent.list(customer=past_due.customer).data[0].id == (
        intent.id
    )


def test_retries_follow_the_schedule_then_cancel(stripe_emulator, past_due, clock):
    attempts = [(1, RENEWAL + 3 * DAY)]
    for _ in range(3):
        stripe_emulator.advance_clock(clock, to=attempts[-1][1])
        invoice = open_invoice(past_due)
        attempts.append((invoice.attempt_count, invoice.next_payment_attempt))
    assert attempts == [
        (1, RENEWAL + 3 * DAY),
        (2, RENEWAL + 8 * DAY),
        (3, RENEWAL + 15 * DAY),
        (4, None),
    ]
    ended = stripe.Subscription.retrieve(past_due.id)
    assert (ended.status, ended.ended_at) == ("canceled", RENEWAL + 15 * DAY)
    assert ended.cancellation_details.reason == "payment_failed"
    assert len(stripe_emulator.events("invoice.payment_failed")) == 4
    assert open_invoice(past_due).status == "open"


@pytest.mark.parametrize(
    ("final", "status"), [("unpaid", "unpaid"), ("past_due", "past_due")]
)
def test_after_the_last_retry_the_configured_status(
    stripe_emulator, price, clock, final, status
):
    stripe_emulator.settings(final_payment_failure=final, payment_retry_days=[1, 2])
    customer = customer_on(clock)
    sub = subscribe(customer, price)
    stripe_emulator.set_card(customer.id, "fail")

    stripe_emulator.advance_clock(clock, to=RENEWAL + 4 * DAY)

    assert stripe.Subscription.retrieve(sub.id).status == status
    assert open_invoice(stripe.Subscription.retrieve(sub.id)).attempt_count == 3
    assert stripe_emulator.events("customer.subscription.deleted") == []


def test_a_new_default_card_is_charged_at_the_next_retry(
    stripe_emulator, past_due, clock
):
    add_default_card(past_due.customer, "pm_card_mastercard")
    mark = len(stripe_emulator.events())

    stripe_emulator.advance_clock(clock, to=RENEWAL + 3 * DAY)

    assert types_since(stripe_emulator, mark) == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ]
    updated = latest_event(stripe_emulator, "customer.subscription.updated")
    assert updated["data"]["previous_attributes"] == {"status": "past_due"}
    invoice = open_invoice(past_due)
    assert (invoice.status, invoice.attempt_count, invoice.amount_paid) == (
        "paid",
        2,
        1500,
    )
    assert stripe.Subscription.retrieve(past_due.id).status == "active"


def test_paying_the_open_invoice_after_fixing_the_card(stripe_emulator, past_due):
    add_default_card(past_due.customer)
    paid = stripe.Invoice.pay(past_due.latest_invoice)
    assert (paid.status, paid.next_payment_attempt) == ("paid", None)
    assert stripe.Subscription.retrieve(past_due.id).status == "active"


def test_paying_with_the_declined_card_is_a_402(stripe_emulator, past_due):
    with pytest.raises(stripe.CardError) as caught:
        stripe.Invoice.pay(past_due.latest_invoice)
    assert caught.value.code == "card_declined"
    assert caught.value.error.decline_code == "generic_decline"
    assert open_invoice(past_due).attempt_count == 2
    assert stripe.Subscription.retrieve(past_due.id).status == "past_due"


def test_paying_is_idempotent(stripe_emulator, past_due):
    api = Api(stripe_emulator.engine)
    add_default_card(past_due.customer)
    path = f"/v1/invoices/{past_due.latest_invoice}/pay"
    headers = {"Idempotency-Key": "pay-once"}
    first = api.ok("POST", path, headers=headers)
    status, again = api("POST", path, headers=headers)
    assert (status, again) == (200, first)
    assert len(stripe_emulator.events("invoice.paid")) == 2  # the first and this one


def test_paying_out_of_band(stripe_emulator, past_due):
    paid = stripe.Invoice.pay(past_due.latest_invoice, paid_out_of_band=True)
    assert (paid.status, paid.attempt_count) == ("paid", 1)
    assert stripe.Subscription.retrieve(past_due.id).status == "active"


def test_voiding_the_open_invoice(stripe_emulator, past_due, clock):
    mark = len(stripe_emulator.events())

    voided = stripe.Invoice.void_invoice(past_due.latest_invoice)

    assert (voided.status, voided.next_payment_attempt) == ("void", None)
    assert types_since(stripe_emulator, mark) == [
        "invoice.voided",
        "payment_intent.canceled",
        "customer.subscription.updated",
    ]
    assert stripe.Subscription.retrieve(past_due.id).status == "active"
    intent = stripe.PaymentIntent.list(customer=past_due.customer).data[0]
    assert (intent.status, intent.cancellation_reason) == ("canceled", "void_invoice")
    stripe_emulator.advance_clock(clock, days=10)
    assert len(stripe_emulator.events("invoice.payment_failed")) == 1
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Invoice.void_invoice(past_due.latest_invoice)


def test_a_paid_invoice_cannot_be_voided(stripe_emulator, price, clock):
    sub = subscribe(customer_on(clock), price)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe.Invoice.void_invoice(sub.latest_invoice)
    assert caught.value.code == "invoice_not_open"


def test_marking_the_open_invoice_uncollectible(stripe_emulator, past_due):
    marked = stripe.Invoice.mark_uncollectible(past_due.latest_invoice)
    assert marked.status == "uncollectible"
    assert marked.status_transitions.marked_uncollectible_at == RENEWAL + 3600
    assert stripe_emulator.events("invoice.marked_uncollectible")
    assert stripe.Subscription.retrieve(past_due.id).status == "active"


# -- the portal's card update -----------------------------------------------------


def test_the_portal_card_update_pays_what_is_owed(stripe_emulator, past_due):
    portal = stripe.billing_portal.Session.create(customer=past_due.customer)
    mark = len(stripe_emulator.events())

    shown = stripe_emulator.portal_action(
        portal.id, past_due.id, "update_card", card="success"
    )

    assert shown["status"] == "active"
    assert types_since(stripe_emulator, mark) == [
        "payment_method.attached",
        "customer.updated",
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ]
    customer = stripe.Customer.retrieve(past_due.customer)
    new_card = latest_event(stripe_emulator, "payment_method.attached")
    new_card_id = new_card["data"]["object"]["id"]
    assert customer.invoice_settings.default_payment_method == new_card_id
    assert open_invoice(past_due).status == "paid"


def test_the_portal_card_update_also_replaces_a_subscriptions_own_card(
    stripe_emulator, price, clock
):
    customer = customer_on(clock)
    old = stripe_emulator.all("payment_method")[0]["id"]
    sub = subscribe(customer, price, default_payment_method=old)
    portal = stripe.billing_portal.Session.create(customer=customer.id)

    stripe_emulator.portal_action(portal.id, None, "update_card", card="success")

    changed = stripe.Subscription.retrieve(sub.id)
    assert changed.default_payment_method not in (None, old)


def test_a_portal_card_whose_charge_fails_stays_but_the_invoice_stays_open(
    stripe_emulator, past_due
):
    portal = stripe.billing_portal.Session.create(customer=past_due.customer)
    with pytest.raises(StripeError) as caught:
        stripe_emulator.portal_action(
            portal.id, past_due.id, "update_card", card="4000000000000341"
        )
    assert caught.value.status == 402
    assert open_invoice(past_due).status == "open"
    assert stripe.Subscription.retrieve(past_due.id).status == "past_due"
    default = stripe.Customer.retrieve(past_due.customer).invoice_settings
    assert stripe.PaymentMethod.retrieve(default.default_payment_method).card.last4 == (
        "0341"
    )


def test_a_declined_portal_card_changes_nothing(stripe_emulator, past_due):
    portal = stripe.billing_portal.Session.create(customer=past_due.customer)
    mark = len(stripe_emulator.events())
    with pytest.raises(StripeError) as caught:
        stripe_emulator.portal_action(
            portal.id, past_due.id, "update_card", card="decline"
        )
    assert caught.value.status == 402
    assert types_since(stripe_emulator, mark) == []


def test_the_portal_card_update_needs_the_feature(stripe_emulator, past_due):
    config = stripe.billing_portal.Configuration.create(
        features={"invoice_history": {"enabled": True}}
    )
    portal = stripe.billing_portal.Session.create(
        customer=past_due.customer, configuration=config.id
    )
    with pytest.raises(StripeError) as caught:
        stripe_emulator.portal_action(portal.id, past_due.id, "update_card")
    assert caught.value.status == 400
    assert open_invoice(past_due).status == "open"


# -- the hosted pages over HTTP ------------------------------------------------------


@pytest.fixture
def http_past_due(server):
    """Over HTTP: a customer whose subscription's renewal was declined."""

    def api(method, path, body=None):
        return json.loads(http(method, server.url + path, body)[2])

    product = api("POST", "/v1/products", "name=Pro")
    price = api(
        "POST",
        "/v1/prices",
        f"product={product['id']}&currency=usd&unit_amount=900"
        "&recurring[interval]=month",
    )
    clock = api("POST", "/v1/test_helpers/test_clocks", f"frozen_time={START}")
    customer = api(
        "POST",
        "/v1/customers",
        f"test_clock={clock['id']}&payment_method=pm_card_chargeCustomerFail",
    )
    sub = api(
        "POST",
        "/v1/subscriptions",
        f"customer={customer['id']}&items[0][price]={price['id']}&trial_period_days=3",
    )
    api(
        "POST",
        f"/v1/test_helpers/test_clocks/{clock['id']}/advance",
        f"frozen_time={START + 4 * DAY}",
    )
    sub = api("GET", f"/v1/subscriptions/{sub['id']}")
    assert sub["status"] == "past_due"
    return api, sub


def test_the_hosted_invoice_page_pays_the_invoice(server, http_past_due):
    api, sub = http_past_due
    invoice = api("GET", f"/v1/invoices/{sub['latest_invoice']}")
    status, _, page = http("GET", invoice["hosted_invoice_url"], key=None)
    assert status == 200
    assert '<span id="status">open</span>' in page

    status, _, page = http(
        "POST",
        invoice["hosted_invoice_url"] + "/pay",
        "card=4000000000000341",
        key=None,
    )
    assert status == 402
    assert "declined" in page
    status, _, _ = http(
        "POST",
        invoice["hosted_invoice_url"] + "/pay",
        "card=4242424242424242",
        key=None,
    )

    assert status == 303
    assert api("GET", f"/v1/invoices/{invoice['id']}")["status"] == "paid"
    assert api("GET", f"/v1/subscriptions/{sub['id']}")["status"] == "active"


def test_the_hosted_portal_page_updates_the_card(server, http_past_due):
    api, sub = http_past_due
    portal = api("POST", "/v1/billing_portal/sessions", f"customer={sub['customer']}")
    _, _, page = http("GET", portal["url"], key=None)
    assert f'action="/portal/{portal["id"]}/update_card"' in page

    status, _, _ = http(
        "POST", portal["url"] + "/update_card", "card=4242424242424242", key=None
    )

    assert status == 303
    assert api("GET", f"/v1/subscriptions/{sub['id']}")["status"] == "active"
    _, _, page = http("GET", portal["url"], key=None)
    assert "ending in 4242" in page


def test_pay_invoice_fixture_helper(stripe_emulator, past_due):
    paid = stripe_emulator.pay_invoice(past_due.latest_invoice, card="success")
    assert paid["status"] == "paid"
    assert stripe.Subscription.retrieve(past_due.id).status == "active"
    customer = stripe.Customer.retrieve(past_due.customer)
    # The hosted page's card is saved, but the default stays what it was.
    default = stripe.PaymentMethod.retrieve(
        customer.invoice_settings.default_payment_method
    )
    assert default.card.last4 == "4242"
    assert len(stripe_emulator.all("payment_method")) == 2
