"""Trials with and without a card: the warning, the trial's end, pausing and
resuming (in-process door with test clocks, and the hosted Checkout page)."""

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
from .conftest import http

PAID = [
    "invoice.created",
    "invoice.finalized",
    "payment_intent.created",
    "charge.succeeded",
    "payment_intent.succeeded",
    "invoice.paid",
    "invoice.payment_succeeded",
]


@pytest.fixture
def price(stripe_emulator):
    return monthly_price()


@pytest.fixture
def clock(stripe_emulator):
    return stripe_emulator.create_test_clock(START)


def trial_without_card(clock, price, behavior):
    return subscribe(
        customer_on(clock, card=None),
        price,
        trial_period_days=14,
        trial_settings={"end_behavior": {"missing_payment_method": behavior}},
    )


def test_trial_will_end_comes_three_days_before_the_end(stripe_emulator, price, clock):
    sub = subscribe(customer_on(clock), price, trial_period_days=14)
    assert (sub.status, sub.trial_start, sub.trial_end) == (
        "trialing",
        START,
        START + 14 * DAY,
    )
    stripe_emulator.advance_clock(clock, days=10)
    assert stripe_emulator.events("customer.subscription.trial_will_end") == []

    stripe_emulator.advance_clock(clock, days=2)

    [warning] = stripe_emulator.events("customer.subscription.trial_will_end")
    assert warning["created"] == START + 11 * DAY
    assert warning["data"]["object"]["id"] == sub.id
    stripe_emulator.advance_clock(clock, days=10)
    assert len(stripe_emulator.events("customer.subscription.trial_will_end")) == 1


def test_a_trial_shorter_than_three_days_is_warned_of_at_once(
    stripe_emulator, price, clock
):
    subscribe(customer_on(clock), price, trial_end=START + 2 * DAY)

    seen = types_since(stripe_emulator, 0)
    created = seen.index("customer.subscription.created")
    assert seen[created + 1] == "customer.subscription.trial_will_end"
    stripe_emulator.advance_clock(clock, days=1)
    assert len(stripe_emulator.events("customer.subscription.trial_will_end")) == 1


def test_a_trial_ends_by_charging_the_card(stripe_emulator, price, clock):
    sub = subscribe(customer_on(clock), price, trial_period_days=7)
    stripe_emulator.advance_clock(clock, days=6)
    mark = len(stripe_emulator.events())

    stripe_emulator.advance_clock(clock, days=2)

    assert types_since(stripe_emulator, mark) == [
        *PAID,
        "customer.subscription.updated",
    ]
    updated = latest_event(stripe_emulator, "customer.subscription.updated")
    assert updated["data"]["previous_attributes"]["status"] == "trialing"
    assert updated["created"] == START + 7 * DAY
    renewed = stripe.Subscription.retrieve(sub.id)
    assert renewed.status == "active"
    assert renewed["items"].data[0].current_period_start == START + 7 * DAY
    invoice = stripe.Invoice.retrieve(renewed.latest_invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 1500)


def test_trial_end_now_on_create_starts_without_a_trial(stripe_emulator, price, clock):
    sub = subscribe(customer_on(clock), price, trial_end="now")
    assert (sub.status, sub.trial_end) == ("active", None)


def test_trial_end_now_on_update_warns_then_bills(stripe_emulator, price, clock):
    sub = subscribe(customer_on(clock), price, trial_period_days=30)
    mark = len(stripe_emulator.events())

    ended = stripe.Subscription.modify(sub.id, trial_end="now")

    assert ended.status == "active"
    assert types_since(stripe_emulator, mark) == [
        "customer.subscription.trial_will_end",
        *PAID,
        "customer.subscription.updated",
    ]


def test_a_trial_without_a_card_can_cancel_at_its_end(stripe_emulator, price, clock):
    sub = trial_without_card(clock, price, "cancel")
    stripe_emulator.advance_clock(clock, days=13)
    mark = len(stripe_emulator.events())

    stripe_emulator.advance_clock(clock, days=2)

    assert types_since(stripe_emulator, mark) == ["customer.subscription.deleted"]
    ended = stripe.Subscription.retrieve(sub.id)
    assert (ended.status, ended.ended_at) == ("canceled", START + 14 * DAY)
    assert ended.cancellation_details.reason == "cancellation_requested"
    assert len(stripe.Invoice.list(subscription=sub.id).data) == 1


def test_a_trial_without_a_card_bills_and_goes_past_due_by_default(
    stripe_emulator, price, clock
):
    customer = customer_on(clock, card=None)
    sub = subscribe(customer, price, trial_period_days=14)
    assert sub.trial_settings.end_behavior.missing_payment_method == "create_invoice"

    stripe_emulator.advance_clock(clock, days=15)

    assert stripe.Subscription.retrieve(sub.id).status == "past_due"
    invoice = stripe.Invoice.list(subscription=sub.id).data[0]
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    assert invoice.next_payment_attempt == START + 17 * DAY

    add_default_card(customer.id)
    stripe_emulator.advance_clock(clock, days=3)

    assert stripe.Subscription.retrieve(sub.id).status == "active"
    assert stripe.Invoice.retrieve(invoice.id).status == "paid"


def test_a_trial_without_a_card_can_pause_and_makes_no_invoices(
    stripe_emulator, price, clock
):
    sub = trial_without_card(clock, price, "pause")
    stripe_emulator.advance_clock(clock, days=13)
    mark = len(stripe_emulator.events())

    stripe_emulator.advance_clock(clock, days=90)

    assert types_since(stripe_emulator, mark) == [
        "customer.subscription.paused",
        "customer.subscription.updated",
    ]
    updated = latest_event(stripe_emulator, "customer.subscription.updated")
    assert updated["data"]["previous_attributes"] == {"status": "trialing"}
    assert stripe.Subscription.retrieve(sub.id).status == "paused"
    assert len(stripe.Invoice.list(subscription=sub.id).data) == 1
    listed = stripe.Subscription.list(status="paused").data
    assert [s.id for s in listed] == [sub.id]


def test_a_paused_subscription_resumes_once_a_card_is_added(
    stripe_emulator, price, clock
):
    sub = trial_without_card(clock, price, "pause")
    stripe_emulator.advance_clock(clock, days=20)
    add_default_card(sub.customer)
    mark = len(stripe_emulator.events())

    resumed = stripe.Subscription.resume(sub.id)

    assert resumed.status == "active"
    item = resumed["items"].data[0]
    assert (item.current_period_start, resumed.billing_cycle_anchor) == (
        START + 20 * DAY,
        START + 20 * DAY,
    )
    assert types_since(stripe_emulator, mark) == [
        *PAID,
        "customer.subscription.resumed",
        "customer.subscription.updated",
    ]
    updated = latest_event(stripe_emulator, "customer.subscription.updated")
    assert updated["data"]["previous_attributes"]["status"] == "paused"
    invoice = stripe.Invoice.retrieve(resumed.latest_invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 1500)
    stripe_emulator.advance_clock(clock, days=32)
    assert len(stripe.Invoice.list(subscription=sub.id).data) == 3


def test_resuming_with_the_cycle_unchanged(stripe_emulator, price, clock):
    sub = trial_without_card(clock, price, "pause")
    stripe_emulator.advance_clock(clock, days=20)
    add_default_card(sub.customer)

    resumed = stripe.Subscription.resume(
        sub.id, billing_cycle_anchor="unchanged", proration_behavior="always_invoice"
    )

    item = resumed["items"].data[0]
    # The trial's anchor (day 14) holds: the period that surrounds day 20.
    assert (item.current_period_start, item.current_period_end) == (
        START + 14 * DAY,
        START + 45 * DAY,
    )
    invoice = stripe.Invoice.retrieve(resumed.latest_invoice)
    assert invoice.amount_paid == round(1500 * 25 / 31)
    assert resumed.status == "active"


def test_resuming_without_an_invoice_is_active_at_once(stripe_emulator, price, clock):
    sub = trial_without_card(clock, price, "pause")
    stripe_emulator.advance_clock(clock, days=20)

    resumed = stripe.Subscription.resume(
        sub.id, billing_cycle_anchor="unchanged", proration_behavior="none"
    )

    assert resumed.status == "active"
    assert len(stripe.Invoice.list(subscription=sub.id).data) == 1


def test_resuming_unchanged_bills_the_rest_of_the_period_at_renewal(
    stripe_emulator, price, clock
):
    sub = trial_without_card(clock, price, "pause")
    stripe_emulator.advance_clock(clock, days=20)
    add_default_card(sub.customer)

    resumed = stripe.Subscription.resume(sub.id, billing_cycle_anchor="unchanged")

    assert resumed.status == "active"
    assert resumed.latest_invoice == sub.latest_invoice
    stripe_emulator.advance_clock(clock, days=26)
    renewal = stripe.Invoice.list(subscription=sub.id).data[0]
    assert [line.amount for line in renewal.lines.data] == [
        1500,
        round(1500 * 25 / 31),
    ]


def test_a_declined_resumption_stays_paused_until_paid_or_expired(
    stripe_emulator, price, clock
):
    sub = trial_without_card(clock, price, "pause")
    stripe_emulator.advance_clock(clock, days=20)
    add_default_card(sub.customer, "pm_card_chargeCustomerFail")

    resumed = stripe.Subscription.resume(sub.id)

    assert resumed.status == "paused"
    invoice = stripe.Invoice.retrieve(resumed.latest_invoice)
    assert (invoice.status, invoice.next_payment_attempt) == ("open", None)
    assert stripe_emulator.events("customer.subscription.resumed") == []
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Subscription.resume(sub.id)

    stripe_emulator.advance_clock(clock, days=1)

    assert stripe.Invoice.retrieve(invoice.id).status == "void"
    assert stripe.Subscription.retrieve(sub.id).status == "paused"


def test_paying_the_resumption_invoice_resumes(stripe_emulator, price, clock):
    sub = trial_without_card(clock, price, "pause")
    stripe_emulator.advance_clock(clock, days=20)
    add_default_card(sub.customer, "pm_card_chargeCustomerFail")
    invoice_id = stripe.Subscription.resume(sub.id).latest_invoice
    add_default_card(sub.customer)

    stripe.Invoice.pay(invoice_id)

    assert stripe.Subscription.retrieve(sub.id).status == "active"
    assert len(stripe_emulator.events("customer.subscription.resumed")) == 1


def test_only_a_paused_subscription_can_be_resumed(stripe_emulator, price, clock):
    sub = subscribe(customer_on(clock), price)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe.Subscription.resume(sub.id)
    assert "not paused" in caught.value.user_message


def test_resume_is_idempotent(stripe_emulator, price, clock):
    sub = trial_without_card(clock, price, "pause")
    stripe_emulator.advance_clock(clock, days=20)
    add_default_card(sub.customer)

    first = stripe.Subscription.resume(sub.id, idempotency_key="resume-1")
    again = stripe.Subscription.resume(sub.id, idempotency_key="resume-1")

    assert first.latest_invoice == again.latest_invoice
    assert len(stripe_emulator.events("customer.subscription.resumed")) == 1
    assert len(stripe.Invoice.list(subscription=sub.id).data) == 2


def test_trial_settings_can_change_on_update(stripe_emulator, price, clock):
    sub = trial_without_card(clock, price, "cancel")
    changed = stripe.Subscription.modify(
        sub.id, trial_settings={"end_behavior": {"missing_payment_method": "pause"}}
    )
    assert changed.trial_settings.end_behavior.missing_payment_method == "pause"
    stripe_emulator.advance_clock(clock, days=15)
    assert stripe.Subscription.retrieve(sub.id).status == "paused"


def test_an_unknown_trial_end_behavior_is_refused(stripe_emulator, price, clock):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        trial_without_card(clock, price, "shrug")
    assert caught.value.param == (
        "trial_settings[end_behavior][missing_payment_method]"
    )


# -- Checkout ------------------------------------------------------------------------


def trial_checkout(price, customer=None, collection="if_required", **data):
    return stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": price.id, "quantity": 1}],
        success_url="https://s.test/ok",
        payment_method_collection=collection,
        subscription_data={"trial_period_days": 7, **data},
        **({"customer": customer.id} if customer else {}),
    )


def test_checkout_starts_a_trial_without_a_card(stripe_emulator, price, clock):
    customer = customer_on(clock, card=None)
    session = trial_checkout(
        price,
        customer,
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
    )
    assert session.payment_method_collection == "if_required"

    stripe_emulator.complete_checkout(session.id, card=None)

    done = stripe.checkout.Session.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "no_payment_required")
    assert stripe_emulator.all("payment_method") == []
    sub = stripe.Subscription.retrieve(done.subscription)
    assert sub.status == "trialing"
    stripe_emulator.advance_clock(clock, days=8)
    assert stripe.Subscription.retrieve(sub.id).status == "paused"


def test_checkout_always_collecting_needs_a_card(stripe_emulator, price):
    session = trial_checkout(price, collection="always")
    with pytest.raises(StripeError) as caught:
        stripe_emulator.complete_checkout(session.id, card=None)
    assert caught.value.status == 400
    stripe_emulator.complete_checkout(session.id)
    assert len(stripe_emulator.all("payment_method")) == 1


def test_checkout_if_required_without_a_trial_needs_a_card(stripe_emulator, price):
    session = stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": price.id, "quantity": 1}],
        success_url="https://s.test/ok",
        payment_method_collection="if_required",
    )
    with pytest.raises(StripeError):
        stripe_emulator.complete_checkout(session.id, card=None)


def test_checkout_refuses_an_unknown_collection(stripe_emulator, price):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        trial_checkout(price, collection="sometimes")
    assert caught.value.param == "payment_method_collection"


def test_the_hosted_checkout_page_starts_a_trial_without_a_card(server):
    def api(method, path, body=None):
        import json

        return json.loads(http(method, server.url + path, body)[2])

    product = api("POST", "/v1/products", "name=Pro")
    price = api(
        "POST",
        "/v1/prices",
        f"product={product['id']}&currency=usd&unit_amount=900"
        "&recurring[interval]=month",
    )
    session = api(
        "POST",
        "/v1/checkout/sessions",
        f"mode=subscription&line_items[0][price]={price['id']}"
        "&success_url=https://site.test/done&payment_method_collection=if_required"
        "&subscription_data[trial_period_days]=14&customer_email=t@example.com",
    )
    _, _, page = http("GET", session["url"], key=None)
    assert 'id="start-trial"' in page

    status, headers, _ = http("POST", session["url"] + "/pay", "card=none", key=None)

    assert (status, headers["Location"]) == (303, "https://site.test/done")
    done = api("GET", f"/v1/checkout/sessions/{session['id']}")
    sub = api("GET", f"/v1/subscriptions/{done['subscription']}")
    assert (sub["status"], sub["default_payment_method"]) == ("trialing", None)
    assert api("GET", f"/v1/customers/{done['customer']}/payment_methods")["data"] == []
