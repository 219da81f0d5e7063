"""System checks: `ACTIVE_PRODUCTS` must name products that can be sold."""

from django.core import checks
from django.db import DatabaseError

from .metadata import get_active_plan_intervals, get_active_products


def _synced_products(product_ids):
    from djstripe.models import Price, Product

    products = {p.id: p for p in Product.objects.filter(id__in=product_ids)}
    intervals: dict[str, set[str]] = {product_id: set() for product_id in product_ids}
    for price in Price.objects.filter(active=True, product__id__in=product_ids):
        recurring = price.stripe_data.get("recurring") or {}
        if recurring.get("interval"):
            intervals[price.product_id].add(recurring["interval"])
    return products, intervals


@checks.register("subscriptions")
def check_active_products(app_configs=None, **kwargs):
    """Warn about `ACTIVE_PRODUCTS` entries that are not synced or have no price."""
    products = get_active_products()
    product_ids = [product.stripe_id for product in products]
    try:
        synced, intervals = _synced_products(product_ids)
    except DatabaseError:
        # Tables not migrated yet: nothing to compare against.
        return []
    messages = []
    for product in products:
        if product.stripe_id not in synced:
            messages.append(
                checks.Warning(
                    f"ACTIVE_PRODUCTS names {product.stripe_id} ({product.slug}), "
                    "which is not synced from Stripe.",
                    hint="Run `manage.py bootstrap_subscriptions` (with "
                    "--create-demo-products against the emulator), or fix the id "
                    "in apps/subscriptions/metadata.py.",
                    id="subscriptions.W001",
                )
            )
            continue
        for interval in get_active_plan_intervals():
            if interval.value not in intervals[product.stripe_id]:
                messages.append(
                    checks.Warning(
                        f"Product {product.stripe_id} ({product.slug}) has no active "
                        f"recurring price billed every {interval.value}.",
                        hint="Add the price in Stripe and run "
                        "`manage.py bootstrap_subscriptions`, or remove the interval "
                        "from ACTIVE_PLAN_INTERVALS.",
                        id="subscriptions.W002",
                    )
                )
    return messages
