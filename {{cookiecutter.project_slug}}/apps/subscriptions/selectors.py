"""Reads for pages and gates: local dj-stripe rows only, never Stripe itself."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, Subquery
from django.utils import timezone
from django.utils.timesince import timeuntil
from djstripe.models import Customer, PaymentMethod, Price, Subscription

from .metadata import (
    PlanInterval,
    ProductMetadata,
    get_active_plan_intervals,
    get_active_products,
    get_product_metadata,
)
from .money import format_amount
from .stripe_data import (
    ENDED_STATUSES,
    OWING_STATUSES,
    active_product_ids,
    find_plan_item,
    grace_period_end,
    grants_access,
    is_active_status,
    is_owing_status,
    scheduled_end,
    stripe_id,
)
from .subscribers import subscriber_reverse


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
    """One price of a plan, as the pricing page shows it.

    `action` words its button for the subscriber who sees it ("Subscribe to Pro",
    "Switch to Pro"); `is_current` marks the price the subscriber pays now.
    """

    interval: PlanInterval
    price_id: str = ""
    amount: str = ""
    total: str = ""
    per_seat: bool = False
    saving: str = ""
    action: str = ""
    is_current: bool = False
    # For the annual saving: the unit amount and currency, when the price has one.
    unit_amount: int | None = field(default=None, repr=False)
    currency: str = field(default="", repr=False)

    @property
    def available(self) -> bool:
        return bool(self.price_id)


@dataclass
class PlanChoice:
    """One plan of the pricing page, with its price for each active interval.

    `trial_days` is the free trial the viewer would start with (0: none).
    """

    product: ProductMetadata
    options: list[PriceOption] = field(default_factory=list)
    trial_days: int = 0

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
        unit_amount=unit_amount,
        currency=price.currency,
    )


def annual_saving(monthly: PriceOption, annual: PriceOption) -> str:
    """What paying yearly saves against twelve monthly payments, or "" if nothing.

    "2 months free" when the saving is a whole number of months, else "Save 17%".
    """
    if monthly.unit_amount is None or annual.unit_amount is None:
        return ""
    if not monthly.unit_amount or monthly.currency != annual.currency:
        return ""
    saved = 12 * monthly.unit_amount - annual.unit_amount
    if saved <= 0:
        return ""
    months, rest = divmod(saved, monthly.unit_amount)
    if not rest:
        return f"{months} month{'s' if months > 1 else ''} free"
    percent = round(100 * saved / (12 * monthly.unit_amount))
    return f"Save {percent}%" if percent >= 1 else ""


def _action(product: ProductMetadata, option: PriceOption, current, trial) -> str:
    if current is None:
        return "Start free trial" if trial else f"Subscribe to {product.name}"
    if current.plan is not None and current.plan.stripe_id == product.stripe_id:
        return f"Switch to {option.interval.label.lower()} billing"
    return f"Switch to {product.name}"


def get_plan_choices(
    quantity: int = 1, current=None, with_trial: bool = False
) -> list[PlanChoice]:
    """The plans of `ACTIVE_PRODUCTS` with their prices, in one query for any count.

    `current` is the subscriber's `SubscriptionSummary` when it already has a plan:
    its price is marked current and the other buttons offer a switch. With
    `with_trial` (the viewer can still get a trial, see `trial_available`), plans
    with a free trial say so.
    """
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
        options = {
            interval: _price_option(prices[interval], product, interval, quantity)
            if interval in prices
            else PriceOption(interval=interval)
            for interval in intervals
        }
        trial_days = product.trial_period_days if with_trial and not current else 0
        for option in options.values():
            option.action = _action(product, option, current, trial_days > 0)
            option.is_current = bool(
                current and option.price_id and option.price_id == current.price_id
            )
        monthly, annual = (
            options.get(PlanInterval.month),
            options.get(PlanInterval.year),
        )
        if monthly and annual:
            annual.saving = annual_saving(monthly, annual)
        choices.append(
            PlanChoice(
                product=product,
                options=list(options.values()),
                trial_days=max(trial_days, 0),
            )
        )
    return choices


def trial_available(subscriber) -> bool:
    """Whether the subscriber can still start a free trial: it never had a
    subscription, by the local rows of any of its customers (one query)."""
    condition = Q(customer__subscriber=subscriber.pk)
    if subscriber.customer_id is not None:
        condition |= Q(customer__pk=subscriber.customer_id)
    return not Subscription.objects.filter(condition).exists()


def get_checkout_price(price_id: str | None) -> Price | None:
    """The active price of an `ACTIVE_PRODUCTS` product with this id, or None."""
    if not price_id or not isinstance(price_id, str):
        return None
    price = active_plan_prices().filter(id=price_id).first()
    if price is None or _recurring_interval(price) not in get_active_plan_intervals():
        return None
    return price


def prices_for_sale() -> list[Price]:
    """Every price `get_checkout_price` accepts, by product then interval."""
    intervals = get_active_plan_intervals()
    order = {
        product.stripe_id: index for index, product in enumerate(get_active_products())
    }
    prices = [p for p in active_plan_prices() if _recurring_interval(p) in intervals]
    return sorted(
        prices,
        key=lambda p: (order[p.product_id], intervals.index(_recurring_interval(p))),
    )


def _timestamp(value) -> datetime | None:
    if not value:
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


# How the pages name Stripe's subscription statuses.
STATUS_LABELS = {
    "active": "Active",
    "trialing": "Trial",
    "past_due": "Past due",
    "unpaid": "Unpaid",
    "paused": "Paused",
    "incomplete": "Incomplete",
    "incomplete_expired": "Expired",
    "canceled": "Ended",
}


@dataclass
class SubscriptionSummary:
    """What the subscription page and the demo show about a current subscription."""

    plan: ProductMetadata | None
    plan_name: str
    price_id: str
    status: str
    is_active: bool
    quantity: int
    amount: str
    interval: str
    current_period_end: datetime | None
    cancel_at_period_end: bool
    cancel_at: datetime | None
    payment_method: str
    trial_end: datetime | None = None
    # Whether it opens the gates now (`is_active` reads the status alone).
    has_access: bool = False

    @property
    def payment_overdue(self) -> bool:
        """A payment failed and is still owed (past_due or unpaid)."""
        return is_owing_status(self.status)

    @property
    def trialing(self) -> bool:
        return self.status == "trialing"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(
            self.status, self.status.replace("_", " ").capitalize()
        )

    @property
    def ends(self) -> bool:
        """Whether the subscription is set to end rather than renew."""
        return self.cancel_at_period_end or self.cancel_at is not None

    @property
    def ends_on(self) -> datetime | None:
        return self.cancel_at or self.current_period_end


def payment_method_summary(subscription) -> str:
    """The card the subscription is charged to: its own, else its customer's default.

    The customer's default is read from its row in the same query, not from the
    subscription's cached customer: linking syncs the customer (with its new card)
    after the subscription was loaded.
    """
    payment_method_id = stripe_id(
        subscription.stripe_data.get("default_payment_method")
    )
    if payment_method_id is not None:
        payment_methods = PaymentMethod.objects.filter(id=payment_method_id)
    else:
        customer_default = Customer.objects.filter(id=subscription.customer_id).values(
            "default_payment_method_id"
        )[:1]
        payment_methods = PaymentMethod.objects.filter(id=Subquery(customer_default))
    payment_method = payment_methods.first()
    if payment_method is None:
        return ""
    card = payment_method.stripe_data.get("card") or {}
    if card:
        brand = (card.get("brand") or "card").title()
        return f"{brand} ending {card.get('last4', '????')}"
    return payment_method.stripe_data.get("type", "").replace("_", " ")


def _plan_name(subscription, price) -> str:
    plan = subscription_plan(subscription)
    return plan.name if plan else (price.get("nickname") or "")


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
        plan_name=_plan_name(subscription, price) or "Unknown plan",
        price_id=price.get("id") or "",
        status=status,
        is_active=is_active_status(status),
        quantity=quantity,
        amount=amount,
        interval=(price.get("recurring") or {}).get("interval", ""),
        current_period_end=_timestamp(period_end),
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        cancel_at=_timestamp(data.get("cancel_at")),
        payment_method=payment_method_summary(subscription),
        trial_end=_timestamp(data.get("trial_end")) if status == "trialing" else None,
        has_access=grants_access(data, timezone.now()),
    )


@dataclass
class EndedSubscription:
    """The subscriber's last subscription, once it has ended."""

    plan_name: str
    ended_at: datetime | None


def get_ended_subscription(subscriber) -> EndedSubscription | None:
    """The subscriber's newest subscription if it has ended (canceled), else None.

    One query, on the dj-stripe rows of the subscriber's customer: the
    `customer.subscription.deleted` webhook syncs the ended subscription there
    before it unlinks the subscriber.
    """
    if subscriber.customer_id is None:
        return None
    latest = (
        Subscription.objects.filter(customer__pk=subscriber.customer_id)
        .order_by(F("created").desc(nulls_last=True), "-djstripe_id")
        .first()
    )
    if latest is None or latest.stripe_data.get("status") != "canceled":
        return None
    data = latest.stripe_data
    price = (find_plan_item(data) or {}).get("price") or {}
    return EndedSubscription(
        plan_name=_plan_name(latest, price),
        ended_at=_timestamp(data.get("ended_at") or data.get("canceled_at")),
    )


@dataclass
class PendingSeats:
    """Seats counted now, against those Stripe bills until the next seat sync."""

    seats: int
    billed: int
    sync_within: str


def get_pending_seats(subscriber, summary) -> PendingSeats | None:
    """Seat changes that have not reached Stripe yet (per-seat billing), or None.

    Pending as in `sync.pending_subscribers()`: the billing details changed after
    the last sync (or it was never synced), and the seats counted now differ from
    the quantity of the subscription's plan item in the local rows.
    """
    if not settings.SUBSCRIPTIONS_PER_SEAT or summary is None or not summary.is_active:
        return None
    synced = subscriber.last_synced_with_stripe
    if synced is not None and subscriber.billing_details_last_changed <= synced:
        return None
    seats = subscriber.get_quantity()
    if seats == summary.quantity:
        return None
    now = timezone.now()
    interval = timedelta(seconds=settings.SUBSCRIPTIONS_SYNC_INTERVAL)
    return PendingSeats(
        seats=seats, billed=summary.quantity, sync_within=timeuntil(now + interval, now)
    )


def live_subscriptions(subscriber) -> list[Subscription]:
    """The subscriber's subscriptions that have not ended, by the local rows: the
    linked one and any other of its customer."""
    condition = Q(pk=subscriber.subscription_id)
    if subscriber.customer_id is not None:
        condition |= Q(customer__djstripe_id=subscriber.customer_id)
    return list(
        Subscription.objects.filter(condition)
        .exclude(stripe_data__status__in=list(ENDED_STATUSES))
        .order_by("djstripe_id")
    )


def subscriptions_past_their_end(now: datetime) -> list[Subscription]:
    """Subscriptions whose scheduled end (`cancel_at`, or the period end with
    `cancel_at_period_end`) has passed by the local rows, yet not ended there."""
    moment = int(now.timestamp())
    # cancel_at__gt=0 leaves out JSON nulls, which PostgreSQL sorts below numbers.
    candidates = (
        Subscription.objects.exclude(stripe_data__status__in=list(ENDED_STATUSES))
        .filter(
            Q(stripe_data__cancel_at_period_end=True)
            | Q(stripe_data__cancel_at__gt=0, stripe_data__cancel_at__lte=moment)
        )
        .order_by("djstripe_id")
    )
    return [
        subscription
        for subscription in candidates.iterator()
        if (ends := scheduled_end(subscription.stripe_data)) and ends <= moment
    ]


@dataclass(frozen=True)
class BillingAlert:
    """A payment the subscriber owes, for the banner on each of its pages.

    `kind` is the subscription's status (past_due or unpaid); `access_open` says
    whether the gates still open (a past_due subscription within its grace period),
    and `access_ends` until when; `url` is the page that opens Stripe's portal to
    update the card, which pays what is owed.
    """

    kind: str
    url: str
    access_open: bool = False
    access_ends: datetime | None = None


def _owing_subscription_data(subscriber) -> dict | None:
    """The `stripe_data` of the subscriber's linked subscription if it is past_due
    or unpaid: no query when the row is loaded already, else one by primary key."""
    if subscriber.subscription_id is None:
        return None
    if subscriber._meta.model.subscription.is_cached(subscriber):
        subscription = subscriber.subscription
        data = subscription.stripe_data if subscription is not None else {}
        return data if is_owing_status(data.get("status")) else None
    return (
        Subscription.objects.filter(
            pk=subscriber.subscription_id,
            stripe_data__status__in=list(OWING_STATUSES),
        )
        .values_list("stripe_data", flat=True)
        .first()
    )


def billing_alert(subscriber) -> BillingAlert | None:
    """The banner the subscriber's pages show while a payment is owed, or None.

    At most one small query (none without a linked subscription): context
    processors call it on every page.
    """
    if subscriber is None:
        return None
    data = _owing_subscription_data(subscriber)
    if data is None:
        return None
    return BillingAlert(
        kind=data["status"],
        url=subscriber_reverse("update_card", subscriber),
        access_open=grants_access(data, timezone.now()),
        access_ends=grace_period_end(data),
    )
