"""The demo catalogue: three plans with monthly and annual prices, for a test account
or the emulator, so a fresh site has something to sell."""

from dataclasses import dataclass

import stripe
from django.conf import settings

from .stripe_client import stripe_options


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
        "prod_demo_starter",
        "Starter",
        "Everything you need to get going.",
        ("Unlimited projects", "E-mail support"),
        monthly=1900,
        monthly_per_seat=800,
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
