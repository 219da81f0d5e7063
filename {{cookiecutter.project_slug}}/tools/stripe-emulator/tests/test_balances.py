"""The customer balance: its ledger API, and invoices using credits and debits."""

import pytest
import stripe

from .billing import START, types_since


@pytest.fixture
def price(stripe_emulator):
    product = stripe.Product.create(name="Pro")
    return stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=1000,
        recurring={"interval": "month"},
    )


@pytest.fixture
def customer(stripe_emulator):
    return stripe.Customer.create(email="w@example.com", payment_method="pm_card_visa")


def credit(customer, amount, **kwargs):
    return stripe.Customer.create_balance_transaction(
        customer.id, amount=amount, currency="usd", **kwargs
    )


def subscribe(customer, price):
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": price.id}])
    return stripe.Invoice.retrieve(sub.latest_invoice)


def ledger(customer):
    found = stripe.Customer.list_balance_transactions(customer.id).data
    return [(t.type, t.amount, t.ending_balance) for t in reversed(found)]


def test_balance_transactions_move_the_balance(stripe_emulator, customer):
    mark = len(stripe_emulator.events())

    made = credit(customer, -500, description="Goodwill", metadata={"t": "1"})
    credit(customer, 200)

    assert (made.type, made.ending_balance, made.description) == (
        "adjustment",
        -500,
        "Goodwill",
    )
    assert stripe.Customer.retrieve(customer.id).balance == -300
    assert ledger(customer) == [("adjustment", -500, -500), ("adjustment", 200, -300)]
    assert types_since(stripe_emulator, mark) == ["customer.updated"] * 2
    updated = stripe_emulator.events("customer.updated")[-1]["data"]
    assert updated["previous_attributes"]["balance"] == -500
    found = stripe.Customer.retrieve_balance_transaction(customer.id, made.id)
    assert found.metadata["t"] == "1"
    changed = stripe.Customer.modify_balance_transaction(
        customer.id, made.id, description="Sorry"
    )
    assert changed.description == "Sorry"


def test_another_currency_or_zero_is_refused(stripe_emulator, customer):
    credit(customer, -500)
    with pytest.raises(stripe.InvalidRequestError, match="in usd"):
        stripe.Customer.create_balance_transaction(
            customer.id, amount=-100, currency="eur"
        )
    with pytest.raises(stripe.InvalidRequestError, match="zero"):
        credit(customer, 0)


def test_setting_the_balance_records_the_difference(stripe_emulator):
    customer = stripe.Customer.create(balance=-1000)
    stripe.Customer.modify(customer.id, balance=-400)
    assert ledger(customer) == [("initial", -1000, -1000), ("adjustment", 600, -400)]


@pytest.mark.parametrize(
    ("balance", "due", "ending", "applied"),
    [
        (-300, 700, 0, 300),  # a credit lowers what is charged
        (-1500, 0, -500, 1000),  # a larger credit pays it all, the rest stays
        (250, 1250, 0, -250),  # a debt is added
    ],
)
def test_an_invoice_uses_the_balance(customer, price, balance, due, ending, applied):
    credit(customer, balance)

    invoice = subscribe(customer, price)

    assert (invoice.starting_balance, invoice.ending_balance) == (balance, ending)
    assert (invoice.total, invoice.amount_due, invoice.amount_paid) == (1000, due, due)
    assert invoice.status == "paid"
    assert stripe.Customer.retrieve(customer.id).balance == ending
    last = stripe.Customer.list_balance_transactions(customer.id).data[0]
    assert (last.type, last.amount, last.invoice) == (
        "applied_to_invoice",
        applied,
        invoice.id,
    )


def test_a_voided_invoice_gives_the_balance_back(stripe_emulator, price):
    customer = stripe.Customer.create(email="v@example.com")
    credit(customer, -300)
    sub = stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": price.id}],
        payment_behavior="default_incomplete",
    )
    invoice = stripe.Invoice.retrieve(sub.latest_invoice)
    assert (invoice.status, invoice.amount_due) == ("open", 700)
    assert stripe.Customer.retrieve(customer.id).balance == 0

    stripe.Invoice.void_invoice(invoice.id)

    assert stripe.Customer.retrieve(customer.id).balance == -300
    assert ledger(customer)[-1] == ("unapplied_from_invoice", -300, -300)


def test_a_credit_larger_than_an_invoice_carries_to_the_next(stripe_emulator, price):
    product = stripe.Product.retrieve(price.product)
    yearly = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=12000,
        recurring={"interval": "year"},
    )
    clock = stripe_emulator.create_test_clock(START)
    customer = stripe.Customer.create(payment_method="pm_card_visa", test_clock=clock)
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": yearly.id}])
    stripe_emulator.advance_clock(clock, days=1)

    moved = stripe.Subscription.modify(
        sub.id, items=[{"id": sub["items"].data[0].id, "price": price.id}]
    )

    change = stripe.Invoice.retrieve(moved.latest_invoice)
    assert change.total < 0 and change.amount_due == 0
    assert change.ending_balance == change.total
    left = stripe.Customer.retrieve(customer.id).balance
    assert left == change.total
    stripe_emulator.advance_clock(clock, days=32)
    renewal = stripe.Invoice.retrieve(
        stripe.Subscription.retrieve(sub.id).latest_invoice
    )
    assert (renewal.total, renewal.amount_due, renewal.starting_balance) == (
        1000,
        0,
        left,
    )
    assert stripe.Customer.retrieve(customer.id).balance == left + 1000
