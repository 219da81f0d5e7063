"""Checkout's money: promotion codes and discounts on sessions, and payment mode
(one-off purchases of one-time prices)."""

import pytest
import stripe

from stripe_emulator.errors import StripeError

from .billing import DAY, START, types_since

OK = "https://site.test/ok"


@pytest.fixture
def product(stripe_emulator):
    return stripe.Product.create(name="Pro")


@pytest.fixture
def monthly(product):
    return stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=2000,
        recurring={"interval": "month"},
    )


@pytest.fixture
def ebook(product):
    return stripe.Price.create(product=product.id, currency="usd", unit_amount=2500)


@pytest.fixture
def half(stripe_emulator):
    made = stripe.Coupon.create(percent_off=50, duration="once", name="Half")
    return stripe.PromotionCode.create(
        promotion={"type": "coupon", "coupon": made.id}, code="HALF"
    )


def subscription_session(price, **kwargs):
    return stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": price.id, "quantity": 1}],
        success_url=OK,
        **kwargs,
    )


def payment_session(price, quantity=1, **kwargs):
    return stripe.checkout.Session.create(
        mode="payment",
        line_items=[{"price": price.id, "quantity": quantity}],
        success_url=OK,
        **kwargs,
    )


# -- promotion codes and discounts -----------------------------------------------


def test_a_promotion_code_discounts_the_subscription(stripe_emulator, monthly, half):
    session = subscription_session(monthly, allow_promotion_codes=True)

    stripe_emulator.complete_checkout(session.id, promotion_code="half")

    done = stripe.checkout.Session.retrieve(
        session.id, expand=["total_details.breakdown", "line_items.data.discounts"]
    )
    assert (done.amount_subtotal, done.amount_total) == (2000, 1000)
    assert done.discounts[0].promotion_code == half.id
    assert done.total_details.amount_discount == 1000
    assert done.total_details.breakdown.discounts[0].amount == 1000
    assert done.line_items.data[0].amount_discount == 1000
    assert done.line_items.data[0].discounts[0].discount.promotion_code == half.id
    sub = stripe.Subscription.retrieve(done.subscription, expand=["discounts"])
    assert sub.discounts[0].promotion_code == half.id
    assert stripe.Invoice.retrieve(done.invoice).amount_paid == 1000
    assert stripe.PromotionCode.retrieve(half.id).times_redeemed == 1


def test_an_invalid_code_is_refused_and_nothing_is_paid(stripe_emulator, monthly):
    session = subscription_session(monthly, allow_promotion_codes=True)

    with pytest.raises(StripeError) as refused:
        stripe_emulator.complete_checkout(session.id, promotion_code="NOPE")

    assert (refused.value.status, refused.value.message) == (
        400,
        "The promotion code NOPE is not valid.",
    )
    assert stripe.checkout.Session.retrieve(session.id).status == "open"
    assert stripe_emulator.all("subscription") == []


def test_a_code_needs_a_session_that_allows_codes(stripe_emulator, monthly, half):
    session = subscription_session(monthly)
    with pytest.raises(StripeError, match="does not accept promotion codes"):
        stripe_emulator.complete_checkout(session.id, promotion_code="HALF")


def test_the_page_applies_and_removes_a_code(stripe_emulator, monthly, half):
    session = subscription_session(monthly, allow_promotion_codes=True)

    applied = stripe_emulator.engine.apply_promotion_code(session.id, "HALF")
    removed = stripe_emulator.engine.apply_promotion_code(session.id, "")

    assert (applied["amount_total"], applied["discounts"][0]["promotion_code"]) == (
        1000,
        half.id,
    )
    assert (removed["amount_total"], removed["discounts"]) == (2000, [])


def test_a_code_inactive_by_completion_is_refused(stripe_emulator, monthly, half):
    session = subscription_session(monthly, allow_promotion_codes=True)
    stripe_emulator.engine.apply_promotion_code(session.id, "HALF")
    stripe.PromotionCode.modify(half.id, active=False)

    with pytest.raises(StripeError, match="inactive"):
        stripe_emulator.complete_checkout(session.id)


def test_discounts_at_create(stripe_emulator, ebook):
    made = stripe.Coupon.create(amount_off=700, currency="usd")
    session = payment_session(ebook, 2, discounts=[{"coupon": made.id}])
    assert (session.amount_total, session.discounts[0].coupon) == (4300, made.id)


def test_discounts_and_promotion_codes_are_exclusive(stripe_emulator, ebook, half):
    with pytest.raises(stripe.InvalidRequestError, match="only specify one"):
        payment_session(
            ebook, discounts=[{"promotion_code": half.id}], allow_promotion_codes=True
        )


def test_a_trial_is_due_nothing_today_and_discounted_later(
    stripe_emulator, monthly, half
):
    session = subscription_session(
        monthly, allow_promotion_codes=True, subscription_data={"trial_period_days": 7}
    )
    stripe_emulator.complete_checkout(session.id, promotion_code="HALF")
    done = stripe.checkout.Session.retrieve(session.id)
    assert (done.amount_total, done.payment_status) == (0, "no_payment_required")
    sub = stripe.Subscription.retrieve(done.subscription)
    assert len(sub.discounts) == 1


# -- payment mode ----------------------------------------------------------------


def test_a_one_off_purchase_is_paid(stripe_emulator, ebook):
    customer = stripe.Customer.create(email="buyer@example.com")
    session = payment_session(
        ebook,
        2,
        customer=customer.id,
        payment_intent_data={"metadata": {"order": "7"}, "description": "Ebooks"},
    )
    assert (session.mode, session.amount_total, session.payment_intent) == (
        "payment",
        5000,
        None,
    )
    mark = len(stripe_emulator.events())

    assert stripe_emulator.complete_checkout(session.id) == OK

    done = stripe.checkout.Session.retrieve(session.id, expand=["payment_intent"])
    assert (done.status, done.payment_status, done.customer) == (
        "complete",
        "paid",
        customer.id,
    )
    intent = done.payment_intent
    assert (intent.status, intent.amount, intent.metadata["order"]) == (
        "succeeded",
        5000,
        "7",
    )
    charge = stripe.Charge.retrieve(intent.latest_charge)
    assert (charge.amount, charge.paid, charge.description) == (5000, True, "Ebooks")
    assert done.subscription is None and done.invoice is None
    assert types_since(stripe_emulator, mark) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]


def test_a_declined_purchase_pays_nothing_and_stays_open(stripe_emulator, ebook):
    session = payment_session(ebook)

    with pytest.raises(StripeError) as declined:
        stripe_emulator.complete_checkout(session.id, card="decline")

    assert declined.value.status == 402
    still = stripe.checkout.Session.retrieve(session.id)
    assert (still.status, still.payment_status) == ("open", "unpaid")
    assert stripe_emulator.all("charge") == []
    stripe_emulator.complete_checkout(session.id)
    assert stripe.checkout.Session.retrieve(session.id).payment_status == "paid"


def test_without_a_customer_none_is_made_unless_asked(stripe_emulator, ebook):
    guest = payment_session(ebook, customer_email="guest@example.com")
    keeper = payment_session(ebook, customer_creation="always")

    stripe_emulator.complete_checkout(guest.id)
    stripe_emulator.complete_checkout(keeper.id, email="kept@example.com")

    guest = stripe.checkout.Session.retrieve(guest.id)
    assert (guest.customer, guest.customer_details.email) == (
        None,
        "guest@example.com",
    )
    keeper = stripe.checkout.Session.retrieve(keeper.id)
    assert stripe.Customer.retrieve(keeper.customer).email == "kept@example.com"


def test_invoice_creation_makes_a_paid_invoice(stripe_emulator, ebook):
    made = stripe.Coupon.create(amount_off=500, currency="usd")
    session = payment_session(
        ebook,
        invoice_creation={"enabled": True, "invoice_data": {"footer": "Thanks"}},
        discounts=[{"coupon": made.id}],
    )

    stripe_emulator.complete_checkout(session.id, email="inv@example.com")

    done = stripe.checkout.Session.retrieve(session.id)
    invoice = stripe.Invoice.retrieve(done.invoice, expand=["payments"])
    assert (invoice.status, invoice.subtotal, invoice.total, invoice.amount_paid) == (
        "paid",
        2500,
        2000,
        2000,
    )
    assert (invoice.customer, invoice.footer, invoice.billing_reason) == (
        done.customer,
        "Thanks",
        "manual",
    )
    assert invoice.payments.data[0].payment.payment_intent == done.payment_intent
    assert invoice.lines.data[0].parent.type == "invoice_item_details"


def test_payment_mode_takes_one_time_prices_only(stripe_emulator, monthly):
    with pytest.raises(stripe.InvalidRequestError, match="recurring price"):
        payment_session(monthly)


def test_subscription_mode_refuses_payment_parameters(stripe_emulator, monthly):
    with pytest.raises(stripe.InvalidRequestError, match="payment_intent_data"):
        subscription_session(monthly, payment_intent_data={"description": "x"})


def test_a_free_purchase_needs_no_payment(stripe_emulator, ebook):
    made = stripe.Coupon.create(percent_off=100)
    session = payment_session(ebook, discounts=[{"coupon": made.id}])

    stripe_emulator.complete_checkout(session.id, card=None)

    done = stripe.checkout.Session.retrieve(session.id)
    assert (done.payment_status, done.payment_intent) == ("no_payment_required", None)


def test_an_abandoned_session_expires(stripe_emulator, ebook):
    clock = stripe_emulator.create_test_clock(START)
    customer = stripe.Customer.create(test_clock=clock)
    session = payment_session(ebook, customer=customer.id, expires_at=START + 2 * 3600)
    assert session.expires_at == START + 2 * 3600

    stripe_emulator.advance_clock(clock, seconds=3 * 3600)

    assert stripe.checkout.Session.retrieve(session.id).status == "expired"
    [expired] = stripe_emulator.events("checkout.session.expired")
    assert expired["created"] == START + 2 * 3600
    with pytest.raises(StripeError, match="expired"):
        stripe_emulator.complete_checkout(session.id)


def test_expires_at_must_be_within_a_day(stripe_emulator, ebook):
    clock = stripe_emulator.create_test_clock(START)
    customer = stripe.Customer.create(test_clock=clock)
    with pytest.raises(stripe.InvalidRequestError, match="30 minutes and 24 hours"):
        payment_session(ebook, customer=customer.id, expires_at=START + 2 * DAY)
