"""Reading Stripe-shaped data: a dj-stripe row's `stripe_data`, or Stripe's own answer.

Plain functions with no queries and no calls to Stripe, shared by the pages, the
gates and the services.
"""

from django.conf import settings

from .metadata import get_active_products


def stripe_id(value) -> str | None:
    """The id of a Stripe reference that may be an id or an expanded object."""
    if isinstance(value, str):
        return value or None
    # A dict from JSON, or a StripeObject (not a dict since stripe-python 15).
    return value.get("id") if value is not None else None


def is_active_status(status: str | None) -> bool:
    """Whether a subscription in this status counts as paid for."""
    return status in settings.SUBSCRIPTIONS_ACTIVE_STATUSES


def active_product_ids() -> list[str]:
    """The Stripe ids of the products in `ACTIVE_PRODUCTS`."""
    return [product.stripe_id for product in get_active_products()]


def find_plan_item(subscription_data) -> dict | None:
    """The item of a subscription whose price belongs to a product of ACTIVE_PRODUCTS."""
    product_ids = set(active_product_ids())
    for item in (subscription_data.get("items") or {}).get("data") or []:
        price = item.get("price") or {}
        if stripe_id(price.get("product")) in product_ids:
            return item
    return None
