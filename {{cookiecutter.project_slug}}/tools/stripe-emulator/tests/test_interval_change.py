"""Moving a subscription to a price of another interval restarts its billing cycle."""

import pytest
import stripe

START = 1767225600  # 2026-01-01 00:00 UTC
DAY = 86400
MONTHLY, YEARLY = 1500, 15000


@pytest.fixture
def prices(stripe_emulator):
    product = stripe.Product.create(name="Pro")

    def price(amount, interval):
        return stripe.Price.create(
            product=product.id,
            currency="usd",
            unit_amount=amount,
            recurring={"interval": interval},
        )

    return {
        "monthly": price(MONTHLY, "month"),
        "other_monthly": price(2500, "month"),
        "yearly": price(YEARLY, "year"),
    }


@pytest.fixture
def clock(stripe_emulator):
    return stripe_emulator.create_test_clock(START)


@pytest.fixture
def subscribe(clock):
    def subscribe(price):
        customer = stripe.Customer.create(
            email="i@example.com", payment_method="pm_card_visa", test_clock=clock
        )
        return stripe.Subscription.create(
            customer=customer.id, items=[{"price": price.id}]
        )

    return subscribe


def switch(sub, price, proration_behavior="create_prorations"):
    item = sub["items"].data[0]
    return stripe.Subscription.modify(
        sub.id,
        items=[{"id": item.id, "price": price.id}],
        proration_behavior=proration_behavior,
    )


def latest_invoice(sub):
    return stripe.Invoice.retrieve(sub.latest_invoice)


@pytest.mark.parametrize("behaviour", ["create_prorations", "always_invoice"])
def test_monthly_to_yearly_starts_a_year_from_now_and_bills_at_once(
    stripe_emulator, prices, subscribe, clock, behaviour
):
    sub = subscribe(prices["monthly"])
    now = stripe_emulator.advance_clock(clock, days=10)

    changed = switch(sub, prices["yearly"], behaviour)

    item = changed["items"].data[0]
    assert changed.billing_cycle_anchor == now
    assert (item.current_period_start, item.current_period_end) == (
        now,
        now + 365 * DAY,
    )
    invoice = latest_invoice(changed)
    unused = round(MONTHLY * 21 / 31)  # 21 of January's 31 days were left
    assert invoice.billing_reason == "subscription_update"
    assert [line.amount for line in invoice.lines.data] == [-unused, YEARLY]
    assert [
        line.parent.subscription_item_details.proration for line in invoice.lines.data
    ] == [True, False]
    assert (invoice.status, invoice.amount_paid) == ("paid", YEARLY - unused)


def test_without_prorations_only_the_new_period_is_billed(
    stripe_emulator, prices, subscribe, clock
):
    sub = subscribe(prices["monthly"])
    now = stripe_emulator.advance_clock(clock, days=10)

    invoice = latest_invoice(switch(sub, prices["yearly"], "none"))

    assert [line.amount for line in invoice.lines.data] == [YEARLY]
    assert invoice.lines.data[0].period.start == now


def test_the_next_renewal_comes_a_year_after_the_change(
    stripe_emulator, prices, subscribe, clock
):
    sub = subscribe(prices["monthly"])
    now = stripe_emulator.advance_clock(clock, days=10)
    switch(sub, prices["yearly"])

    stripe_emulator.advance_clock(clock, days=364)
    assert stripe.Invoice.list(subscription=sub.id).data[0].billing_reason == (
        "subscription_update"
    )
    stripe_emulator.advance_clock(clock, days=2)

    renewal = stripe.Invoice.list(subscription=sub.id).data[0]
    assert (renewal.billing_reason, renewal.amount_paid) == (
        "subscription_cycle",
        YEARLY,
    )
    assert renewal.period_start == now + 365 * DAY


def test_yearly_to_monthly_credits_more_than_it_charges(
    stripe_emulator, prices, subscribe, clock
):
    sub = subscribe(prices["yearly"])
    now = stripe_emulator.advance_clock(clock, days=5)

    changed = switch(sub, prices["monthly"])

    item = changed["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (
        now,
        now + 31 * DAY,
    )
    invoice = latest_invoice(changed)
    assert invoice.total < 0
    assert (invoice.status, invoice.amount_due) == ("paid", 0)


def test_a_change_within_the_interval_keeps_the_period(
    stripe_emulator, prices, subscribe, clock
):
    sub = subscribe(prices["monthly"])
    stripe_emulator.advance_clock(clock, days=10)

    changed = switch(sub, prices["other_monthly"])

    item = changed["items"].data[0]
    assert changed.billing_cycle_anchor == START
    assert (item.current_period_start, item.current_period_end) == (
        START,
        START + 31 * DAY,
    )
    assert changed.latest_invoice == sub.latest_invoice
    owed = stripe_emulator.engine.private(sub.id)["pending_prorations"]
    assert [amount for _, amount, _, _ in owed] == [round((2500 - MONTHLY) * 21 / 31)]


def test_a_declined_renewal_payment_leaves_it_past_due(
    stripe_emulator, prices, subscribe, clock
):
    sub = subscribe(prices["monthly"])
    stripe_emulator.set_card(sub.customer, "fail")
    stripe_emulator.advance_clock(clock, days=3)

    changed = switch(sub, prices["yearly"])

    assert changed.status == "past_due"
    assert latest_invoice(changed).status == "open"


def test_a_trialing_subscription_keeps_its_trial(stripe_emulator, prices, clock):
    customer = stripe.Customer.create(payment_method="pm_card_visa", test_clock=clock)
    sub = stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": prices["monthly"].id}],
        trial_period_days=14,
    )

    changed = switch(sub, prices["yearly"])

    assert changed.status == "trialing"
    assert changed["items"].data[0].current_period_end == sub.trial_end
    assert changed.latest_invoice == sub.latest_invoice
