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
