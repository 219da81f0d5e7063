"""Test clocks drive renewals, trials, dunning and scheduled cancellations (in-process door)."""

import pytest
import stripe

START = 1767225600  # 2026-01-01 00:00 UTC
DAY = 86400


@pytest.fixture
def price(stripe_emulator):
    product = stripe.Product.create(name="Pro")
    return stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=1500,
        recurring={"interval": "month"},
    )


@pytest.fixture
def clock(stripe_emulator):
    return stripe_emulator.create_test_clock(START)


def customer_on(clock, card="pm_card_visa"):
    return stripe.Customer.create(
        email="c@example.com", payment_method=card, test_clock=clock
    )


def subscribe(customer, price, **kwargs):
    return stripe.Subscription.create(
        customer=customer.id, items=[{"price": price.id}], **kwargs
    )


def types(stripe_emulator):
    return [e["type"] for e in stripe_emulator.events()]


def test_a_period_end_renews_with_a_new_invoice(stripe_emulator, price, clock):
    sub = subscribe(customer_on(clock), price)
    item = sub["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (
        START,
        START + 31 * DAY,
    )

    stripe_emulator.advance_clock(clock, days=32)

    renewed = stripe.Subscription.retrieve(sub.id)
    item = renewed["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (
        START + 31 * DAY,
        START + 59 * DAY,
    )
    invoices = stripe.Invoice.list(subscription=sub.id).data
    assert [i.billing_reason for i in invoices] == [
        "subscription_cycle",
        "subscription_create",
    ]
    assert invoices[0].status == "paid"
    assert renewed.latest_invoice == invoices[0].id


def test_advancing_several_periods_renews_each(stripe_emulator, price, clock):
    sub = subscribe(customer_on(clock), price)
    stripe_emulator.advance_clock(clock, to=START + 365 * DAY)
    assert len(stripe.Invoice.list(subscription=sub.id, limit=100).data) == 13


def test_a_trial_ends_into_active_with_a_paid_invoice(stripe_emulator, price, clock):
    sub = subscribe(customer_on(clock), price, trial_period_days=14)
    stripe_emulator.advance_clock(clock, days=12)
    assert "customer.subscription.trial_will_end" in types(stripe_emulator)
    assert stripe.Subscription.retrieve(sub.id).status == "trialing"

    stripe_emulator.advance_clock(clock, days=3)

    assert stripe.Subscription.retrieve(sub.id).status == "active"
    latest = stripe.Invoice.list(subscription=sub.id).data[0]
    assert (latest.status, latest.amount_paid) == ("paid", 1500)


def test_a_trial_ending_with_a_failing_card_goes_past_due(
    stripe_emulator, price, clock
):
    customer = customer_on(clock, card="pm_card_chargeCustomerFail")
    sub = subscribe(customer, price, trial_period_days=3)
    stripe_emulator.advance_clock(clock, days=4)
    assert stripe.Subscription.retrieve(sub.id).status == "past_due"


def test_dunning_past_due_then_canceled(stripe_emulator, price, clock):
    customer = customer_on(clock)
    sub = subscribe(customer, price)
    stripe_emulator.set_card(customer.id, "fail")

    stripe_emulator.advance_clock(clock, days=32)
    assert stripe.Subscription.retrieve(sub.id).status == "past_due"
    invoice = stripe.Invoice.list(subscription=sub.id).data[0]
    assert (invoice.status, invoice.attempt_count) == ("open", 1)

    stripe_emulator.advance_clock(clock, days=20)
    ended = stripe.Subscription.retrieve(sub.id)
    assert ended.status == "canceled"
    assert ended.cancellation_details.reason == "payment_failed"
    assert types(stripe_emulator).count("invoice.payment_failed") == 4
    assert types(stripe_emulator)[-2] == "customer.subscription.deleted"


def test_dunning_can_end_unpaid(stripe_emulator, price, clock):
    stripe_emulator.settings(final_payment_failure="unpaid", payment_retry_days=[1])
    customer = customer_on(clock)
    sub = subscribe(customer, price)
    stripe_emulator.set_card(customer.id, "fail")
    stripe_emulator.advance_clock(clock, days=33)
    assert stripe.Subscription.retrieve(sub.id).status == "unpaid"


def test_a_retry_after_the_card_is_fixed_reactivates(stripe_emulator, price, clock):
    customer = customer_on(clock)
    sub = subscribe(customer, price)
    stripe_emulator.set_card(customer.id, "fail")
    stripe_emulator.advance_clock(clock, days=32)
    stripe_emulator.set_card(customer.id, "success")
    stripe_emulator.advance_clock(clock, days=3)
    assert stripe.Subscription.retrieve(sub.id).status == "active"
    assert stripe.Invoice.list(subscription=sub.id).data[0].status == "paid"


def test_paying_an_open_invoice_reactivates(stripe_emulator, price, clock):
    customer = customer_on(clock)
    sub = subscribe(customer, price)
    stripe_emulator.set_card(customer.id, "fail")
    stripe_emulator.advance_clock(clock, days=32)
    stripe_emulator.set_card(customer.id, "success")
    stripe.Invoice.pay(stripe.Invoice.list(subscription=sub.id).data[0].id)
    assert stripe.Subscription.retrieve(sub.id).status == "active"


def test_cancel_at_period_end_takes_effect_at_the_period_end(
    stripe_emulator, price, clock
):
    sub = subscribe(customer_on(clock), price)
    stripe.Subscription.modify(sub.id, cancel_at_period_end=True)
    stripe_emulator.advance_clock(clock, days=30)
    assert stripe.Subscription.retrieve(sub.id).status == "active"
    stripe_emulator.advance_clock(clock, days=2)
    ended = stripe.Subscription.retrieve(sub.id)
    assert (ended.status, ended.ended_at) == ("canceled", START + 31 * DAY)
    assert len(stripe.Invoice.list(subscription=sub.id).data) == 1


def test_an_unpaid_first_invoice_expires_the_subscription(
    stripe_emulator, price, clock
):
    customer = stripe.Customer.create(email="x@example.com", test_clock=clock)
    sub = subscribe(customer, price, payment_behavior="default_incomplete")
    stripe_emulator.advance_clock(clock, days=1)
    assert stripe.Subscription.retrieve(sub.id).status == "incomplete_expired"


def test_a_declined_first_payment_is_not_retried_and_expires(
    stripe_emulator, price, clock
):
    customer = customer_on(clock, card="pm_card_chargeCustomerFail")
    sub = subscribe(customer, price)
    assert sub.status == "incomplete"
    stripe_emulator.advance_clock(clock, days=5)
    assert stripe.Subscription.retrieve(sub.id).status == "incomplete_expired"
    invoice = stripe.Invoice.list(subscription=sub.id).data[0]
    assert (invoice.status, invoice.attempt_count) == ("void", 1)


def test_prorations_are_billed_at_the_next_renewal(stripe_emulator, price, clock):
    sub = subscribe(customer_on(clock), price)
    stripe_emulator.advance_clock(clock, days=10)
    item = sub["items"].data[0]
    stripe.Subscription.modify(sub.id, items=[{"id": item.id, "quantity": 3}])
    stripe_emulator.advance_clock(clock, days=22)
    renewal = stripe.Invoice.list(subscription=sub.id).data[0]
    assert renewal.amount_due > 3 * 1500
