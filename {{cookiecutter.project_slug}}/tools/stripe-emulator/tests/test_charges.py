"""Payment intents made through the API, the charges every payment leaves, and
refunds of them (partial, whole, too much)."""

import pytest
import stripe

from .billing import types_since


@pytest.fixture
def customer(stripe_emulator):
    return stripe.Customer.create(email="pay@example.com")


def pay(customer=None, amount=3000, **kwargs):
    return stripe.PaymentIntent.create(
        amount=amount,
        currency="usd",
        customer=customer.id if customer else None,
        payment_method="pm_card_visa",
        confirm=True,
        **kwargs,
    )


# -- payment intents and charges -------------------------------------------------


def test_a_confirmed_intent_leaves_a_succeeded_charge(stripe_emulator, customer):
    mark = len(stripe_emulator.events())

    intent = pay(customer, metadata={"order": "9"}, off_session=True)

    assert (intent.status, intent.amount_received) == ("succeeded", 3000)
    charge = stripe.Charge.retrieve(intent.latest_charge)
    assert (charge.status, charge.customer, charge.payment_intent) == (
        "succeeded",
        customer.id,
        intent.id,
    )
    assert charge.payment_method_details.card.last4 == "4242"
    assert charge.metadata["order"] == "9"
    assert charge.receipt_url == f"http://stripe-emulator.test/receipt/{charge.id}"
    assert types_since(stripe_emulator, mark) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]


def test_confirming_later_with_a_payment_method(stripe_emulator, customer):
    intent = stripe.PaymentIntent.create(
        amount=1000, currency="usd", customer=customer.id
    )
    assert intent.status == "requires_payment_method"
    with pytest.raises(stripe.InvalidRequestError, match="missing a payment method"):
        stripe.PaymentIntent.confirm(intent.id)

    done = stripe.PaymentIntent.confirm(intent.id, payment_method="pm_card_visa")

    assert done.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError, match="status of succeeded"):
        stripe.PaymentIntent.confirm(intent.id)


def test_a_declined_card_fails_the_charge(stripe_emulator, customer):
    mark = len(stripe_emulator.events())

    with pytest.raises(stripe.CardError) as declined:
        stripe.PaymentIntent.create(
            amount=1000,
            currency="usd",
            customer=customer.id,
            payment_method="pm_card_chargeDeclinedInsufficientFunds",
            confirm=True,
        )

    error = declined.value.error
    assert (error.code, error.decline_code) == ("card_declined", "insufficient_funds")
    intent = stripe.PaymentIntent.retrieve(error.payment_intent.id)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.charge == intent.latest_charge
    charge = stripe.Charge.retrieve(intent.latest_charge)
    assert (charge.status, charge.paid, charge.failure_code) == (
        "failed",
        False,
        "card_declined",
    )
    assert types_since(stripe_emulator, mark) == [
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
    ]


def test_an_intent_can_be_cancelled_before_it_is_paid(stripe_emulator, customer):
    intent = stripe.PaymentIntent.create(amount=1000, currency="usd")
    done = stripe.PaymentIntent.cancel(intent.id, cancellation_reason="abandoned")
    assert (done.status, done.cancellation_reason) == ("canceled", "abandoned")
    with pytest.raises(stripe.InvalidRequestError):
        stripe.PaymentIntent.cancel(pay(customer).id)


def test_setup_future_usage_keeps_the_card(stripe_emulator, customer):
    intent = pay(customer, setup_future_usage="off_session")
    pm = stripe.PaymentMethod.retrieve(intent.payment_method)
    assert pm.customer == customer.id


def test_small_amounts_and_manual_capture_are_refused(stripe_emulator):
    with pytest.raises(stripe.InvalidRequestError) as small:
        stripe.PaymentIntent.create(amount=20, currency="usd")
    assert small.value.code == "amount_too_small"
    with pytest.raises(stripe.InvalidRequestError, match="automatically"):
        stripe.PaymentIntent.create(
            amount=1000, currency="usd", capture_method="manual"
        )


def test_charges_are_listed_by_customer_and_intent(stripe_emulator, customer):
    first, second = pay(customer), pay(customer)
    pay(None)
    by_customer = stripe.Charge.list(customer=customer.id).data
    assert [c.payment_intent for c in by_customer] == [second.id, first.id]
    assert len(stripe.Charge.list(payment_intent=first.id).data) == 1
    assert len(stripe.Charge.list().data) == 3
    by_intent = stripe.PaymentIntent.list(customer=customer.id).data
    assert [i.id for i in by_intent] == [second.id, first.id]


def test_a_charge_takes_metadata(stripe_emulator, customer):
    charge_id = pay(customer).latest_charge
    updated = stripe.Charge.modify(charge_id, metadata={"note": "vip"})
    assert updated.metadata["note"] == "vip"
    assert stripe_emulator.events("charge.updated")


# -- refunds ---------------------------------------------------------------------


def test_partial_then_full_refunds(stripe_emulator, customer):
    intent = pay(customer)
    charge_id = intent.latest_charge
    mark = len(stripe_emulator.events())

    first = stripe.Refund.create(
        charge=charge_id, amount=1000, reason="requested_by_customer"
    )
    charge = stripe.Charge.retrieve(charge_id)
    assert (first.status, first.amount, first.reason) == (
        "succeeded",
        1000,
        "requested_by_customer",
    )
    assert (charge.amount_refunded, charge.refunded) == (1000, False)
    rest = stripe.Refund.create(payment_intent=intent.id)

    charge = stripe.Charge.retrieve(charge_id)
    assert rest.amount == 2000
    assert (charge.amount_refunded, charge.refunded) == (3000, True)
    assert [r.id for r in charge.refunds.data] == [rest.id, first.id]
    assert types_since(stripe_emulator, mark) == [
        "charge.refunded",
        "refund.created",
        "charge.refunded",
        "refund.created",
    ]
    refunded = stripe_emulator.events("charge.refunded")[0]["data"]
    assert refunded["previous_attributes"]["amount_refunded"] == 0


def test_refunding_more_than_remains_is_refused(stripe_emulator, customer):
    charge_id = pay(customer).latest_charge
    stripe.Refund.create(charge=charge_id, amount=1000)

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        stripe.Refund.create(charge=charge_id, amount=2500)
    assert too_much.value.code == "amount_too_large"
    assert too_much.value.user_message == (
        "Refund amount ($25.00) is greater than unrefunded amount on charge ($20.00)"
    )
    stripe.Refund.create(charge=charge_id)

    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe.Refund.create(charge=charge_id)
    assert again.value.code == "charge_already_refunded"
    assert again.value.user_message == f"Charge {charge_id} has already been refunded."


def test_only_a_succeeded_payment_can_be_refunded(stripe_emulator):
    intent = stripe.PaymentIntent.create(amount=1000, currency="usd")
    with pytest.raises(stripe.InvalidRequestError, match="does not have a successful"):
        stripe.Refund.create(payment_intent=intent.id)
    with pytest.raises(stripe.InvalidRequestError, match="reason"):
        stripe.Refund.create(charge=pay().latest_charge, reason="changed_mind")


def test_refunds_are_listed_and_take_metadata(stripe_emulator, customer):
    first, second = pay(customer), pay(customer)
    refund = stripe.Refund.create(payment_intent=first.id)
    other = stripe.Refund.create(charge=second.latest_charge, amount=100)
    assert [r.id for r in stripe.Refund.list().data] == [other.id, refund.id]
    assert [r.id for r in stripe.Refund.list(payment_intent=first.id).data] == [
        refund.id
    ]
    assert [r.id for r in stripe.Refund.list(charge=second.latest_charge).data] == [
        other.id
    ]
    listed = stripe.Charge.list_refunds(second.latest_charge).data
    assert [r.id for r in listed] == [other.id]

    updated = stripe.Refund.modify(refund.id, metadata={"ticket": "42"})

    assert updated.metadata["ticket"] == "42"
    assert [e["type"] for e in stripe_emulator.events()[-2:]] == [
        "refund.updated",
        "charge.refund.updated",
    ]


def test_a_subscription_payment_can_be_refunded(stripe_emulator):
    product = stripe.Product.create(name="Pro")
    price = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=1200,
        recurring={"interval": "month"},
    )
    customer = stripe.Customer.create(payment_method="pm_card_visa")
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": price.id}])
    invoice = stripe.Invoice.retrieve(
        sub.latest_invoice, expand=["payments.data.payment.payment_intent"]
    )
    intent = invoice.payments.data[0].payment.payment_intent

    refund = stripe.Refund.create(payment_intent=intent.id, amount=400)

    assert refund.charge == intent.latest_charge
    assert stripe.Charge.retrieve(refund.charge).amount_refunded == 400
