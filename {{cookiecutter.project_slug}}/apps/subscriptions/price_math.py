"""Price arithmetic over Stripe-shaped data: what a quantity of a price costs for one
period, how often it bills, and what a coupon takes off.

Pure functions of plain data (a price's or a coupon's `stripe_data`), with no
queries and no calls to Stripe, so each rule can be checked against figures worked
out by hand and against the invoices Stripe makes. Amounts are integers in the
currency's minor unit; a fraction of one is rounded half up, as invoices round it.

A price is one of:

- per unit: `unit_amount` (or `unit_amount_decimal`) times the quantity;
- package: `transform_quantity` bills `divide_by` units as one package, the
  quantity divided and rounded `up` or `down`, times `unit_amount`;
- tiered, `graduated`: each tier's units at its own `unit_amount`, plus the
  `flat_amount` of every tier the quantity reaches;
- tiered, `volume`: every unit at the rate of the tier the whole quantity falls
  in, plus that tier's `flat_amount`.

Tiers come with a price only when Stripe is asked to expand them (`tiers`).
"""

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum

from .money import format_amount


class PriceKind(StrEnum):
    PER_UNIT = "per_unit"
    PACKAGE = "package"
    GRADUATED = "graduated"
    VOLUME = "volume"


def price_kind(price) -> PriceKind:
    if price.get("billing_scheme") == "tiered":
        if price.get("tiers_mode") == "volume":
            return PriceKind.VOLUME
        return PriceKind.GRADUATED
    if price.get("transform_quantity"):
        return PriceKind.PACKAGE
    return PriceKind.PER_UNIT


def _exact(decimal_value, whole) -> Decimal | None:
    """An amount from its `*_decimal` string when there is one, else its integer."""
    if decimal_value not in (None, ""):
        return Decimal(str(decimal_value))
    if whole is None:
        return None
    return Decimal(int(whole))


def _round(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def unit_amount(price) -> Decimal | None:
    """The amount of one unit (or one package) of a per-unit price; None if tiered
    or custom."""
    return _exact(price.get("unit_amount_decimal"), price.get("unit_amount"))


def packages(quantity: int, transform) -> int:
    """How many packages `quantity` units make under `transform_quantity`."""
    if not transform:
        return quantity
    rounding = ROUND_CEILING if transform.get("round") == "up" else ROUND_FLOOR
    divided = Decimal(quantity) / Decimal(int(transform["divide_by"]))
    return int(divided.to_integral_value(rounding=rounding))


def _tier_cost(tier, units: int) -> Decimal:
    rate = _exact(tier.get("unit_amount_decimal"), tier.get("unit_amount"))
    flat = _exact(tier.get("flat_amount_decimal"), tier.get("flat_amount"))
    return (rate or 0) * units + (flat or 0)


def tiered_amount(tiers, mode: str, quantity: int) -> int:
    """What `quantity` costs under `tiers` (the last one's `up_to` is None or "inf")."""
    bounds = [_upper_bound(tier) for tier in tiers]
    if mode == "volume":
        for tier, upper in zip(tiers, bounds, strict=True):
            if upper is None or quantity <= upper:
                return _round(_tier_cost(tier, quantity))
        return 0
    total, counted = Decimal(0), 0
    for tier, upper in zip(tiers, bounds, strict=True):
        if quantity <= counted:
            break
        reached = quantity if upper is None else min(quantity, upper)
        total += _tier_cost(tier, reached - counted)
        counted = reached
    return _round(total)


def _upper_bound(tier) -> int | None:
    upper = tier.get("up_to")
    return None if upper in (None, "inf") else int(upper)


def amount_for_quantity(price, quantity: int) -> int | None:
    """What `quantity` of the price costs for one period; None when it cannot be
    worked out (a tiered price without its tiers, a custom amount)."""
    kind = price_kind(price)
    if kind in (PriceKind.GRADUATED, PriceKind.VOLUME):
        tiers = price.get("tiers")
        if not tiers:
            return None
        return tiered_amount(tiers, price.get("tiers_mode") or "graduated", quantity)
    unit = unit_amount(price)
    if unit is None:
        return None
    return _round(unit * packages(quantity, price.get("transform_quantity")))


def starting_amount(price) -> int | None:
    """The least one can pay for the price: what a quantity of 1 costs."""
    return amount_for_quantity(price, 1)


# -- periods ------------------------------------------------------------------------


def billing_period(recurring) -> tuple[str, int]:
    """Stripe's `recurring` as (interval, interval_count)."""
    recurring = recurring or {}
    return recurring.get("interval") or "", int(recurring.get("interval_count") or 1)


def period_words(recurring) -> str:
    """The period in words: "month", "year", "3 months", "2 weeks"."""
    interval, count = billing_period(recurring)
    return interval if count == 1 else f"{count} {interval}s"


def per_period(recurring) -> str:
    """How an amount reads after it: "/ month", or "every 3 months"."""
    interval, count = billing_period(recurring)
    if not interval:
        return ""
    return f"/ {interval}" if count == 1 else f"every {period_words(recurring)}"


PERIODS_A_YEAR = {"day": 365, "week": 52, "month": 12, "year": 1}


def periods_a_year(recurring) -> Decimal | None:
    """How many periods of this price make a year (4 for every 3 months)."""
    interval, count = billing_period(recurring)
    if interval not in PERIODS_A_YEAR:
        return None
    return Decimal(PERIODS_A_YEAR[interval]) / count


# -- coupons ------------------------------------------------------------------------


def _percent(coupon) -> Decimal | None:
    value = coupon.get("percent_off")
    return None if value in (None, "") else Decimal(str(value))


def coupon_amount_label(coupon) -> str:
    """What a coupon takes off: "20% off", "12.5% off", "$5.00 off"."""
    percent = _percent(coupon)
    if percent is not None:
        return f"{percent.normalize():f}% off"
    return f"{format_amount(coupon.get('amount_off'), coupon.get('currency'))} off"


def coupon_duration_label(coupon) -> str:
    """How long a coupon applies: "once", "forever", "for 3 months"."""
    duration = coupon.get("duration")
    if duration == "repeating":
        months = int(coupon.get("duration_in_months") or 0)
        return f"for {months} month{'' if months == 1 else 's'}"
    return duration or ""


def coupon_label(coupon) -> str:
    """A coupon's terms: "20% off for 3 months", "$5.00 off once", "20% off forever"."""
    return f"{coupon_amount_label(coupon)} {coupon_duration_label(coupon)}".strip()


def coupon_takes_off(coupon, amount: int, currency: str, product_id=None) -> int:
    """What the coupon takes off `amount` (in `currency`) of `product_id`.

    A percentage of it, rounded half up; or `amount_off`, never more than the
    amount, and nothing in another currency. Nothing either for a product that
    the coupon's `applies_to` (when expanded) leaves out.
    """
    if amount <= 0:
        return 0
    products = (coupon.get("applies_to") or {}).get("products") or []
    if products and product_id not in products:
        return 0
    percent = _percent(coupon)
    if percent is not None:
        return _round(Decimal(amount) * percent / 100)
    if (coupon.get("currency") or "").lower() != (currency or "").lower():
        return 0
    return min(int(coupon.get("amount_off") or 0), amount)


def discounted_amount(amount: int, coupons, currency: str, product_id=None) -> int:
    """`amount` after each coupon in turn, each on what the ones before left."""
    for coupon in coupons:
        amount -= coupon_takes_off(coupon, amount, currency, product_id)
    return amount
