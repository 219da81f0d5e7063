"""Price, discount and balance arithmetic against figures worked out by hand, and
the same prices billed on real invoices (package and tiered prices, a quarterly
interval)."""

from datetime import UTC, datetime

import pytest
import stripe

from stripe_emulator import amounts

START = 1767225600  # 2026-01-01 00:00 UTC
DAY = 86400

TIERS = [
    {"up_to": 5, "unit_amount": 1000, "flat_amount": 0},
    {"up_to": 10, "unit_amount": 800, "flat_amount": 500},
    {"up_to": None, "unit_amount": 600, "flat_amount": 0},
]


@pytest.mark.parametrize(
    ("quantity", "divide_by", "rounding", "units"),
    [
        (0, 10, "up", 0),
        (1, 10, "up", 1),
        (10, 10, "up", 1),
        (11, 10, "up", 2),
        (9, 10, "down", 0),
        (10, 10, "down", 1),
        (19, 10, "down", 1),
    ],
)
def test_transform_quantity_counts_packages(quantity, divide_by, rounding, units):
    transform = {"divide_by": divide_by, "round": rounding}
    assert amounts.transformed_quantity(quantity, transform) == units


@pytest.mark.parametrize(
    ("mode", "quantity", "expected"),
    [
        ("graduated", 0, 0),
        ("graduated", 3, 3 * 1000),
        ("graduated", 5, 5 * 1000),
        ("graduated", 7, 5 * 1000 + 2 * 800 + 500),
        ("graduated", 10, 5 * 1000 + 5 * 800 + 500),
        ("graduated", 12, 5 * 1000 + 5 * 800 + 500 + 2 * 600),
        ("volume", 3, 3 * 1000),
        ("volume", 7, 7 * 800 + 500),
        ("volume", 10, 10 * 800 + 500),
        ("volume", 12, 12 * 600),
    ],
)
def test_tiers(mode, quantity, expected):
    assert amounts.tiered_amount(TIERS, mode, quantity) == expected


def test_a_graduated_first_tier_can_be_a_flat_fee():
    tiers = [
        {"up_to": 1, "unit_amount": 0, "flat_amount": 2000},
        {"up_to": None, "unit_amount": 300, "flat_amount": 0},
    ]
    assert [amounts.tiered_amount(tiers, "graduated", q) for q in (1, 4)] == [
        2000,
        2000 + 3 * 300,
    ]


@pytest.mark.parametrize(
    ("price", "quantity", "expected"),
    [
        ({"unit_amount": 1500}, 3, 4500),
        ({"unit_amount_decimal": "0.5"}, 3, 2),  # 1.5 rounds half up
        ({"unit_amount_decimal": "0.5"}, 5, 3),  # 2.5 too
        ({"unit_amount_decimal": "12.345"}, 10, 123),
        (
            {
                "unit_amount": 500,
                "transform_quantity": {"divide_by": 10, "round": "up"},
            },
            11,
            1000,
        ),
        (
            {
                "unit_amount": 500,
                "transform_quantity": {"divide_by": 10, "round": "down"},
            },
            11,
            500,
        ),
    ],
)
def test_per_unit_prices(price, quantity, expected):
    price = {"billing_scheme": "per_unit", "tiers_mode": None, **price}
    assert amounts.price_amount(price, None, quantity) == expected


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [(1999, 25, 500), (1000, 33.3, 333), (5, 10, 1), (3, 50, 2), (1000, 100, 1000)],
)
def test_percent_off_rounds_half_up(amount, percent, expected):
    assert amounts.percent_of(amount, percent) == expected


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (500, [1000, 3000], [125, 375]),
        (7, [1, 2], [2, 5]),
        (10, [0, 0], [0, 0]),
        (0, [5, 5], [0, 0]),
    ],
)
def test_spread_keeps_the_total(total, weights, expected):
    assert amounts.spread(total, weights) == expected


@pytest.mark.parametrize(
    ("coupon", "eligible", "expected"),
    [
        ({"amount_off": 600}, [True, True, True], [150, 450, 0]),
        ({"amount_off": 5000}, [True, True, True], [1000, 3000, 0]),
        ({"percent_off": 10}, [True, True, True], [100, 300, 0]),
        ({"percent_off": 10}, [True, False, True], [100, 0, 0]),
        ({"amount_off": 600}, [False, True, True], [0, 600, 0]),
    ],
)
def test_coupon_amounts_spare_credits_and_ineligible_lines(coupon, eligible, expected):
    assert amounts.coupon_amounts([1000, 3000, -500], eligible, coupon) == expected


@pytest.mark.parametrize(
    ("total", "balance", "due", "ending"),
    [
        (1000, 0, 1000, 0),
        (1000, -300, 700, 0),
        (1000, -1500, 0, -500),
        (1000, 200, 1200, 0),
        (-400, 0, 0, -400),
        (-400, 300, 0, -100),
    ],
)
def test_the_balance_meets_the_invoice(total, balance, due, ending):
    assert amounts.apply_balance(total, balance) == (due, ending)


# -- on invoices -----------------------------------------------------------------


@pytest.fixture
def product(stripe_emulator):
    return stripe.Product.create(name="Seats")


def first_invoice(price, quantity):
    customer = stripe.Customer.create(payment_method="pm_card_visa")
    sub = stripe.Subscription.create(
        customer=customer.id, items=[{"price": price.id, "quantity": quantity}]
    )
    return stripe.Invoice.retrieve(sub.latest_invoice)


def test_a_package_price_bills_whole_packages(product):
    price = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=1000,
        recurring={"interval": "month"},
        transform_quantity={"divide_by": 5, "round": "up"},
    )
    assert price.transform_quantity.divide_by == 5
    invoice = first_invoice(price, 11)
    assert (invoice.total, invoice.lines.data[0].quantity) == (3000, 11)


@pytest.mark.parametrize(("mode", "expected"), [("graduated", 9500), ("volume", 8500)])
def test_a_tiered_price_bills_the_subscription_quantity(product, mode, expected):
    price = stripe.Price.create(
        product=product.id,
        currency="usd",
        recurring={"interval": "month"},
        billing_scheme="tiered",
        tiers_mode=mode,
        tiers=[
            {"up_to": 5, "unit_amount": 1000},
            {"up_to": 10, "unit_amount": 800, "flat_amount": 500},
            {"up_to": "inf", "unit_amount": 600},
        ],
    )
    assert first_invoice(price, 10).total == expected


def test_tiers_must_rise_and_end_unbounded(stripe_emulator, product):
    base = {
        "product": product.id,
        "currency": "usd",
        "billing_scheme": "tiered",
        "tiers_mode": "volume",
    }
    with pytest.raises(stripe.InvalidRequestError, match="ascending"):
        stripe.Price.create(
            **base, tiers=[{"up_to": 5, "unit_amount": 1}, {"up_to": 3}]
        )
    with pytest.raises(stripe.InvalidRequestError, match="up_to=inf"):
        stripe.Price.create(**base, tiers=[{"up_to": 5, "unit_amount": 1}])
    with pytest.raises(stripe.InvalidRequestError, match="transform_quantity"):
        stripe.Price.create(
            **base,
            tiers=[{"up_to": "inf", "unit_amount": 1}],
            transform_quantity={"divide_by": 2, "round": "up"},
        )


def test_a_fractional_unit_amount_has_no_integer_form(stripe_emulator, product):
    price = stripe.Price.create(
        product=product.id, currency="usd", unit_amount_decimal="0.25"
    )
    assert (price.unit_amount, str(price.unit_amount_decimal)) == (None, "0.25")


def test_a_quarterly_price_renews_every_three_months(stripe_emulator, product):
    price = stripe.Price.create(
        product=product.id,
        currency="eur",
        unit_amount=4500,
        recurring={"interval": "month", "interval_count": 3},
    )
    clock = stripe_emulator.create_test_clock(START)
    customer = stripe.Customer.create(payment_method="pm_card_visa", test_clock=clock)
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": price.id}])
    april = int(datetime(2026, 4, 1, tzinfo=UTC).timestamp())
    july = int(datetime(2026, 7, 1, tzinfo=UTC).timestamp())
    assert sub["items"].data[0].current_period_end == april

    stripe_emulator.advance_clock(clock, to=april + DAY)

    renewed = stripe.Subscription.retrieve(sub.id)
    item = renewed["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (april, july)
    invoice = stripe.Invoice.retrieve(renewed.latest_invoice)
    assert (invoice.total, invoice.currency, invoice.lines.data[0].currency) == (
        4500,
        "eur",
        "eur",
    )
    assert len(stripe.Invoice.list(subscription=sub.id).data) == 2
