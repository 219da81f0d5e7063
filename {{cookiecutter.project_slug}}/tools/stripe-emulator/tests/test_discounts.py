"""Discounts on subscriptions: what each invoice shows and takes off, and how long
a once, repeating or forever coupon lasts across renewals (test clocks)."""

import pytest
import stripe

from .billing import DAY, START, types_since


@pytest.fixture
def product(stripe_emulator):
    return stripe.Product.create(name="Pro")


@pytest.fixture
def price(product):
    return stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=2000,
        recurring={"interval": "month"},
    )


@pytest.fixture
def clock(stripe_emulator):
    return stripe_emulator.create_test_clock(START)


@pytest.fixture
def customer(clock):
    return stripe.Customer.create(payment_method="pm_card_visa", test_clock=clock)


def subscribe(customer, *items, **kwargs):
    return stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": p.id, "quantity": q} for p, q in items],
        **kwargs,
    )


def invoice_totals(sub_id):
    """(total, amount paid) of each of the subscription's invoices, oldest first."""
    found = stripe.Invoice.list(subscription=sub_id, limit=100).data
    return [(i.total, i.amount_paid) for i in reversed(found)]


def test_a_discounted_invoice_shows_its_discount(customer, price):
    made = stripe.Coupon.create(percent_off=25, duration="forever")

    sub = subscribe(customer, (price, 3), discounts=[{"coupon": made.id}])

    [discount_id] = sub.discounts
    invoice = stripe.Invoice.retrieve(
        sub.latest_invoice, expand=["discounts", "lines.data.discounts"]
    )
    assert (invoice.subtotal, invoice.total, invoice.amount_paid) == (6000, 4500, 4500)
    assert invoice.discounts[0].id == discount_id
    assert invoice.discounts[0].source.coupon == made.id
    assert invoice.total_discount_amounts[0].amount == 1500
    line = invoice.lines.data[0]
    assert (line.amount, line.discount_amounts[0].amount) == (6000, 1500)
    shown = stripe.Subscription.retrieve(sub.id, expand=["discounts"])
    assert shown.discounts[0].subscription == sub.id


def test_an_amount_off_is_spread_over_the_lines(customer, product, price):
    other = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=6000,
        recurring={"interval": "month"},
    )
    made = stripe.Coupon.create(amount_off=1000, currency="usd", duration="forever")

    sub = subscribe(customer, (price, 1), (other, 1), discounts=[{"coupon": made.id}])

    invoice = stripe.Invoice.retrieve(sub.latest_invoice)
    assert [d.discount_amounts[0].amount for d in invoice.lines.data] == [250, 750]
    assert invoice.total == 7000


def test_applies_to_limits_the_discount_to_its_products(customer, price):
    elsewhere = stripe.Product.create(name="Add-on")
    addon = stripe.Price.create(
        product=elsewhere.id,
        currency="usd",
        unit_amount=1000,
        recurring={"interval": "month"},
    )
    made = stripe.Coupon.create(
        percent_off=50, duration="forever", applies_to={"products": [elsewhere.id]}
    )

    sub = subscribe(customer, (price, 1), (addon, 1), discounts=[{"coupon": made.id}])

    assert stripe.Invoice.retrieve(sub.latest_invoice).total == 2000 + 500


def test_two_discounts_apply_one_after_the_other(customer, price):
    half = stripe.Coupon.create(percent_off=50, duration="forever")
    five = stripe.Coupon.create(amount_off=500, currency="usd", duration="forever")

    sub = subscribe(
        customer, (price, 1), discounts=[{"coupon": half.id}, {"coupon": five.id}]
    )

    invoice = stripe.Invoice.retrieve(sub.latest_invoice)
    assert [t.amount for t in invoice.total_discount_amounts] == [1000, 500]
    assert invoice.total == 500


def test_a_repeating_coupon_stops_after_its_months(
    stripe_emulator, clock, customer, price
):
    made = stripe.Coupon.create(
        percent_off=50, duration="repeating", duration_in_months=3
    )
    sub = subscribe(customer, (price, 1), discounts=[{"coupon": made.id}])
    [discount_id] = sub.discounts
    shown = stripe.Subscription.retrieve(sub.id, expand=["discounts"])
    assert shown.discounts[0].end == START + (31 + 28 + 31) * DAY

    stripe_emulator.advance_clock(clock, days=31 + 28 + 31 + 30 + 1)

    assert invoice_totals(sub.id) == [(1000, 1000)] * 3 + [(2000, 2000)] * 2
    assert stripe.Subscription.retrieve(sub.id).discounts == []
    deleted = stripe_emulator.events("customer.discount.deleted")
    assert [e["data"]["object"]["id"] for e in deleted] == [discount_id]
    assert deleted[0]["created"] == START + (31 + 28 + 31) * DAY


def test_a_once_coupon_takes_off_the_first_invoice_only(
    stripe_emulator, clock, customer, price
):
    made = stripe.Coupon.create(amount_off=1500, currency="usd", duration="once")
    sub = subscribe(customer, (price, 1), discounts=[{"coupon": made.id}])
    # It stays on the subscription until the next invoice is made.
    assert stripe.Subscription.retrieve(sub.id).discounts == sub.discounts

    stripe_emulator.advance_clock(clock, days=32)

    assert invoice_totals(sub.id) == [(500, 500), (2000, 2000)]
    assert stripe.Subscription.retrieve(sub.id).discounts == []
    [deleted] = stripe_emulator.events("customer.discount.deleted")
    assert deleted["created"] == START + 31 * DAY


def test_a_trial_does_not_use_up_a_once_coupon(stripe_emulator, clock, customer, price):
    made = stripe.Coupon.create(percent_off=100, duration="once")
    sub = subscribe(
        customer, (price, 1), discounts=[{"coupon": made.id}], trial_period_days=7
    )

    stripe_emulator.advance_clock(clock, days=8)
    stripe_emulator.advance_clock(clock, days=31)

    assert invoice_totals(sub.id) == [(0, 0), (0, 0), (2000, 2000)]


def test_a_forever_coupon_stays(stripe_emulator, clock, customer, price):
    made = stripe.Coupon.create(percent_off=10, duration="forever")
    sub = subscribe(customer, (price, 1), discounts=[{"coupon": made.id}])
    stripe.Coupon.delete(made.id)  # discounts already made keep applying

    stripe_emulator.advance_clock(clock, days=31 + 28 + 1)

    assert invoice_totals(sub.id) == [(1800, 1800)] * 3


def test_an_update_replaces_and_removes_discounts(stripe_emulator, customer, price):
    first = stripe.Coupon.create(percent_off=10, duration="forever")
    second = stripe.Coupon.create(percent_off=20, duration="forever")
    sub = subscribe(customer, (price, 1), discounts=[{"coupon": first.id}])
    [kept] = sub.discounts
    mark = len(stripe_emulator.events())

    both = stripe.Subscription.modify(
        sub.id, discounts=[{"discount": kept}, {"coupon": second.id}]
    )

    assert both.discounts[0] == kept and len(both.discounts) == 2
    assert types_since(stripe_emulator, mark) == [
        "customer.discount.created",
        "customer.subscription.updated",
    ]
    updated = stripe_emulator.events("customer.subscription.updated")[-1]["data"]
    assert updated["previous_attributes"]["discounts"] == [kept]
    mark = len(stripe_emulator.events())

    cleared = stripe.Subscription.modify(sub.id, discounts="")

    assert cleared.discounts == []
    assert types_since(stripe_emulator, mark) == [
        "customer.discount.deleted",
        "customer.discount.deleted",
        "customer.subscription.updated",
    ]


def test_a_discount_not_on_the_subscription_cannot_be_kept(customer, price):
    sub = subscribe(customer, (price, 1))
    with pytest.raises(stripe.InvalidRequestError, match="No such discount"):
        stripe.Subscription.modify(sub.id, discounts=[{"discount": "di_elsewhere"}])


def test_deleting_the_subscription_discount(stripe_emulator, customer, price):
    made = stripe.Coupon.create(percent_off=10, duration="forever")
    sub = subscribe(customer, (price, 1), discounts=[{"coupon": made.id}])

    removed = stripe.Subscription.delete_discount(sub.id)

    assert (removed.deleted, removed.subscription) == (True, sub.id)
    assert stripe.Subscription.retrieve(sub.id).discounts == []
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Subscription.delete_discount(sub.id)


def test_the_next_renewal_of_a_discounted_update_is_discounted(
    stripe_emulator, clock, customer, price
):
    sub = subscribe(customer, (price, 1))
    made = stripe.Coupon.create(amount_off=300, currency="usd", duration="once")
    stripe.Subscription.modify(sub.id, discounts=[{"coupon": made.id}])

    stripe_emulator.advance_clock(clock, days=32)

    assert invoice_totals(sub.id) == [(2000, 2000), (1700, 1700)]


def test_a_proration_invoice_is_discounted_too(stripe_emulator, clock, customer, price):
    made = stripe.Coupon.create(percent_off=50, duration="forever")
    sub = subscribe(customer, (price, 2), discounts=[{"coupon": made.id}])
    stripe_emulator.advance_clock(clock, days=15)

    stripe.Subscription.modify(
        sub.id,
        items=[{"id": sub["items"].data[0].id, "quantity": 4}],
        proration_behavior="always_invoice",
    )

    invoice = stripe.Invoice.retrieve(
        stripe.Subscription.retrieve(sub.id).latest_invoice
    )
    line = invoice.lines.data[0]
    assert line.amount > 0
    assert invoice.total == line.amount - line.discount_amounts[0].amount
    assert line.discount_amounts[0].amount == (line.amount + 1) // 2  # half up
