"""The Stripe catalogue: syncing products and prices, the demo catalogue, and
writing an `ACTIVE_PRODUCTS` block for `metadata.py`."""

from dataclasses import dataclass

import stripe
from django.conf import settings
from django.utils.text import slugify
from djstripe.models import Price, Product
from djstripe.settings import djstripe_settings

from .stripe_api import stripe_options


class StripeSetupError(Exception):
    """Stripe cannot be used as configured; the message says why, in one line."""


# Secret (sk_) and restricted (rk_) keys, in test or live mode.
SECRET_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")


def _key_setting() -> str:
    live = djstripe_settings.STRIPE_LIVE_MODE
    return "STRIPE_LIVE_SECRET_KEY" if live else "STRIPE_TEST_SECRET_KEY"


def configured_secret_key() -> str:
    """The secret key in use, after checking it is set and shaped like one."""
    key = djstripe_settings.STRIPE_SECRET_KEY
    if not key:
        raise StripeSetupError(
            f"No Stripe secret key: set {_key_setting()} in the environment."
        )
    if not key.startswith(SECRET_KEY_PREFIXES) or len(key) <= len("sk_test_"):
        raise StripeSetupError(
            f"{_key_setting()} does not look like a Stripe secret key "
            "(sk_test_... or sk_live_...)."
        )
    return key


def check_stripe_configuration() -> str:
    """The secret key in use, after checking it is set and Stripe accepts it."""
    key = configured_secret_key()
    try:
        stripe.Account.retrieve(**stripe_options())
    except stripe.AuthenticationError as error:
        message = _one_line(error.user_message or str(error))
        raise StripeSetupError(f"Stripe refused {_key_setting()}: {message}") from error
    return key


def _one_line(text: str) -> str:
    return " ".join(text.split())


def describe_stripe_error(error: stripe.StripeError) -> str:
    """One line about a failed Stripe call, for a command's error exit."""
    if isinstance(error, stripe.APIConnectionError):
        # stripe-python's own text spans several lines of support advice.
        return f"Could not reach Stripe at {stripe.api_base}."
    return f"Stripe error: {_one_line(error.user_message or str(error))}"


def is_live_key(key: str) -> bool:
    return djstripe_settings.STRIPE_LIVE_MODE or key.startswith(("sk_live", "rk_live"))


@dataclass(frozen=True)
class DemoTier:
    product_id: str
    name: str
    description: str
    features: tuple[str, ...]
    monthly: int  # in cents
    monthly_per_seat: int


DEMO_TIERS = (
    DemoTier(
        "prod_kit_starter",
        "Starter",
        "Everything a small team needs to get going.",
        ("Unlimited projects", "E-mail support"),
        monthly=1900,
        monthly_per_seat=800,
    ),
    DemoTier(
        "prod_kit_pro",
        "Pro",
        "For businesses that rely on it every day.",
        ("Everything in Starter", "Pro reports", "Priority support"),
        monthly=4900,
        monthly_per_seat=1500,
    ),
    DemoTier(
        "prod_kit_business",
        "Business",
        "Controls and support for larger organisations.",
        ("Everything in Pro", "Audit log", "A named account manager"),
        monthly=9900,
        monthly_per_seat=3000,
    ),
)


def _existing_prices_by_lookup_key(keys) -> dict[str, dict]:
    found = stripe.Price.list(lookup_keys=list(keys), limit=100, **stripe_options())
    return {price["lookup_key"]: price for price in found.auto_paging_iter()}


def create_demo_catalogue(currency: str = "usd") -> list[str]:
    """Create (or keep) three tiers with monthly and annual prices; their ids."""
    per_seat = settings.SUBSCRIPTIONS_PER_SEAT
    created = []
    for tier in DEMO_TIERS:
        try:
            stripe.Product.retrieve(tier.product_id, **stripe_options())
        except stripe.InvalidRequestError:
            stripe.Product.create(
                id=tier.product_id,
                name=tier.name,
                description=tier.description,
                marketing_features=[{"name": feature} for feature in tier.features],
                unit_label="seat" if per_seat else None,
                **stripe_options(),
            )
        monthly = tier.monthly_per_seat if per_seat else tier.monthly
        # Annual: two months free, the usual SaaS discount.
        amounts = {"month": monthly, "year": monthly * 10}
        keys = {
            f"{tier.product_id}_{interval}": interval for interval in ("month", "year")
        }
        existing = _existing_prices_by_lookup_key(keys)
        for key, interval in keys.items():
            price = existing.get(key)
            if price is None:
                price = stripe.Price.create(
                    product=tier.product_id,
                    currency=currency,
                    unit_amount=amounts[interval],
                    recurring={"interval": interval},
                    lookup_key=key,
                    nickname=f"{tier.name} {interval}ly",
                    **stripe_options(),
                )
            if interval == "month":
                stripe.Product.modify(
                    tier.product_id, default_price=price["id"], **stripe_options()
                )
        created.append(tier.product_id)
    return created


def sync_catalogue(write=lambda line: None) -> tuple[list, list]:
    """Sync every active product and price into dj-stripe, reporting each."""
    api_key = stripe_options()["api_key"]
    products, prices = [], []
    listing = stripe.Product.list(active=True, limit=100, **stripe_options())
    for data in listing.auto_paging_iter():
        product = Product.sync_from_stripe_data(data, api_key=api_key)
        products.append(product)
        write(f"Synchronized product {product.id} ({product.name})")
    listing = stripe.Price.list(active=True, limit=100, **stripe_options())
    for data in listing.auto_paging_iter():
        price = Price.sync_from_stripe_data(data, api_key=api_key)
        prices.append(price)
        write(f"Synchronized price {price.id} ({price.human_readable_price})")
    return products, prices


def _recurring_amount(price) -> int | None:
    recurring = price.stripe_data.get("recurring") or {}
    if not recurring or not price.active:
        return None
    amount = price.stripe_data.get("unit_amount") or 0
    return amount * 12 if recurring.get("interval") == "month" else amount


def _literal(value: str) -> str:
    """A Python string literal of `value`, in ASCII so no ruff rule sees look-alikes."""
    # ruff format's choice, made for each part of a concatenation: double quotes
    # unless single ones need fewer escapes.
    quote = "'" if value.count('"') > value.count("'") else '"'
    out = []
    for char in value:
        if char in ("\\", quote):
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return quote + "".join(out) + quote


def _string_lines(prefix: str, value: str, indent: int, suffix: str = ",") -> list:
    """`prefix"value",` on one line, or split in parentheses to stay under 88."""
    pad = " " * indent
    line = f"{pad}{prefix}{_literal(value)}{suffix}"
    if len(line) <= 88:
        return [line]
    width = 88 - indent - 8
    words, chunks, current = value.split(" "), [], ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if current and len(_literal(candidate + " ")) > width:
            chunks.append(current + " ")
            current = word
        else:
            current = candidate
    chunks.append(current)
    inner = " " * (indent + 4)
    return [
        f"{pad}{prefix}(",
        *(f"{inner}{_literal(chunk)}" for chunk in chunks),
        f"{pad}){suffix}",
    ]


def active_products_block(products, prices) -> str:
    """Python source of `ACTIVE_PRODUCTS` for products with active recurring prices.

    Cheapest first; the first is the default. Features come from the product's
    marketing features.
    """
    yearly_cost: dict[str, int] = {}
    for price in prices:
        amount = _recurring_amount(price)
        if amount is not None:
            current = yearly_cost.get(price.product_id)
            yearly_cost[price.product_id] = min(amount, current or amount)
    sellable = [p for p in products if p.active and p.id in yearly_cost]
    sellable.sort(key=lambda p: (yearly_cost[p.id], p.name))
    lines = ["ACTIVE_PRODUCTS = ["]
    slugs: set[str] = set()
    for index, product in enumerate(sellable):
        slug = slugify(product.name) or "plan"
        while slug in slugs:
            slug += "-2"
        slugs.add(slug)
        features = [
            feature["name"]
            for feature in product.stripe_data.get("marketing_features") or []
            if feature.get("name")
        ]
        lines.append("    ProductMetadata(")
        lines += _string_lines("stripe_id=", product.id, 8)
        lines += _string_lines("slug=", slug, 8)
        lines += _string_lines("name=", product.name, 8)
        lines += _string_lines("description=", product.description, 8)
        if features:
            lines.append("        features=(")
            for feature in features:
                lines += _string_lines("", feature, 12)
            lines.append("        ),")
        if index == 0:
            lines.append("        is_default=True,")
        lines.append("    ),")
    lines.append("]")
    return "\n".join(lines) + "\n"
