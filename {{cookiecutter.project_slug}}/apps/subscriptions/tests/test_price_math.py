"""Price arithmetic (apps/subscriptions/price_math.py) against figures worked out by
hand, then as the pricing and subscription pages show it, and against the invoices
the emulated Stripe makes."""

import pytest
import stripe
from djstripe.models import Price, Product

from apps.subscriptions import metadata
from apps.subscriptions.metadata import PlanInterval
from apps.subscriptions.price_math import (
    amount_for_quantity,
    coupon_label,
    discounted_amount,
    per_period,
)
from apps.subscriptions.selectors import get_checkout_price
from apps.subscriptions.stripe_client import api_key, stripe_options

from .factories import make_price, make_product, make_subscription

pytestmark = pytest.mark.django_db

PACKAGE_UP = {"divide_by": 10, "round": "up"}
PACKAGE_DOWN = {"divide_by": 10, "round": "down"}
# Units 1-5 at $10.00, 6-10 at $8.00, 11 and up at $5.00.
TIERS = [
    {"up_to": 5, "unit_amount": 1000, "flat_amount": None},
    {"up_to": 10, "unit_amount": 800, "flat_amount": None},
    {"up_to": None, "unit_amount": 500, "flat_amount": None},
]
# A $20.00 base that covers the first seat, then $5.00 a seat plus a $1.00 fee.
FLAT_TIERS = [
    {"up_to": 1, "unit_amount": 0, "flat_amount": 2000},
    {"up_to": "inf", "unit_amount": 500, "flat_amount": 100},
]
# Up to 10 seats at $10.00 each plus $5.00; more, every seat at $7.00.
VOLUME_FLAT_TIERS = [
    {"up_to": 10, "unit_amount": 1000, "flat_amount": 500},
    {"up_to": None, "unit_amount": 700, "flat_amount": None},
]


def per_unit(amount, **data):
    return {"billing_scheme": "per_unit", "unit_amount": amount, **data}


def package(amount, transform):
    return per_unit(amount, transform_quantity=transform)


def tiered(mode, tiers):
    return {"billing_scheme": "tiered", "tiers_mode": mode, "tiers": tiers}


# (price, quantity, cents): each figure worked out by hand in its comment.
AMOUNTS = [
    (per_unit(800), 3, 2400),  # 3 x 800
    (per_unit(None, unit_amount_decimal="12.5"), 3, 38),  # 37.5 rounds half up
    (package(5000, PACKAGE_UP), 11, 10000),  # 11 / 10 = 1.1 -> 2 packages x 5000
    (package(5000, PACKAGE_UP), 20, 10000),  # 20 / 10 = 2 packages x 5000
    (package(5000, PACKAGE_UP), 1, 5000),  # 0.1 -> 1 package
    (package(5000, PACKAGE_DOWN), 11, 5000),  # 1.1 -> 1 package x 5000
    (package(5000, PACKAGE_DOWN), 9, 0),  # 0.9 -> 0 packages
    (tiered("graduated", TIERS), 1, 1000),  # 1 x 1000
    (tiered("graduated", TIERS), 5, 5000),  # 5 x 1000
    (tiered("graduated", TIERS), 7, 6600),  # 5 x 1000 + 2 x 800
    (tiered("graduated", TIERS), 12, 10000),  # 5000 + 5 x 800 + 2 x 500
    (tiered("graduated", FLAT_TIERS), 1, 2000),  # the first tier's flat 2000
    (tiered("graduated", FLAT_TIERS), 4, 3600),  # 2000 + (3 x 500 + 100)
    (tiered("volume", TIERS), 5, 5000),  # 5 x 1000 (5 is still the first tier)
    (tiered("volume", TIERS), 7, 5600),  # 7 x 800
    (tiered("volume", TIERS), 12, 6000),  # 12 x 500
    (tiered("volume", VOLUME_FLAT_TIERS), 10, 10500),  # 10 x 1000 + 500
    (tiered("volume", VOLUME_FLAT_TIERS), 11, 7700),  # 11 x 700
]


@pytest.mark.parametrize(("price", "quantity", "cents"), AMOUNTS)
def test_a_quantity_of_each_kind_of_price_costs_what_stripe_bills(
    price, quantity, cents
):
    assert amount_for_quantity(price, quantity) == cents


def test_a_tiered_price_without_its_tiers_has_no_amount():
    assert amount_for_quantity({"billing_scheme": "tiered"}, 3) is None


@pytest.mark.parametrize(
    ("recurring", "words"),
    [
        ({"interval": "month", "interval_count": 1}, "/ month"),
        ({"interval": "year"}, "/ year"),
        ({"interval": "month", "interval_count": 3}, "every 3 months"),
        ({"interval": "week", "interval_count": 2}, "every 2 weeks"),
        (None, ""),
    ],
)
def test_the_period_reads_as_stripe_bills_it(recurring, words):
    assert per_period(recurring) == words


# (coupon, what it takes off 4900 cents, its terms), worked out by hand.
COUPONS = [
    ({"percent_off": 20, "duration": "repeating", "duration_in_months": 3},
     3920, "20% off for 3 months"),  # 4900 - 980
    ({"percent_off": 12.5, "duration": "once"},
     4287, "12.5% off once"),  # 612.5 rounds half up to 613; 4900 - 613
    ({"amount_off": 500, "currency": "usd", "duration": "forever"},
     4400, "$5.00 off forever"),  # 4900 - 500
    ({"amount_off": 9900, "currency": "usd", "duration": "once"},
     0, "$99.00 off once"),  # never below nothing
    ({"amount_off": 500, "currency": "eur", "duration": "once"},
     4900, "€5.00 off once"),  # another currency takes nothing off
]  # fmt: skip


@pytest.mark.parametrize(("coupon", "after", "terms"), COUPONS)
def test_a_coupon_takes_off_what_stripe_takes_off(coupon, after, terms):
    assert discounted_amount(4900, [coupon], "usd") == after
    assert coupon_label(coupon) == terms


def test_two_coupons_apply_one_after_the_other():
    # 20% of 4900 is 980, leaving 3920; then 500 off: 3420.
    coupons = [{"percent_off": 20}, {"amount_off": 500, "currency": "usd"}]
    assert discounted_amount(4900, coupons, "usd") == 3420


def test_a_coupon_for_other_products_takes_nothing_off():
    coupon = {"percent_off": 50, "applies_to": {"products": ["prod_other"]}}
    assert discounted_amount(4900, [coupon], "usd", "prod_mine") == 4900
    assert discounted_amount(4900, [coupon], "usd", "prod_other") == 2450


# -- on the pages ---------------------------------------------------------------------


@pytest.fixture
def plan(monkeypatch):
    """One plan, on sale monthly, quarterly and every six months."""
    product = make_product(name="Studio", unit_label="seat")
    monkeypatch.setattr(
        metadata,
        "ACTIVE_PRODUCTS",
        [metadata.ProductMetadata(stripe_id=product.id, slug="studio", name="Studio")],
    )
    monkeypatch.setattr(
        metadata,
        "ACTIVE_PLAN_INTERVALS",
        [PlanInterval.month, PlanInterval.quarter, PlanInterval.half_year],
    )
    return product


def every(count):
    return {"interval": "month", "interval_count": count}


def words(response) -> str:
    return " ".join(response.content.decode().split())


def test_quarterly_and_semi_annual_prices_are_toggled_and_sold(
    billing_client, plan, urls
):
    monthly = make_price(plan, "month", 1000)
    quarterly = make_price(plan, recurring=every(3), unit_amount=2700)
    half_yearly = make_price(plan, recurring=every(6), unit_amount=5000)
    page = words(billing_client.get(urls("subscription")))
    assert 'id="interval-quarter"' in page and 'id="interval-half_year"' in page
    assert ">Quarterly</label>" in page and ">Semi-annual</label>" in page
    assert "$27.00" in page and "every 3 months" in page
    assert "$50.00" in page and "every 6 months" in page
    # 3 x $10.00 is $30.00: $27.00 saves 10%; 6 x $10.00 - $50.00 is 1 month free.
    assert "Save 10%" in page and "1 month free" in page
    for price in (monthly, quarterly, half_yearly):
        assert get_checkout_price(price.id) == price


def test_an_interval_not_listed_is_not_sold(plan, monkeypatch):
    quarterly = make_price(plan, recurring=every(3), unit_amount=2700)
    monkeypatch.setattr(metadata, "ACTIVE_PLAN_INTERVALS", [PlanInterval.month])
    assert get_checkout_price(quarterly.id) is None
    # Nor is a period that no PlanInterval names.
    monkeypatch.setattr(metadata, "ACTIVE_PLAN_INTERVALS", list(PlanInterval))
    every_two = make_price(plan, recurring=every(2), unit_amount=1900)
    assert get_checkout_price(every_two.id) is None


def test_the_pricing_page_shows_package_and_tiered_prices(billing_client, plan, urls):
    make_price(plan, "month", 5000, transform_quantity=PACKAGE_UP)
    make_price(
        plan,
        recurring=every(3),
        unit_amount=None,
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=TIERS,
    )
    page = words(billing_client.get(urls("subscription")))
    assert '$50.00 <span class="plan-price-unit">per 10 seats / month' in page
    # A tiered price starts at what one seat costs.
    assert "From $10.00" in page
    assert "Custom pricing" not in page


def test_price_displays_still_replace_the_computed_amount(
    billing_client, plan, urls, monkeypatch
):
    make_price(plan, "month", 5000, transform_quantity=PACKAGE_UP)
    shown = metadata.ProductMetadata(
        stripe_id=plan.id,
        slug="studio",
        name="Studio",
        price_displays={"month": "Ask us"},
    )
    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", [shown])
    page = words(billing_client.get(urls("subscription")))
    assert "Ask us" in page and "$50.00" not in page


@pytest.mark.parametrize(
    ("data", "quantity", "shown"),
    [
        # 11 seats in packages of 10, rounded up: 2 x $50.00.
        (
            {"unit_amount": 5000, "transform_quantity": PACKAGE_UP},
            11,
            "$100.00 / month",
        ),
        # 7 seats graduated: 5 x $10.00 + 2 x $8.00.
        (tiered("graduated", TIERS) | {"unit_amount": None}, 7, "$66.00 / month"),
        # 7 seats by volume: 7 x $8.00.
        (tiered("volume", TIERS) | {"unit_amount": None}, 7, "$56.00 / month"),
        # 2 seats at $27.00 every 3 months.
        ({"unit_amount": 2700, "recurring": every(3)}, 2, "$54.00 every 3 months"),
    ],
)
def test_the_subscription_summary_bills_the_current_quantity(
    billing_client, subscriber, plan, urls, data, quantity, shown
):
    price = make_price(plan, "month", **data)
    subscription = make_subscription(subscriber, price, quantity=quantity)
    # A subscription's items carry their price without its tiers, as Stripe's do.
    item = subscription.stripe_data["items"]["data"][0]
    item["price"].pop("tiers", None)
    subscription.save(update_fields=["stripe_data"])
    page = words(billing_client.get(urls("subscription")))
    assert f'data-testid="plan-price"> {shown} </dd>' in page


# -- against the emulator's invoices ---------------------------------------------------


@pytest.mark.parametrize(
    ("params", "quantity"),
    [
        ({"unit_amount": 5000, "transform_quantity": PACKAGE_UP}, 11),
        ({"unit_amount": 5000, "transform_quantity": PACKAGE_DOWN}, 19),
        ({"billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": TIERS}, 12),
        ({"billing_scheme": "tiered", "tiers_mode": "volume", "tiers": FLAT_TIERS}, 4),
    ],
)
def test_the_first_invoice_is_what_the_pages_compute(
    billing, stripe_emulator, params, quantity
):
    if "tiers" in params:
        # Stripe takes the last tier's bound as "inf", and no empty amounts.
        params["tiers"] = [
            {key: value for key, value in tier.items() if value is not None}
            | {"up_to": tier["up_to"] or "inf"}
            for tier in params["tiers"]
        ]
    product = stripe.Product.create(name="Kinds", **stripe_options())
    created = stripe.Price.create(
        product=product.id,
        currency="usd",
        recurring={"interval": "month"},
        expand=["tiers"],
        **params,
        **stripe_options(),
    )
    Product.sync_from_stripe_data(product, api_key=api_key())
    local = Price.sync_from_stripe_data(created, api_key=api_key())
    subscription = stripe.Subscription.create(
        customer=billing.customer_id,
        items=[{"price": created.id, "quantity": quantity}],
        expand=["latest_invoice"],
        **stripe_options(),
    )
    expected = amount_for_quantity(local.stripe_data, quantity)
    assert expected is not None
    assert subscription.latest_invoice.amount_due == expected
