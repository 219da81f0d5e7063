"""The Stripe catalogue: syncing products and prices into dj-stripe, and writing the
`ACTIVE_PRODUCTS` block of `metadata.py` for them."""

import stripe
from django.utils.text import slugify
from djstripe.models import Price, Product

from .metadata import get_active_products
from .price_math import periods_a_year, starting_amount
from .stripe_client import api_key, stripe_options

# A product's metadata key for the days of free trial its block entry offers.
TRIAL_DAYS_METADATA_KEY = "trial_days"


def sync_catalogue(write=lambda line: None) -> tuple[list, list]:
    """Sync every active product and price into dj-stripe, reporting each."""
    products, prices = [], []
    listing = stripe.Product.list(active=True, limit=100, **stripe_options())
    for data in listing.auto_paging_iter():
        product = Product.sync_from_stripe_data(data, api_key=api_key())
        products.append(product)
        write(f"Synchronized product {product.id} ({product.name})")
    listing = stripe.Price.list(active=True, limit=100, **stripe_options())
    for data in listing.auto_paging_iter():
        price = Price.sync_from_stripe_data(data, api_key=api_key())
        prices.append(price)
        write(f"Synchronized price {price.id} ({price.human_readable_price})")
    return products, prices


def active_products_in_stripe() -> list[str]:
    """The ids of the products of `ACTIVE_PRODUCTS` that Stripe has."""
    ids = [product.stripe_id for product in get_active_products()]
    if not ids:
        return []
    found = stripe.Product.list(ids=ids, limit=100, **stripe_options())
    return [product["id"] for product in found.data]


def are_synced(product_ids) -> bool:
    """Whether every one of these products has its local dj-stripe row."""
    return Product.objects.filter(id__in=product_ids).count() == len(set(product_ids))


def retire_missing_prices(product_ids, listed_price_ids) -> int:
    """Mark inactive the local prices of these products that Stripe did not list as
    active; how many.

    For a Stripe emulator that lost its state and got a new catalogue: the local
    rows of its old prices would otherwise stay on sale.
    """
    retired = 0
    stale = Price.objects.filter(active=True, product__id__in=product_ids).exclude(
        id__in=listed_price_ids
    )
    for price in stale:
        price.active = False
        price.stripe_data = {**price.stripe_data, "active": False}
        price.save(update_fields=["active", "stripe_data"])
        retired += 1
    return retired


def _yearly_amount(price) -> int | None:
    """What a year of one seat costs (package and tiered prices too, every 3
    months four times), to order the plans by."""
    periods = periods_a_year(price.stripe_data.get("recurring"))
    if periods is None or not price.active:
        return None
    return int(periods * (starting_amount(price.stripe_data) or 0))


def _literal(value: str) -> str:
    """A Python string literal of `value` in ASCII, so no lint rule sees look-alikes.

    Double quotes unless the value holds more of them than single ones: the quote
    ruff format keeps.
    """
    quote = "'" if value.count('"') > value.count("'") else '"'
    escaped = value.encode("unicode_escape").decode("ascii")
    return quote + escaped.replace(quote, "\\" + quote) + quote


def _trial_days(product) -> int:
    """The positive whole number of days in the product's `trial_days` metadata, or 0."""
    value = str(
        (product.stripe_data.get("metadata") or {}).get(TRIAL_DAYS_METADATA_KEY)
    )
    return int(value) if value.isdigit() else 0


def active_products_block(products, prices) -> str:
    """Python source of `ACTIVE_PRODUCTS` for products with active recurring prices.

    Cheapest first; the first is the default. Features come from the product's
    marketing features. One argument per line, each list item on its own line, so
    the block needs no reformatting however long the names are. A product whose
    metadata has `trial_days` gets that free trial.
    """
    yearly_cost: dict[str, int] = {}
    for price in prices:
        amount = _yearly_amount(price)
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
        lines.append(f"        stripe_id={_literal(product.id)},")
        lines.append(f"        slug={_literal(slug)},")
        lines.append(f"        name={_literal(product.name)},")
        lines.append(f"        description={_literal(product.description or '')},")
        if features:
            lines.append("        features=(")
            lines += [f"            {_literal(feature)}," for feature in features]
            lines.append("        ),")
        if index == 0:
            lines.append("        is_default=True,")
        if trial_days := _trial_days(product):
            lines.append(f"        trial_days={trial_days},")
        lines.append("    ),")
    lines.append("]")
    return "\n".join(lines) + "\n"
