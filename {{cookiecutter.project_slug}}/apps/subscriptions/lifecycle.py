"""Managing a subscription from the site: cancel, undo, resume, change plan, end at,
apply a promotion code.

Plain functions for views, admin actions and commands. Each makes one write to
Stripe, then one local sync: `transitions.apply_subscription` with the subscription
Stripe answered, the same path a webhook takes, so each change is signalled once
whichever of the two records it first. The call to Stripe comes before any database
lock is taken.

Every update carries an idempotency key made of the operation, its parameters and
the subscription's local state version: two clicks on the same button, made from
the same state, are one change in Stripe; the same operation after the state moved
on (cancel, undo, cancel again) is a new request. Canceling now is a DELETE, which
is idempotent in Stripe without a key: a second one is refused and re-read.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import stripe
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from djstripe.models import PromotionCode

from .coupons import SUBSCRIPTION_EXPAND
from .discounts import promotion_code_by_code, promotion_codes_applied
from .models import SubscriptionState
from .selectors import get_checkout_price, live_subscriptions
from .stripe_client import api_key, stripe_options
from .stripe_data import billed_item, is_ended_status, scheduled_end, stripe_id
from .subscribers import subscriber_display_name
from .transitions import Change, apply_subscription, state_version

logger = logging.getLogger(__name__)


class LifecycleError(Exception):
    """The change cannot be made; the message says why, in one line."""


class NoSubscription(LifecycleError):
    """The subscriber has no subscription that has not ended."""


class NotPaused(LifecycleError):
    """Only a paused subscription (or paused collection) can be resumed."""


class NotSetToEnd(LifecycleError):
    """There is no scheduled end to undo."""


class PriceNotForSale(LifecycleError):
    """The price is not an active price of `ACTIVE_PRODUCTS` (see `get_checkout_price`)."""


class InvalidEndDate(LifecycleError):
    """An end date must be in the future."""


class InvalidPromotionCode(LifecycleError):
    """The code is unknown, inactive, expired, used up or not for this customer."""


def current_subscription(subscriber):
    """The subscriber's linked subscription, unless it has ended."""
    subscription = subscriber.subscription
    if subscription is None or is_ended_status(subscription.status):
        name = subscriber_display_name(subscriber) or str(subscriber)
        raise NoSubscription(f"{name} has no current subscription.")
    return subscription


def idempotency_key(operation: str, subscription_id: str, **params) -> str:
    """The key of one write: the same for the same change from the same state."""
    material = json.dumps(
        [operation, subscription_id, state_version(subscription_id), params],
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(material.encode()).hexdigest()[:32]
    return f"{operation}-{subscription_id}-{digest}"


def _write(subscriber, subscription_id: str, operation: str, call, **params) -> Change:
    """One write to Stripe (a POST, with its idempotency key), then its local sync."""
    key = idempotency_key(operation, subscription_id, **params)
    try:
        data = call(subscription_id, **params, **stripe_options(idempotency_key=key))
    except stripe.APIError:
        # Stripe keeps a failed answer under its key for a day: move the state's
        # version on so that trying again is a new request, not the cached error.
        SubscriptionState.objects.filter(subscription_id=subscription_id).update(
            version=F("version") + 1
        )
        raise
    return apply_subscription(data, subscriber=subscriber)


def cancel_now(subscriber) -> Change:
    """End the subscription at once (Stripe's cancel, without proration)."""
    subscription = current_subscription(subscriber)
    return _cancel(subscriber, subscription.id)


def _cancel(subscriber, subscription_id: str) -> Change:
    """Cancel now. A DELETE, which Stripe takes without an idempotency key: a second
    cancel is refused as already canceled, and that is recorded like the first."""
    try:
        data = stripe.Subscription.cancel(subscription_id, **stripe_options())
    except stripe.InvalidRequestError:
        # Already canceled in Stripe (a second click, or the local row lags): re-read.
        data = stripe.Subscription.retrieve(subscription_id, **stripe_options())
        if not is_ended_status(data.get("status")):
            raise
    return apply_subscription(data, subscriber=subscriber)


def cancel_at_period_end(subscriber) -> Change:
    """End the subscription when its paid period ends; it stays active until then."""
    subscription = current_subscription(subscriber)
    return _write(
        subscriber,
        subscription.id,
        "cancel-at-period-end",
        stripe.Subscription.modify,
        cancel_at_period_end=True,
    )


def end_at(subscriber, when: datetime) -> Change:
    """End the subscription at `when` (Stripe's `cancel_at`), an aware datetime."""
    subscription = current_subscription(subscriber)
    if when <= timezone.now():
        raise InvalidEndDate(f"The end date {when:%Y-%m-%d %H:%M} has passed.")
    return _write(
        subscriber,
        subscription.id,
        "end-at",
        stripe.Subscription.modify,
        cancel_at=int(when.timestamp()),
    )


def undo_cancellation(subscriber) -> Change:
    """Call off a scheduled end (at period end, or at a date): it renews again."""
    subscription = current_subscription(subscriber)
    data = subscription.stripe_data
    if data.get("cancel_at_period_end"):
        params = {"cancel_at_period_end": False}
    elif data.get("cancel_at"):
        params = {"cancel_at": ""}
    else:
        raise NotSetToEnd(f"Subscription {subscription.id} is not set to end.")
    return _write(
        subscriber,
        subscription.id,
        "undo-cancellation",
        stripe.Subscription.modify,
        **params,
    )


def resume(subscriber) -> Change:
    """Resume a paused subscription (status `paused`), or its paused collection."""
    subscription = current_subscription(subscriber)
    data = subscription.stripe_data
    if data.get("status") == "paused":
        return _write(subscriber, subscription.id, "resume", stripe.Subscription.resume)
    if data.get("pause_collection"):
        return _write(
            subscriber,
            subscription.id,
            "resume-collection",
            stripe.Subscription.modify,
            pause_collection="",
        )
    raise NotPaused(f"Subscription {subscription.id} is not paused.")


def change_plan(subscriber, price, proration_behavior: str | None = None) -> Change:
    """Move the subscription's billed item to `price` (a Price or its id), keeping
    its quantity; prorated as `SUBSCRIPTIONS_PRORATION_BEHAVIOR` unless told."""
    subscription = current_subscription(subscriber)
    price_id = price if isinstance(price, str) else getattr(price, "id", None)
    if get_checkout_price(price_id) is None:
        raise PriceNotForSale(f"Price {price_id} is not for sale.")
    item = billed_item(subscription.stripe_data)
    if item is None:
        raise NoSubscription(f"Subscription {subscription.id} bills no plan.")
    return _write(
        subscriber,
        subscription.id,
        "change-plan",
        stripe.Subscription.modify,
        items=[{"id": item["id"], "price": price_id}],
        proration_behavior=(
            proration_behavior or settings.SUBSCRIPTIONS_PRORATION_BEHAVIOR
        ),
    )


def _redeemable_promotion_code(code: str, now: datetime) -> dict:
    """The promotion code a customer typed, unless it plainly cannot be redeemed.

    Read from the local rows; one created in Stripe since the last webhook or
    refresh is looked up there (and stored). What only Stripe knows (redemptions
    left, the customer's history) Stripe checks when the code is applied.
    """
    if not code:
        raise InvalidPromotionCode("Enter a promotion code.")
    data = promotion_code_by_code(code)
    if data is None:
        listed = stripe.PromotionCode.list(code=code, limit=1, **stripe_options())
        if listed.data:
            data = PromotionCode.sync_from_stripe_data(
                listed.data[0], api_key=api_key()
            ).stripe_data
    if data is None:
        raise InvalidPromotionCode(f"{code} is not a valid promotion code.")
    name = data.get("code") or code
    expires_at = data.get("expires_at")
    if expires_at and expires_at <= now.timestamp():
        raise InvalidPromotionCode(f"{name} has expired.")
    if not data.get("active"):
        raise InvalidPromotionCode(f"{name} is no longer valid.")
    return data


def apply_promotion_code(subscriber, code: str) -> Change:
    """Apply a promotion code, as a customer types it, to the current subscription,
    beside the discounts it has. Stripe checks the code's terms (redemption limits,
    first-time customers, minimum amount); a code refused, here or there, raises
    `InvalidPromotionCode` saying why."""
    subscription = current_subscription(subscriber)
    code = (code or "").strip()
    promotion = _redeemable_promotion_code(code, timezone.now())
    if promotion["id"] in promotion_codes_applied(subscription):
        raise InvalidPromotionCode(f"{promotion['code']} is already applied.")
    discounts = subscription.stripe_data.get("discounts") or []
    kept = [{"discount": stripe_id(discount)} for discount in discounts]
    try:
        return _write(
            subscriber,
            subscription.id,
            "apply-promotion-code",
            stripe.Subscription.modify,
            discounts=[*kept, {"promotion_code": promotion["id"]}],
            expand=SUBSCRIPTION_EXPAND,
        )
    except stripe.InvalidRequestError as error:
        reason = error.user_message or str(error)
        raise InvalidPromotionCode(
            f"{promotion['code']} cannot be applied: {reason}"
        ) from error


def cancel_before_deletion(subscriber) -> list[Change]:
    """Cancel now every subscription of the subscriber that has not ended, so that
    none is left billing in Stripe once the subscriber is gone.

    Stripe's list of its customer's subscriptions comes first (one call, status
    all): a subscription whose webhooks never reached the site has no local row.
    The local rows add any live one of another customer of the subscriber.
    """
    ids = [subscription.id for subscription in live_subscriptions(subscriber)]
    if subscriber.customer_id is not None:
        listing = stripe.Subscription.list(
            customer=subscriber.customer.id, status="all", limit=100, **stripe_options()
        )
        for data in listing.auto_paging_iter():
            if not is_ended_status(data.get("status")) and data["id"] not in ids:
                ids.append(data["id"])
    return [_cancel(subscriber, subscription_id) for subscription_id in ids]


class EndOutcome(StrEnum):
    ENDED = "ended"
    WOULD_END = "would end"
    ALREADY_ENDED = "already ended"
    NOT_DUE = "no longer due"


@dataclass
class EndResult:
    subscription_id: str
    outcome: EndOutcome
    ended_at: int | None = None


def end_overdue_subscription(subscription_id: str, now: datetime, *, dry_run=False):
    """End one subscription whose end date has passed but that Stripe still bills.

    It is re-read from Stripe first: canceled there already, or no longer set to
    end by now, it is only synced (nothing at all with `dry_run`). Safe to run
    again at any time.
    """
    data = stripe.Subscription.retrieve(subscription_id, **stripe_options())
    ends = scheduled_end(data)
    if is_ended_status(data.get("status")):
        outcome = EndOutcome.ALREADY_ENDED
    elif ends is None or ends > now.timestamp():
        outcome = EndOutcome.NOT_DUE
    else:
        outcome = EndOutcome.WOULD_END if dry_run else EndOutcome.ENDED
    if dry_run:
        return EndResult(subscription_id, outcome, ends)
    if outcome is not EndOutcome.ENDED:
        # The local rows lagged behind Stripe: bring them in step.
        apply_subscription(data)
        return EndResult(subscription_id, outcome, ends)
    _cancel(None, subscription_id)
    return EndResult(subscription_id, EndOutcome.ENDED, ends)
