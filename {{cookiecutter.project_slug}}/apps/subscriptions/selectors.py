"""Reads for pages and gates: local dj-stripe rows only, never Stripe itself."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, Subquery
from django.utils import timezone
from django.utils.timesince import timeuntil
from djstripe.models import Customer, PaymentMethod, Price, Subscription

# The billing history formats its invoices' discounts with the two re-exported here.
from .discounts import DiscountSummary, subscription_discounts
from .discounts import discount_label as discount_label
from .discounts import invoice_discounts as invoice_discounts
from .metadata import (
    PlanInterval,
    ProductMetadata,
    get_active_plan_intervals,
    get_active_products,
    get_product_metadata,
)
from .money import format_amount
from .price_math import (
    PriceKind,
    amount_for_quantity,
    discounted_amount,
    per_period,
    price_kind,
    starting_amount,
    unit_amount,
)
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
    """Active prices of the products in ACTIVE_PRODUCTS, with their product, one query.

    A product archived in Stripe sells none of its prices, active or not.
    """
    return (
        Price.objects.filter(
            active=True, product__active=True, product__id__in=active_product_ids()
        )
        .select_related("product")
        .order_by("-created", "-djstripe_id")
    )


@dataclass
class PriceOption:
    """One price of a plan, as the pricing page shows it.

    `amount` is the headline ("$8.00", "$50.00" a package, "From $10.00" tiered, or
    the product's `price_displays` text, then `custom`), `unit_label` what it buys
    ("per seat", "per 10 seats"), `period` how often ("/ month", "every 3 months"),
    `total` what the current quantity costs (per seat). `action` words its button
    for the subscriber who sees it ("Subscribe to Pro", "Switch to Pro");
    `is_current` marks the price the subscriber pays now.
    """

    interval: PlanInterval
    price_id: str = ""
    amount: str = ""
    total: str = ""
    per_seat: bool = False
    saving: str = ""
    action: str = ""
    is_current: bool = False
    unit_label: str = ""
    period: str = ""
    custom: bool = False
    # For the savings: the unit amount (per-unit prices), what the quantity costs
    # for one period, and the currency.
    unit_amount: int | None = field(default=None, repr=False)
    currency: str = field(default="", repr=False)
    quantity_amount: int | None = field(default=None, repr=False)

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


def _recurring_interval(price) -> PlanInterval | None:
    """The `PlanInterval` a price bills at (None for one-off or other periods)."""
    return PlanInterval.of_price(price.stripe_data)


def _unit_noun(price, count: int) -> str:
    """What the quantity counts: the product's `unit_label`, or seats, or units."""
    product = getattr(price, "product", None)
    label = (product.stripe_data.get("unit_label") if product else None) or (
        "seat" if settings.SUBSCRIPTIONS_PER_SEAT else "unit"
    )
    return label if count == 1 else f"{label}s"


def _price_option(price, product, interval, quantity) -> PriceOption:
    data = price.stripe_data
    option = PriceOption(
        price_id=price.id,
        interval=interval,
        per_seat=settings.SUBSCRIPTIONS_PER_SEAT,
        period=per_period(data.get("recurring")),
        currency=price.currency,
    )
    display = product.price_displays.get(interval.value)
    total = amount_for_quantity(data, quantity)
    if display or total is None:
        option.amount, option.custom = display or "Custom pricing", True
        return option
    option.quantity_amount = total
    kind = price_kind(data)
    if kind is PriceKind.PER_UNIT:
        option.unit_amount = int(unit_amount(data))
        option.amount = format_amount(option.unit_amount, price.currency)
        option.unit_label = "per seat" if option.per_seat else ""
    elif kind is PriceKind.PACKAGE:
        size = int(data["transform_quantity"]["divide_by"])
        option.amount = format_amount(int(unit_amount(data)), price.currency)
        option.unit_label = f"per {size} {_unit_noun(price, size)}"
    else:
        option.amount = f"From {format_amount(starting_amount(data), price.currency)}"
    if option.per_seat:
        option.total = format_amount(total, price.currency)
    return option


def period_saving(monthly: PriceOption, longer: PriceOption, months: int) -> str:
    """What paying every `months` months saves against paying monthly, or "".

    "2 months free" when the saving is a whole number of months, else "Save 17%".
    Compared for the same quantity (seats), whatever kind of price each is.
    """
    monthly_amount = _comparable_amount(monthly)
    longer_amount = _comparable_amount(longer)
    if monthly_amount is None or longer_amount is None:
        return ""
    if not monthly_amount or monthly.currency != longer.currency:
        return ""
    saved = months * monthly_amount - longer_amount
    if saved <= 0:
        return ""
    free, rest = divmod(saved, monthly_amount)
    if not rest:
        return f"{free} month{'s' if free > 1 else ''} free"
    percent = round(100 * saved / (months * monthly_amount))
    return f"Save {percent}%" if percent >= 1 else ""


def _comparable_amount(option: PriceOption) -> int | None:
    if option.quantity_amount is not None:
        return option.quantity_amount
    return option.unit_amount


def annual_saving(monthly: PriceOption, annual: PriceOption) -> str:
    """What paying yearly saves against twelve monthly payments, or "" if nothing."""
    return period_saving(monthly, annual, 12)


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
        monthly = options.get(PlanInterval.month)
        for interval, option in options.items():
            if monthly and interval.months > 1:
                option.saving = period_saving(monthly, option, interval.months)
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
    # Stripe's `pause_collection`: its behavior ("" while collecting), and when
    # collection resumes by itself (None: when resumed). The status stays active.
    pause_collection: str = ""
    collection_resumes_at: datetime | None = None
    # How often it bills ("/ month", "every 3 months"), and the `PlanInterval`
    # value of its price ("" for a period the site does not sell).
    period: str = ""
    plan_interval: str = ""
    # The discounts that apply, and the amount once they are taken off ("" when
    # nothing comes off the next invoice).
    discounts: list[DiscountSummary] = field(default_factory=list)
    discounted_amount: str = ""

    @property
    def payment_overdue(self) -> bool:
        """A payment failed and is still owed (past_due or unpaid)."""
        return is_owing_status(self.status)

    @property
    def trialing(self) -> bool:
        return self.status == "trialing"

    @property
    def paused(self) -> bool:
        """Stripe paused it (a trial ended without a card): no access, no billing."""
        return self.status == "paused"

    @property
    def resumable(self) -> bool:
        """Paused, or its collection paused: the site's resume action applies."""
        return self.paused or bool(self.pause_collection)

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


def _tiered_price_data(price: dict) -> dict:
    """A subscription item's price, with its tiers from the local Price row when it
    is tiered (a subscription's prices come without them): one query then."""
    if price.get("billing_scheme") != "tiered" or price.get("tiers"):
        return price
    stored = Price.objects.filter(id=price.get("id")).values_list("stripe_data")[:1]
    return next((data for (data,) in stored), price)


def _discounted(amount, price, discounts) -> int | None:
    """What the next invoice takes for `amount` of `price` after the discounts that
    still apply (a used `once` discount does not); None when none applies."""
    coupons = [d.coupon for d in discounts if d.coupon and not d.used]
    if amount is None or not coupons:
        return None
    product_id = stripe_id(price.get("product"))
    after = discounted_amount(amount, coupons, price.get("currency", ""), product_id)
    return after if after != amount else None


def get_subscription_summary(subscriber) -> SubscriptionSummary | None:
    """A summary of the subscriber's linked subscription, or None."""
    subscription = subscriber.subscription
    if subscription is None:
        return None
    data = subscription.stripe_data
    item = find_plan_item(data) or {}
    price = _tiered_price_data(item.get("price") or {})
    plan = subscription_plan(subscription)
    status = data.get("status", "")
    quantity = item.get("quantity") or 1
    currency = price.get("currency", "usd")
    total = amount_for_quantity(price, quantity)
    amount = format_amount(total, currency) if total is not None else ""
    discounts = subscription_discounts(subscription, timezone.now())
    after = _discounted(total, price, discounts)
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
        pause_collection=(data.get("pause_collection") or {}).get("behavior") or "",
        collection_resumes_at=_timestamp(
            (data.get("pause_collection") or {}).get("resumes_at")
        ),
        period=per_period(price.get("recurring")),
        plan_interval=PlanInterval.of_price(price) or "",
        discounts=discounts,
        discounted_amount=format_amount(after, currency) if after is not None else "",
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
