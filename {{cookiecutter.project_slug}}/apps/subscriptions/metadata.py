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
    """A billing interval the site can sell: `month` and `year` as Stripe names
    `recurring.interval`, `quarter` and `half_year` for prices billed every 3 or 6
    months (`interval=month`, `interval_count` 3 or 6)."""

    month = "month"
    year = "year"
    quarter = "quarter"
    half_year = "half_year"

    @property
    def label(self) -> str:
        return INTERVAL_LABELS[self.value]

    @property
    def recurring(self) -> tuple[str, int]:
        """Stripe's `recurring.interval` and `interval_count` of this interval."""
        return STRIPE_RECURRING[self.value]

    @property
    def months(self) -> int:
        """How many months one period lasts (12 for a year)."""
        interval, count = self.recurring
        return count * (12 if interval == "year" else 1)

    @property
    def every(self) -> str:
        """The period in words: "month", "year", "3 months"."""
        interval, count = self.recurring
        return interval if count == 1 else f"{count} {interval}s"

    @classmethod
    def of_price(cls, price_data) -> "PlanInterval | None":
        """The interval a recurring Stripe price bills at, if it is one of these."""
        if (price_data.get("type") or "recurring") != "recurring":
            return None
        recurring = price_data.get("recurring") or {}
        billed = (recurring.get("interval"), recurring.get("interval_count") or 1)
        return next((cls(v) for v, r in STRIPE_RECURRING.items() if r == billed), None)


INTERVAL_LABELS = {
    "month": "Monthly",
    "year": "Annual",
    "quarter": "Quarterly",
    "half_year": "Semi-annual",
}
STRIPE_RECURRING = {
    "month": ("month", 1),
    "year": ("year", 1),
    "quarter": ("month", 3),
    "half_year": ("month", 6),
}


class ProductKind(StrEnum):
    """What buying a product does: subscribe to a plan, pay once, or top up a wallet."""

    # A subscription plan: recurring prices, Checkout in subscription mode.
    plan = "plan"
    # A one-off purchase (a credit pack, a setup fee): a one-time price, Checkout in
    # payment mode; fulfilled by the site's `purchase_completed` receivers.
    one_time = "one_time"
    # A wallet top-up: a one-time price whose paid amount credits the customer's
    # Stripe balance, which the next invoices use.
    top_up = "top_up"


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

    `kind` (a `ProductKind`) is `plan` unless the product is bought once:
    `one_time` (its one-time price, on the pricing page's "One-off purchases") or
    `top_up` (the wallet's top-up: its one-time price is the unit of the amount
    chosen, e.g. $1.00). Only plans are subscribed to, gated on and offered in the
    customer portal.
    """

    stripe_id: str
    name: str
    slug: str = ""
    description: str = ""
    features: tuple[str, ...] = ()
    # Shown instead of the computed amount, by interval (e.g. "Talk to us").
    price_displays: dict[str, str] = field(default_factory=dict)
    is_default: bool = False
    quantity_adjustable: bool = False
    trial_days: int | None = None
    kind: str = ProductKind.plan

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
    ProductMetadata(
        stripe_id="prod_demo_credit_pack",
        slug="credit-pack",
        name="Credit pack",
        description="A one-off purchase: paid once, listed in your billing history.",
        kind=ProductKind.one_time,
    ),
    ProductMetadata(
        stripe_id="prod_demo_top_up",
        slug="wallet-top-up",
        name="Wallet top-up",
        description="Money on your account that the next invoices use first.",
        kind=ProductKind.top_up,
    ),
]

ACTIVE_PLAN_INTERVALS = [PlanInterval.month, PlanInterval.year]


def get_active_products() -> list[ProductMetadata]:
    """The subscription plans on sale (products of kind `plan`), read at call time so
    tests and settings can swap them."""
    return [p for p in ACTIVE_PRODUCTS if p.kind == ProductKind.plan]


def get_one_off_products() -> list[ProductMetadata]:
    """The products bought once: `one_time` purchases and the wallet's `top_up`."""
    return [p for p in ACTIVE_PRODUCTS if p.kind != ProductKind.plan]


def get_one_off_metadata(stripe_id: str) -> ProductMetadata | None:
    """The metadata of a product bought once by its Stripe id, or None."""
    return next((p for p in get_one_off_products() if p.stripe_id == stripe_id), None)


def get_active_plan_intervals() -> list[PlanInterval]:
    return [PlanInterval(interval) for interval in ACTIVE_PLAN_INTERVALS]


def get_product_metadata(stripe_id: str) -> ProductMetadata | None:
    """The metadata of an active product by its Stripe id, or None."""
    return next((p for p in get_active_products() if p.stripe_id == stripe_id), None)


def get_product_metadata_by_slug(slug: str) -> ProductMetadata | None:
    return next((p for p in get_active_products() if p.slug == slug), None)
