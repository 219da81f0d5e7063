"""The demo catalogue: three plans with monthly and annual prices, a credit pack and
the wallet's top-up (one-time prices), for a test account or the emulator, so a
fresh site has something to sell. Starter comes with a 14-day free trial, recorded
in its product's metadata (`trial_days`) so that the block `bootstrap_subscriptions`
prints carries it."""

from dataclasses import dataclass

import stripe
from django.conf import settings

from .catalogue import TRIAL_DAYS_METADATA_KEY
from .stripe_client import stripe_options


@dataclass(frozen=True)
class DemoTier:
    product_id: str
    name: str
    description: str
    features: tuple[str, ...]
    monthly: int  # in cents
    monthly_per_seat: int
    trial_days: int = 0


DEMO_TIERS = (
    DemoTier(
        "prod_demo_starter",
        "Starter",
        "Everything you need to get going.",
        ("Unlimited projects", "E-mail support"),
        monthly=1900,
        monthly_per_seat=800,
        trial_days=14,
    ),
    DemoTier(
        "prod_demo_pro",
        "Pro",
        "For businesses that rely on it every day.",
        ("Everything in Starter", "Pro reports", "Priority support"),
        monthly=4900,
        monthly_per_seat=1500,
    ),
    DemoTier(
        "prod_demo_business",
        "Business",
        "Controls and support for larger organisations.",
        ("Everything in Pro", "Audit log", "A named account manager"),
        monthly=9900,
        monthly_per_seat=3000,
    ),
)


@dataclass(frozen=True)
class DemoOneOff:
    """A product bought once: `unit_amount` is its price (a top-up's: per unit)."""

    product_id: str
    name: str
    description: str
    unit_amount: int  # in cents


# The one-off products of `metadata.ACTIVE_PRODUCTS`: a pack bought once, and the
# wallet's top-up, bought in units of $1.00.
DEMO_ONE_OFFS = (
    DemoOneOff(
        "prod_demo_credit_pack",
        "Credit pack",
        "A one-off purchase: paid once, listed in your billing history.",
        unit_amount=2500,
    ),
    DemoOneOff(
        "prod_demo_top_up",
        "Wallet top-up",
        "Money on your account that the next invoices use first.",
        unit_amount=100,
    ),
)


def product_trial_metadata(trial_days: int) -> dict:
    """The product metadata that `catalogue.active_products_block` reads the trial from."""
    return {TRIAL_DAYS_METADATA_KEY: str(trial_days)} if trial_days else {}


def _existing_prices_by_lookup_key(keys) -> dict[str, dict]:
    found = stripe.Price.list(lookup_keys=list(keys), limit=100, **stripe_options())
    return {price["lookup_key"]: price for price in found.auto_paging_iter()}


def _default_price_id(product) -> str | None:
    default = product["default_price"]
    return default if isinstance(default, str) or default is None else default["id"]


def create_demo_catalogue(currency: str = "usd") -> list[str]:
    """Create (or keep) three tiers with monthly and annual prices; their ids."""
    per_seat = settings.SUBSCRIPTIONS_PER_SEAT
    created = []
    for tier in DEMO_TIERS:
        try:
            product = stripe.Product.retrieve(tier.product_id, **stripe_options())
        except stripe.InvalidRequestError:
            product = stripe.Product.create(
                id=tier.product_id,
                name=tier.name,
                description=tier.description,
                marketing_features=[{"name": feature} for feature in tier.features],
                unit_label="seat" if per_seat else None,
                metadata=product_trial_metadata(tier.trial_days),
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
                    # A retried request creates one price, not two.
                    **stripe_options(
                        idempotency_key=f"demo-price-{key}-{amounts[interval]}-{currency}"
                    ),
                )
            # A second run writes nothing: the product keeps its default price.
            if interval == "month" and _default_price_id(product) != price["id"]:
                stripe.Product.modify(
                    tier.product_id, default_price=price["id"], **stripe_options()
                )
        created.append(tier.product_id)
    create_demo_promotion_code()
    created.extend(_create_one_offs(currency))
    return created


def _create_one_offs(currency: str) -> list[str]:
    """Create (or keep) the one-off products, each with its one-time price."""
    keys = {f"{item.product_id}_once": item for item in DEMO_ONE_OFFS}
    existing = _existing_prices_by_lookup_key(keys)
    for key, item in keys.items():
        try:
            stripe.Product.retrieve(item.product_id, **stripe_options())
        except stripe.InvalidRequestError:
            stripe.Product.create(
                id=item.product_id,
                name=item.name,
                description=item.description,
                **stripe_options(),
            )
        if key not in existing:
            price = stripe.Price.create(
                product=item.product_id,
                currency=currency,
                unit_amount=item.unit_amount,
                lookup_key=key,
                nickname=item.name,
                **stripe_options(
                    idempotency_key=f"demo-price-{key}-{item.unit_amount}-{currency}"
                ),
            )
            stripe.Product.modify(
                item.product_id, default_price=price["id"], **stripe_options()
            )
    return [item.product_id for item in DEMO_ONE_OFFS]


# The demo's promotion code, for Checkout's code field: 20% off three months.
DEMO_PROMOTION_CODE = "LAUNCH20"
DEMO_COUPON_ID = "demo_launch20"


def create_demo_promotion_code() -> str:
    """Create (or keep) the coupon "20% off for 3 months" and its code `LAUNCH20`;
    the promotion code's id."""
    try:
        stripe.Coupon.retrieve(DEMO_COUPON_ID, **stripe_options())
    except stripe.InvalidRequestError:
        stripe.Coupon.create(
            id=DEMO_COUPON_ID,
            name="Launch offer",
            percent_off=20,
            duration="repeating",
            duration_in_months=3,
            **stripe_options(),
        )
    listed = stripe.PromotionCode.list(
        code=DEMO_PROMOTION_CODE, active=True, limit=1, **stripe_options()
    )
    if listed.data:
        return listed.data[0]["id"]
    code = stripe.PromotionCode.create(
        promotion={"type": "coupon", "coupon": DEMO_COUPON_ID},
        code=DEMO_PROMOTION_CODE,
        **stripe_options(idempotency_key=f"demo-promotion-code-{DEMO_COUPON_ID}"),
    )
    return code["id"]
