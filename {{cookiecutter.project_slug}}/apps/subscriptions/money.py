"""Formatting Stripe amounts (integers in the currency's minor unit) for people."""

from decimal import Decimal

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)

CURRENCY_SYMBOLS = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "inr": "₹",
    "cad": "CA$",
    "aud": "A$",
}


def format_amount(minor_units: int | None, currency: str) -> str:
    """`1250, "usd"` -> `$12.50`; `1250, "chf"` -> `12.50 CHF`."""
    currency = (currency or "").lower()
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    value = Decimal(minor_units or 0) / (10**places)
    text = f"{value:,.{places}f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def decimal_places(currency: str) -> int:
    """How many decimals the currency's major unit has: 2, or 0 for "jpy" and the like."""
    return 0 if (currency or "").lower() in ZERO_DECIMAL_CURRENCIES else 2


def to_minor_units(value: Decimal, currency: str) -> int | None:
    """`Decimal("12.50"), "usd"` -> `1250`; None when the value has finer decimals
    than the currency (12.505 dollars)."""
    minor = value * (10 ** decimal_places(currency))
    return int(minor) if minor == minor.to_integral_value() else None
