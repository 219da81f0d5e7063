"""Reads for pages and gates: local dj-stripe rows only, never Stripe itself."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from djstripe.models import PaymentMethod, Price

from .metadata import (
    PlanInterval,
    ProductMetadata,
    get_active_plan_intervals,
    get_active_products,
    get_product_metadata,
)
from .money import format_amount
from .stripe_data import active_product_ids, find_plan_item, is_active_status, stripe_id


def billed_quantity(subscriber) -> int:
    """The quantity a new or synced subscription bills: seats, or 1 for a flat price."""
    return subscriber.get_quantity() if settings.SUBSCRIPTIONS_PER_SEAT else 1


def subscription_plan(subscription) -> ProductMetadata | None:
    """The `ACTIVE_PRODUCTS` entry a subscription pays for (no query)."""
    if subscription is None:
        return None
    item = find_plan_item(subscription.stripe_data)
    if item is None:
        return None
    return get_product_metadata(stripe_id(item["price"].get("product")))


def active_plan_prices():
    """Active prices of the products in ACTIVE_PRODUCTS, with their product, one query."""
    return (
        Price.objects.filter(active=True, product__id__in=active_product_ids())
        .select_related("product")
        .order_by("-created", "-djstripe_id")
    )


@dataclass
class PriceOption:
    """One price of a plan, as the pricing page shows it."""

    interval: PlanInterval
    price_id: str = ""
    amount: str = ""
    total: str = ""
    per_seat: bool = False

    @property
    def available(self) -> bool:
        return bool(self.price_id)


@dataclass
class PlanChoice:
    """One plan of the pricing page, with its price for each active interval."""

    product: ProductMetadata
    options: list[PriceOption] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return any(option.available for option in self.options)


def _recurring_interval(price) -> str | None:
    recurring = price.stripe_data.get("recurring") or {}
    if price.stripe_data.get("type", "recurring") != "recurring":
        return None
    if (recurring.get("interval_count") or 1) != 1:
        return None
    return recurring.get("interval")


def _price_option(price, product, interval, quantity) -> PriceOption:
    per_seat = settings.SUBSCRIPTIONS_PER_SEAT
    display = product.price_displays.get(interval.value)
    unit_amount = price.stripe_data.get("unit_amount")
    if display or unit_amount is None:
        # Tiered and custom prices have no single unit amount to multiply.
        return PriceOption(
            price_id=price.id,
            interval=interval,
            amount=display or "Custom pricing",
            per_seat=per_seat,
        )
    amount = format_amount(unit_amount, price.currency)
    total = format_amount(unit_amount * quantity, price.currency) if per_seat else ""
    return PriceOption(
        price_id=price.id,
        interval=interval,
        amount=amount,
        total=total,
        per_seat=per_seat,
    )


def get_plan_choices(quantity: int = 1) -> list[PlanChoice]:
    """The plans of `ACTIVE_PRODUCTS` with their prices, in one query for any count."""
    intervals = get_active_plan_intervals()
    by_product: dict[str, dict[str, object]] = {}
    for price in active_plan_prices():
        interval = _recurring_interval(price)
        if interval not in intervals:
            continue
        interval = PlanInterval(interval)
        per_interval = by_product.setdefault(price.product_id, {})
        default_price = stripe_id(price.product.stripe_data.get("default_price"))
        # The product's default price wins; otherwise the newest price does.
        if interval not in per_interval or price.id == default_price:
            per_interval[interval] = price
    choices = []
    for product in get_active_products():
        prices = by_product.get(product.stripe_id, {})
        options = [
            _price_option(prices[interval], product, interval, quantity)
            if interval in prices
            else PriceOption(interval=interval)
            for interval in intervals
        ]
        choices.append(PlanChoice(product=product, options=options))
    return choices


def get_checkout_price(price_id: str | None) -> Price | None:
    """The active price of an `ACTIVE_PRODUCTS` product with this id, or None."""
    if not price_id or not isinstance(price_id, str):
        return None
    price = active_plan_prices().filter(id=price_id).first()
    if price is None or _recurring_interval(price) not in get_active_plan_intervals():
        return None
    return price


def _timestamp(value) -> datetime | None:
    if not value:
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


@dataclass
class SubscriptionSummary:
    """What the subscription page and the demo show about a current subscription."""

    plan: ProductMetadata | None
    plan_name: str
    status: str
    is_active: bool
    quantity: int
    amount: str
    interval: str
    current_period_end: datetime | None
    cancel_at_period_end: bool
    cancel_at: datetime | None
    payment_method: str


def _payment_method_summary(subscription) -> str:
    data = subscription.stripe_data
    payment_method_id = stripe_id(data.get("default_payment_method"))
    if payment_method_id is None:
        customer = subscription.customer
        payment_method_id = customer.default_payment_method_id if customer else None
    if payment_method_id is None:
        return ""
    payment_method = PaymentMethod.objects.filter(id=payment_method_id).first()
    if payment_method is None:
        return ""
    card = payment_method.stripe_data.get("card") or {}
    if card:
        brand = (card.get("brand") or "card").title()
        return f"{brand} ending {card.get('last4', '????')}"
    return payment_method.stripe_data.get("type", "").replace("_", " ")


def get_subscription_summary(subscriber) -> SubscriptionSummary | None:
    """A summary of the subscriber's linked subscription, or None."""
    subscription = subscriber.subscription
    if subscription is None:
        return None
    data = subscription.stripe_data
    item = find_plan_item(data) or {}
    price = item.get("price") or {}
    plan = subscription_plan(subscription)
    status = data.get("status", "")
    unit_amount = price.get("unit_amount")
    quantity = item.get("quantity") or 1
    amount = (
        format_amount(unit_amount * quantity, price.get("currency", "usd"))
        if unit_amount is not None
        else ""
    )
    period_end = item.get("current_period_end") or data.get("current_period_end")
    return SubscriptionSummary(
        plan=plan,
        plan_name=plan.name if plan else (price.get("nickname") or "Unknown plan"),
        status=status,
        is_active=is_active_status(status),
        quantity=quantity,
        amount=amount,
        interval=(price.get("recurring") or {}).get("interval", ""),
        current_period_end=_timestamp(period_end),
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        cancel_at=_timestamp(data.get("cancel_at")),
        payment_method=_payment_method_summary(subscription),
    )
