"""The plans this site sells: display data laid over the dj-stripe Product and Price rows.

Stripe holds the prices; this module says which Stripe products are on sale here, in
what order, and how to describe them. `manage.py bootstrap_subscriptions` prints a
ready-to-paste `ACTIVE_PRODUCTS` block for the products of your Stripe account.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.utils.text import slugify


class PlanInterval(StrEnum):
    """A billing interval, named as Stripe names `recurring.interval`."""

    month = "month"
    year = "year"

    @property
    def label(self) -> str:
        return {"month": "Monthly", "year": "Annual"}[self.value]


@dataclass(frozen=True, kw_only=True)
class ProductMetadata:
    """How one Stripe product is shown and gated on this site.

    `slug` names the plan in `limit_to_plans=[...]`; without one, it is derived from
    the name ("Pro Plus" -> "pro-plus").

    `quantity_adjustable` lets customers change the quantity of this plan themselves
    in Stripe's customer portal (e.g. licences bought in bulk). It applies to
    flat-price sites only: when billing per seat, the quantity is the seat count
    (`get_quantity()`), which the site keeps in step with Stripe, so the portal
    never offers it. Run `manage.py configure_billing_portal` after changing it.

    `trial_days` is the free trial a new subscriber of this plan gets at Checkout:
    0 for none, None (the default) for `SUBSCRIPTIONS_TRIAL_DAYS`.
    """

    stripe_id: str
    name: str
    slug: str = ""
    description: str = ""
    features: tuple[str, ...] = ()
    # Shown instead of a computed amount, by interval, e.g. for tiered prices.
    price_displays: dict[str, str] = field(default_factory=dict)
    is_default: bool = False
    quantity_adjustable: bool = False
    trial_days: int | None = None

    def __post_init__(self):
        if not self.slug:
            # A frozen dataclass sets its own fields through object.__setattr__.
            object.__setattr__(self, "slug", slugify(self.name) or self.stripe_id)

    @property
    def trial_period_days(self) -> int:
        """The days of free trial this plan starts with (0: none)."""
        if self.trial_days is not None:
            return self.trial_days
        return settings.SUBSCRIPTIONS_TRIAL_DAYS


# The demo catalogue (`bootstrap_subscriptions --create-demo-products`) creates
# products with these ids, so a fresh site works with the emulator as it stands.
ACTIVE_PRODUCTS = [
    ProductMetadata(
        stripe_id="prod_demo_starter",
        slug="starter",
        name="Starter",
        description="Everything you need to get going.",
        features=("Unlimited projects", "E-mail support"),
        is_default=True,
        trial_days=14,
    ),
    ProductMetadata(
        stripe_id="prod_demo_pro",
        slug="pro",
        name="Pro",
        description="For businesses that rely on it every day.",
        features=("Everything in Starter", "Pro reports", "Priority support"),
    ),
    ProductMetadata(
        stripe_id="prod_demo_business",
        slug="business",
        name="Business",
        description="Controls and support for larger organisations.",
        features=("Everything in Pro", "Audit log", "A named account manager"),
    ),
]

ACTIVE_PLAN_INTERVALS = [PlanInterval.month, PlanInterval.year]


def get_active_products() -> list[ProductMetadata]:
    """The products on sale, read at call time so tests and settings can swap them."""
    return list(ACTIVE_PRODUCTS)


def get_active_plan_intervals() -> list[PlanInterval]:
    return [PlanInterval(interval) for interval in ACTIVE_PLAN_INTERVALS]


def get_product_metadata(stripe_id: str) -> ProductMetadata | None:
    """The metadata of an active product by its Stripe id, or None."""
    return next((p for p in get_active_products() if p.stripe_id == stripe_id), None)


def get_product_metadata_by_slug(slug: str) -> ProductMetadata | None:
    return next((p for p in get_active_products() if p.slug == slug), None)
