"""Money arithmetic: what a quantity of a price costs, what a coupon takes off and
how that is spread over invoice lines, and how a customer's balance meets an invoice.

These are pure functions of numbers and price terms (no store), so each rule is
tested against figures worked out by hand. Amounts are integers in the currency's
minor unit; fractional results are rounded half up, as Stripe rounds them.
"""

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

JSON = dict[str, Any]


def round_half_up(value: Decimal) -> int:
    """The nearest integer, halves away from zero (Python's round() goes to even)."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def decimal_amount(exact: Any, whole: Any) -> Decimal:
    """A per-unit amount: its `*_decimal` string when set, else its integer."""
    if exact not in (None, ""):
        return Decimal(str(exact))
    return Decimal(int(whole or 0))


def transformed_quantity(quantity: int, transform: JSON | None) -> int:
    """The number of billed units for `quantity` under `transform_quantity`
    (package pricing: `divide_by` units make a package, rounded `up` or `down`)."""
    if not transform:
        return quantity
    packages = Decimal(quantity) / Decimal(transform["divide_by"])
    rounding = ROUND_CEILING if transform["round"] == "up" else ROUND_FLOOR
    return int(packages.to_integral_value(rounding=rounding))


def _tier_cost(tier: JSON, units: int) -> Decimal:
    unit = decimal_amount(tier.get("unit_amount_decimal"), tier.get("unit_amount"))
    flat = decimal_amount(tier.get("flat_amount_decimal"), tier.get("flat_amount"))
    return unit * units + flat


def tiered_amount(tiers: list[JSON], mode: str, quantity: int) -> int:
    """What `quantity` costs under tiers (`up_to` None is the last, unbounded tier).

    `volume`: every unit at the rate of the tier the whole quantity falls in, plus
    that tier's flat amount. `graduated`: each tier's units at its own rate, plus
    the flat amount of every tier the quantity reaches.
    """
    if mode == "volume":
        for tier in tiers:
            if tier["up_to"] is None or quantity <= tier["up_to"]:
                return round_half_up(_tier_cost(tier, quantity))
        return 0
    total, lower = Decimal(0), 0
    for tier in tiers:
        if quantity <= lower:
            break
        upper = quantity if tier["up_to"] is None else min(quantity, tier["up_to"])
        total += _tier_cost(tier, upper - lower)
        lower = upper
    return round_half_up(total)


def price_amount(price: JSON, tiers: list[JSON] | None, quantity: int) -> int:
    """What `quantity` units of a price cost for one period (or one purchase)."""
    if price["billing_scheme"] == "tiered":
        return tiered_amount(tiers or [], price["tiers_mode"], quantity)
    units = transformed_quantity(quantity, price.get("transform_quantity"))
    unit = decimal_amount(price.get("unit_amount_decimal"), price.get("unit_amount"))
    return round_half_up(unit * units)


def percent_of(amount: int, percent: Any) -> int:
    """`percent` per cent of `amount` (a coupon's `percent_off` may have decimals)."""
    return round_half_up(Decimal(amount) * Decimal(str(percent)) / 100)


def spread(total: int, weights: list[int]) -> list[int]:
    """Split `total` over `weights` in proportion, in whole units that add up to it
    (the remainder goes to the largest fractional shares, earlier ones first)."""
    whole = sum(weights)
    if not whole or not total:
        return [0] * len(weights)
    shares = [Decimal(total) * w / whole for w in weights]
    parts = [int(s.to_integral_value(rounding=ROUND_FLOOR)) for s in shares]
    left = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (parts[i] - shares[i], i))
    for index in order[:left]:
        parts[index] += 1
    return parts


def coupon_amounts(amounts: list[int], eligible: list[bool], coupon: JSON) -> list[int]:
    """What a coupon takes off each line: `percent_off` of each eligible line, or
    `amount_off` spread over the eligible lines in proportion to their amounts and
    never more than they come to. Credit lines (negative) are not discounted."""
    base = [a if ok and a > 0 else 0 for a, ok in zip(amounts, eligible, strict=True)]
    if coupon.get("percent_off") is not None:
        return [percent_of(amount, coupon["percent_off"]) for amount in base]
    return spread(min(int(coupon.get("amount_off") or 0), sum(base)), base)


def apply_balance(total: int, starting_balance: int) -> tuple[int, int]:
    """(amount due, ending balance) of an invoice of `total` for a customer whose
    balance is `starting_balance` (negative: a credit, used up first; positive: a
    debt, added). A negative total, or credit left over, stays on the balance."""
    amount_due = max(0, total + starting_balance)
    return amount_due, starting_balance + total - amount_due
