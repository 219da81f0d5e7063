"""Helpers for the tests of subscriptions over time (in-process door, test clocks)."""

import stripe

START = 1767225600  # 2026-01-01 00:00 UTC
DAY = 86400


def monthly_price(amount=1500):
    product = stripe.Product.create(name="Pro")
    return stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=amount,
        recurring={"interval": "month"},
    )


def customer_on(clock, card="pm_card_visa"):
    """A customer on the test clock, with `card` as its default (None: no card)."""
    customer = stripe.Customer.create(email="c@example.com", test_clock=clock)
    if card:
        add_default_card(customer.id, card)
    return customer


def add_default_card(customer_id, card="pm_card_visa"):
    """What a site does to save a new card: attach it, make it the default."""
    pm = stripe.PaymentMethod.attach(card, customer=customer_id)
    stripe.Customer.modify(
        customer_id, invoice_settings={"default_payment_method": pm.id}
    )
    return pm


def subscribe(customer, price, **kwargs):
    return stripe.Subscription.create(
        customer=customer.id, items=[{"price": price.id}], **kwargs
    )


def types_since(emulator, mark, *, skip=("test_helpers.",)):
    """Event types recorded after the first `mark` events, without clock events."""
    return [
        e["type"] for e in emulator.events()[mark:] if not e["type"].startswith(skip)
    ]


def latest_event(emulator, event_type):
    return emulator.events(event_type)[-1]
