"""Seat sync: keeping the billed quantity on Stripe in step with `get_quantity()`.

A subscriber is pending when its subscription counts as active and
`billing_details_last_changed` is later than `last_synced_with_stripe` (or it was
never synced). `sync_subscriptions` claims each pending subscriber with a
conditional UPDATE that records the `billing_details_last_changed` value it read,
then talks to Stripe inside that transaction: a failure rolls the claim back (still
pending), and a change that lands meanwhile moves `billing_details_last_changed`
past the recorded value (still pending for the next run).
"""

import contextlib
import enum
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

import stripe
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from djstripe.models import Subscription

from .run_locks import run_lock
from .stripe_client import api_key, stripe_options
from .stripe_data import find_plan_item, is_active_status
from .subscribers import get_subscriber_model

logger = logging.getLogger(__name__)

# Pending subscribers are read this many at a time, so memory stays flat at any scale.
CHUNK_SIZE = 500
# Names the run-wide lock of seat syncs (see `run_locks.run_lock`).
LOCK_NAME = "apps.subscriptions.sync_subscriptions"


class Outcome(enum.StrEnum):
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class SubscriberResult:
    """What a run did for one subscriber, for progress lines."""

    subscriber: object
    outcome: Outcome
    detail: str


@dataclass
class SyncCounts:
    checked: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    # True when another run held the lock, so this one did nothing.
    locked_out: bool = False

    def add(self, outcome: Outcome) -> None:
        self.checked += 1
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def as_dict(self) -> dict:
        return asdict(self)


class SeatSyncDisabled(Exception):
    """Per-seat billing is off, so quantities stay as checkout set them."""


class _KeepPending(Exception):
    """Roll the claim back: the subscriber stays pending for the next run."""

    def __init__(self, outcome: Outcome, detail: str):
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


def mark_billing_details_changed(subscriber) -> None:
    """Record that `subscriber.get_quantity()` may have changed, for the next sync.

    Call it wherever something your `get_quantity()` counts is added or removed.
    """
    now = timezone.now()
    subscriber._meta.model._default_manager.filter(pk=subscriber.pk).update(
        billing_details_last_changed=now
    )
    subscriber.billing_details_last_changed = now


def _pending_condition() -> Q:
    return Q(last_synced_with_stripe__isnull=True) | Q(
        billing_details_last_changed__gt=F("last_synced_with_stripe")
    )


def pending_subscribers():
    """Subscribers with an active subscription whose quantity may differ on Stripe."""
    return (
        get_subscriber_model()
        ._default_manager.filter(
            subscription__stripe_data__status__in=list(
                settings.SUBSCRIPTIONS_ACTIVE_STATUSES
            )
        )
        .filter(_pending_condition())
    )


def _iter_pending(chunk_size: int) -> Iterator:
    """Pending subscribers by primary key, one chunk per query (keyset pagination)."""
    queryset = (
        pending_subscribers()
        .select_related("subscription")
        .defer("subscription__stripe_data")
        .order_by("pk")
    )
    last_pk = None
    while True:
        page = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
        chunk = list(page[:chunk_size])
        yield from chunk
        if len(chunk) < chunk_size:
            return
        last_pk = chunk[-1].pk


def _claim(subscriber, changed: datetime) -> bool:
    """Mark one subscriber synced up to `changed`, unless another run got there first.

    Must run inside the transaction that talks to Stripe: the row stays locked until
    it commits, and a rollback leaves the subscriber pending.
    """
    queryset = subscriber._meta.default_manager.filter(
        _pending_condition(), pk=subscriber.pk, billing_details_last_changed=changed
    )
    # Where the database can, a row another run is working on is skipped, not
    # waited for.
    if (
        connection.features.has_select_for_update_skip_locked
        and not queryset.select_for_update(skip_locked=True).exists()
    ):
        return False
    return queryset.update(last_synced_with_stripe=changed) == 1


def _push_quantity(subscriber, changed: datetime, *, dry_run: bool) -> SubscriberResult:
    """Compare one subscriber's quantity with Stripe's and write it if it differs."""
    subscription = subscriber.subscription
    quantity = subscriber.get_quantity()
    stripe_subscription = stripe.Subscription.retrieve(
        subscription.id, **stripe_options()
    )
    status = stripe_subscription["status"]
    if not is_active_status(status):
        if not dry_run:
            Subscription.sync_from_stripe_data(stripe_subscription, api_key=api_key())
        return SubscriberResult(
            subscriber, Outcome.SKIPPED, f"subscription {subscription.id} is {status}"
        )
    item = find_plan_item(stripe_subscription)
    if item is None:
        raise _KeepPending(
            Outcome.SKIPPED,
            f"subscription {subscription.id} has no item of a price in ACTIVE_PRODUCTS",
        )
    current = item["quantity"]
    if current == quantity:
        if not dry_run:
            Subscription.sync_from_stripe_data(stripe_subscription, api_key=api_key())
        return SubscriberResult(
            subscriber, Outcome.UNCHANGED, f"{quantity} seats, as on Stripe"
        )
    if not dry_run:
        updated = stripe.Subscription.modify(
            subscription.id,
            items=[{"id": item["id"], "quantity": quantity}],
            proration_behavior=settings.SUBSCRIPTIONS_PRORATION_BEHAVIOR,
            # A retry of this same change (same item, quantity and change time) is
            # applied once by Stripe.
            idempotency_key=(
                f"seat-sync:{item['id']}:{quantity}:{changed.isoformat()}"
            ),
            **stripe_options(),
        )
        Subscription.sync_from_stripe_data(updated, api_key=api_key())
    return SubscriberResult(
        subscriber, Outcome.UPDATED, f"{current} -> {quantity} seats"
    )


def sync_subscriber(subscriber, *, dry_run: bool = False) -> SubscriberResult:
    """Bring one pending subscriber's quantity on Stripe in line with `get_quantity()`.

    Errors are logged and reported as FAILED; the subscriber then stays pending.
    """
    changed = subscriber.billing_details_last_changed
    try:
        if dry_run:
            return _push_quantity(subscriber, changed, dry_run=True)
        with transaction.atomic():
            if not _claim(subscriber, changed):
                return SubscriberResult(
                    subscriber,
                    Outcome.SKIPPED,
                    "changed again or taken by another run; left for the next run",
                )
            return _push_quantity(subscriber, changed, dry_run=False)
    except _KeepPending as exc:
        logger.warning("Seat sync skipped %s: %s", _label(subscriber), exc.detail)
        return SubscriberResult(subscriber, exc.outcome, exc.detail)
    except stripe.StripeError as exc:
        logger.warning(
            "Seat sync failed for %s (Stripe said: %s); it stays pending",
            _label(subscriber),
            exc.user_message or exc,
        )
        return SubscriberResult(subscriber, Outcome.FAILED, f"Stripe error: {exc}")
    except Exception as exc:
        logger.exception(
            "Seat sync failed for %s; it stays pending", _label(subscriber)
        )
        return SubscriberResult(subscriber, Outcome.FAILED, f"error: {exc!r}")


def _label(subscriber) -> str:
    return f"{subscriber._meta.label_lower}:{subscriber.pk} ({subscriber})"


def sync_subscriptions(
    *,
    dry_run: bool = False,
    report: Callable[[SubscriberResult], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> SyncCounts:
    """Push the seat count of every pending subscriber to Stripe; return the counts."""
    if not settings.SUBSCRIPTIONS_PER_SEAT:
        raise SeatSyncDisabled(
            "Per-seat billing is off (SUBSCRIPTIONS_PER_SEAT=False): nothing to sync."
        )
    counts = SyncCounts()
    lock = contextlib.nullcontext(True) if dry_run else run_lock(LOCK_NAME)
    with lock as acquired:
        if not acquired:
            logger.info("Seat sync skipped: another run holds the lock")
            counts.locked_out = True
            return counts
        for subscriber in _iter_pending(chunk_size):
            result = sync_subscriber(subscriber, dry_run=dry_run)
            counts.add(result.outcome)
            if report is not None:
                report(result)
    logger.info(
        "Seat sync%s: %s",
        " (dry run)" if dry_run else "",
        ", ".join(f"{k}={v}" for k, v in counts.as_dict().items() if k != "locked_out"),
    )
    return counts
