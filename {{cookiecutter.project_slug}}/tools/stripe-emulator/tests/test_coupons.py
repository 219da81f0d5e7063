"""Coupons and promotion codes: their API and events, and Stripe's rules for
redeeming them (tried on subscription creation)."""

import pytest
import stripe

DAY = 86400


def event_types(emulator):
    return [e["type"] for e in emulator.events()]


@pytest.fixture
def price(stripe_emulator):
    product = stripe.Product.create(name="Pro")
    return stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=2000,
        recurring={"interval": "month"},
    )


@pytest.fixture
def customer(stripe_emulator):
    return stripe.Customer.create(email="c@example.com", payment_method="pm_card_visa")


def coupon(**kwargs):
    return stripe.Coupon.create(**{"percent_off": 10, **kwargs})


def promotion(coupon_id, **kwargs):
    return stripe.PromotionCode.create(
        promotion={"type": "coupon", "coupon": coupon_id}, **kwargs
    )


def subscribe(customer, price, **discount):
    return stripe.Subscription.create(
        customer=customer.id, items=[{"price": price.id}], discounts=[discount]
    )


# -- coupons ---------------------------------------------------------------------


def test_coupon_lifecycle_and_events(stripe_emulator):
    made = stripe.Coupon.create(
        id="SPRING",
        amount_off=500,
        currency="usd",
        duration="repeating",
        duration_in_months=3,
        max_redemptions=10,
        name="Spring",
    )
    assert (made.id, made.duration_in_months, made.valid, made.times_redeemed) == (
        "SPRING",
        3,
        True,
        0,
    )
    renamed = stripe.Coupon.modify("SPRING", name="Spring sale", metadata={"a": "1"})
    assert (renamed.name, renamed.metadata["a"]) == ("Spring sale", "1")
    assert [c.id for c in stripe.Coupon.list().data] == ["SPRING"]
    assert stripe.Coupon.delete("SPRING").deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Coupon.retrieve("SPRING")
    assert event_types(stripe_emulator) == [
        "coupon.created",
        "coupon.updated",
        "coupon.deleted",
    ]
    updated = stripe_emulator.events("coupon.updated")[0]["data"]
    assert updated["previous_attributes"]["name"] == "Spring"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "exactly one of percent_off or amount_off"),
        ({"percent_off": 10, "amount_off": 100}, "exactly one"),
        ({"percent_off": 120}, "at most 100"),
        ({"amount_off": 100}, "currency"),
        ({"percent_off": 10, "duration": "repeating"}, "duration_in_months"),
        ({"percent_off": 10, "duration_in_months": 2}, "duration=repeating"),
        ({"percent_off": 10, "redeem_by": 1000}, "future"),
    ],
)
def test_invalid_coupons_are_refused(stripe_emulator, params, message):
    with pytest.raises(stripe.InvalidRequestError, match=message):
        stripe.Coupon.create(**params)


def test_only_name_and_metadata_change(stripe_emulator):
    made = coupon()
    with pytest.raises(stripe.InvalidRequestError, match="percent_off"):
        stripe.Coupon.modify(made.id, percent_off=20)


def test_a_coupon_id_is_taken_once(stripe_emulator):
    coupon(id="ONCE")
    with pytest.raises(stripe.InvalidRequestError, match="already exists"):
        coupon(id="ONCE")


def test_a_used_up_coupon_is_invalid_and_refused(customer, price):
    made = coupon(max_redemptions=1)
    subscribe(customer, price, coupon=made.id)
    assert stripe.Coupon.retrieve(made.id).valid is False

    with pytest.raises(stripe.InvalidRequestError) as refused:
        subscribe(customer, price, coupon=made.id)

    assert refused.value.code == "coupon_expired"
    assert "maximum number of times" in refused.value.user_message
    assert refused.value.param == "discounts[0][coupon]"


def test_a_coupon_past_redeem_by_is_refused(stripe_emulator, price):
    clock = stripe_emulator.create_test_clock()
    late = stripe.Customer.create(payment_method="pm_card_visa", test_clock=clock)
    now = stripe.test_helpers.TestClock.retrieve(clock).frozen_time
    made = coupon(redeem_by=now + 2 * DAY)
    stripe_emulator.advance_clock(clock, days=3)

    with pytest.raises(stripe.InvalidRequestError, match="has expired"):
        subscribe(late, price, coupon=made.id)


def test_an_amount_off_coupon_in_another_currency_is_refused(customer, price):
    made = stripe.Coupon.create(amount_off=100, currency="eur")
    with pytest.raises(stripe.InvalidRequestError, match="EUR"):
        subscribe(customer, price, coupon=made.id)


def test_applies_to_is_shown_when_expanded(stripe_emulator, price):
    made = stripe.Coupon.create(percent_off=5, applies_to={"products": [price.product]})
    assert "applies_to" not in made
    shown = stripe.Coupon.retrieve(made.id, expand=["applies_to"])
    assert shown.applies_to.products == [price.product]


# -- promotion codes -------------------------------------------------------------


def test_promotion_code_lifecycle_and_events(stripe_emulator):
    made = coupon()
    promo = promotion(made.id, code="WELCOME", max_redemptions=5)
    assert (promo.code, promo.active, promo.promotion.coupon) == (
        "WELCOME",
        True,
        made.id,
    )
    off = stripe.PromotionCode.modify(promo.id, active=False, metadata={"a": "1"})
    assert (off.active, off.metadata["a"]) == (False, "1")
    assert event_types(stripe_emulator)[-2:] == [
        "promotion_code.created",
        "promotion_code.updated",
    ]


def test_promotion_codes_are_listed_by_code_active_and_coupon(stripe_emulator):
    first, second = coupon(), coupon()
    a = promotion(first.id, code="ALPHA")
    b = promotion(second.id, code="BETA", active=False)

    def ids(**filters):
        return [p.id for p in stripe.PromotionCode.list(**filters).data]

    assert ids(code="alpha") == [a.id]
    assert ids(active=False) == [b.id]
    assert ids(coupon=second.id) == [b.id]
    assert ids() == [b.id, a.id]


def test_an_active_code_is_unique(stripe_emulator):
    made = coupon()
    first = promotion(made.id, code="DUP")
    with pytest.raises(stripe.InvalidRequestError, match="already exists"):
        promotion(made.id, code="dup")
    stripe.PromotionCode.modify(first.id, active=False)
    second = promotion(made.id, code="DUP")
    with pytest.raises(stripe.InvalidRequestError, match="already exists"):
        stripe.PromotionCode.modify(first.id, active=True)
    assert second.active


def test_a_code_is_generated_when_none_is_given(stripe_emulator):
    assert len(promotion(coupon().id).code) == 8


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"active": False}, "is inactive"),
        ({"max_redemptions": 1, "used": True}, "maximum number of times"),
        ({"customer": "other"}, "cannot be redeemed by this customer"),
        (
            {
                "restrictions": {
                    "minimum_amount": 5000,
                    "minimum_amount_currency": "usd",
                }
            },
            "at least $50.00",
        ),
        (
            {"restrictions": {"first_time_transaction": True}, "used": True},
            "has prior transactions",
        ),
    ],
)
def test_promotion_code_rules(stripe_emulator, customer, price, setup, message):
    setup = dict(setup)
    used = setup.pop("used", False)
    if setup.get("customer") == "other":
        setup["customer"] = stripe.Customer.create().id
    promo = promotion(coupon().id, **setup)
    if used:
        # The customer pays once (with the code, where it may be used).
        subscribe(customer, price, promotion_code=promo.id)

    with pytest.raises(stripe.InvalidRequestError) as refused:
        subscribe(customer, price, promotion_code=promo.id)

    assert message in refused.value.user_message
    assert refused.value.param == "discounts[0][promotion_code]"


def test_an_expired_promotion_code_is_refused(stripe_emulator, price):
    clock = stripe_emulator.create_test_clock()
    late = stripe.Customer.create(payment_method="pm_card_visa", test_clock=clock)
    now = stripe.test_helpers.TestClock.retrieve(clock).frozen_time
    promo = promotion(coupon().id, expires_at=now + DAY)
    stripe_emulator.advance_clock(clock, days=2)

    with pytest.raises(stripe.InvalidRequestError, match="has expired"):
        subscribe(late, price, promotion_code=promo.id)


def test_a_first_time_code_works_for_a_customer_who_never_paid(customer, price):
    promo = promotion(coupon().id, restrictions={"first_time_transaction": True})
    sub = subscribe(customer, price, promotion_code=promo.id)
    assert stripe.Invoice.retrieve(sub.latest_invoice).total == 1800


def test_redemptions_are_counted_on_the_code_and_its_coupon(customer, price):
    made = coupon()
    promo = promotion(made.id)
    subscribe(customer, price, promotion_code=promo.id)
    subscribe(customer, price, coupon=made.id)
    assert stripe.PromotionCode.retrieve(promo.id).times_redeemed == 1
    assert stripe.Coupon.retrieve(made.id).times_redeemed == 2
