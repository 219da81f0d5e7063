"""Reading Stripe-shaped data: a dj-stripe row's `stripe_data`, or Stripe's own answer.

Plain functions with no queries and no calls to Stripe, shared by the pages, the
gates and the services.
"""

from datetime import UTC, datetime, timedelta

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


# Subscription statuses after which Stripe bills nothing more: the end of the line.
ENDED_STATUSES = ("canceled", "incomplete_expired")


def is_ended_status(status: str | None) -> bool:
    return status in ENDED_STATUSES


# Subscription statuses of a payment that failed and is still owed: past_due while
# Stripe retries, unpaid once it gave up. The subscription stays linked meanwhile.
OWING_STATUSES = ("past_due", "unpaid")


def is_owing_status(status: str | None) -> bool:
    return status in OWING_STATUSES


def is_current_status(status: str | None) -> bool:
    """Whether a subscription in this status is still the subscriber's: paid for,
    owed for, or paused (Stripe keeps it, to be resumed rather than bought again)."""
    return is_active_status(status) or is_owing_status(status) or status == "paused"


def billed_item(subscription_data) -> dict | None:
    """The item a subscription bills its plan by: the `ACTIVE_PRODUCTS` one, else the
    first (a product taken off sale still names the plan the subscriber pays)."""
    items = (subscription_data.get("items") or {}).get("data") or []
    return find_plan_item(subscription_data) or (items[0] if items else None)


def current_period_end(subscription_data) -> int | None:
    """When the current period ends (a timestamp): the billed item's, or the
    subscription's own in API versions that still have it there."""
    item = billed_item(subscription_data) or {}
    return item.get("current_period_end") or subscription_data.get("current_period_end")


def current_period_start(subscription_data) -> int | None:
    """When the current period started (a timestamp), read as `current_period_end`."""
    item = billed_item(subscription_data) or {}
    return item.get("current_period_start") or subscription_data.get(
        "current_period_start"
    )


def grace_period_end(subscription_data) -> datetime | None:
    """Until when a past_due subscription still grants access, or None when it is
    not past_due or the start of its period is unknown.

    The grace period (`SUBSCRIPTIONS_GRACE_PERIOD_DAYS`) runs from the first failed
    attempt to pay. Stripe opens a renewal's period and makes the first attempt on
    its invoice at the same moment (a trial's end too), so the billed item's
    `current_period_start` is that attempt, read from the local row with no query.
    An invoice raised mid-period (an upgrade billed at once) that fails counts
    from the start of the period, so its grace ends sooner: exact would be the
    first attempt on the subscription's `latest_invoice`, one more query on every
    gated page.
    """
    if subscription_data.get("status") != "past_due":
        return None
    started = current_period_start(subscription_data)
    if not started:
        return None
    days = timedelta(days=settings.SUBSCRIPTIONS_GRACE_PERIOD_DAYS)
    return datetime.fromtimestamp(int(started), tz=UTC) + days


def grants_access(subscription_data, now: datetime) -> bool:
    """Whether a subscription opens the gates at `now`.

    Its status must count as active (`SUBSCRIPTIONS_ACTIVE_STATUSES`); past_due
    counts only within the grace period, so a site that leaves past_due out of the
    setting closes the gates at the first failed payment. With the start of the
    period unknown (an older API shape), a past_due subscription keeps access
    rather than lose it on missing data.
    """
    if not is_active_status(subscription_data.get("status")):
        return False
    grace_end = grace_period_end(subscription_data)
    return grace_end is None or now < grace_end


def scheduled_end(subscription_data) -> int | None:
    """When a subscription set to end will end (a timestamp), or None if it renews."""
    if subscription_data.get("cancel_at"):
        return int(subscription_data["cancel_at"])
    if subscription_data.get("cancel_at_period_end"):
        return current_period_end(subscription_data)
    return None


def invoice_subscription_id(invoice_data) -> str | None:
    """The subscription an invoice bills, in the current API shape or the older one."""
    parent = invoice_data.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return stripe_id(details.get("subscription")) or stripe_id(
        invoice_data.get("subscription")
    )
