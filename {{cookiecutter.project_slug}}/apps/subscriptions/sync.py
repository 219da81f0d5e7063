"""Seat sync: keeping the billed quantity on Stripe in step with `get_quantity()`.

A run compares every subscriber whose subscription counts as active with the local
dj-stripe rows: the quantity of the plan item against `get_quantity()`. Only those
that differ reach Stripe, with one write each; so a quantity changed anywhere
(seats here, the customer portal or the dashboard there) is put right, and a
subscriber in step costs no Stripe call.

No transaction is open and no row is locked while Stripe answers: a request that
changes the seats (an invitation accepted, a member removed) never waits on a sync.
Instead:

- The write carries an idempotency key made of the subscription, its recorded state
  version, the item, the quantity and `billing_details_last_changed`: a retry, or
  a second sync making the same change at once, is applied by Stripe once.
- Stripe's answer is the truth (the local rows may lag behind a lost webhook): it
  is applied as a webhook's would be. The seats are then counted again, and a
  change that landed while Stripe answered is written at once.
- `last_synced_with_stripe` records the `billing_details_last_changed` value the
  run compared, and only moves forward: a change made meanwhile stays pending.

`mark_billing_details_changed` has a sync of its subscriber queued once the change
commits (see `receivers.queue_seat_sync`), so seats reach Stripe within moments;
the scheduled run puts right whatever that missed.
"""

import contextlib
import enum
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

import stripe
from django.conf import settings
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone

from .lifecycle import idempotency_key
from .models import SubscriptionState
from .run_locks import run_lock
from .stripe_client import stripe_options
from .stripe_data import find_plan_item, is_active_status
from .subscribers import get_subscriber_model
from .transitions import apply_subscription

logger = logging.getLogger(__name__)

# Subscribers are read this many at a time, so memory stays flat at any scale.
CHUNK_SIZE = 500
# Names the run-wide lock of seat syncs (see `run_locks.run_lock`).
LOCK_NAME = "apps.subscriptions.sync_subscriptions"
# Writes for one subscriber in one go: a write, then one more for each change that
# lands while Stripe answers. Seats that keep changing are left for the next run.
MAX_WRITES = 3


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


# Sent by `mark_billing_details_changed` for a subscribed subscriber (per-seat
# billing), with `subscriber`: `receivers.queue_seat_sync` queues its sync.
seats_changed = Signal()


class SeatSyncDisabled(Exception):
    """Per-seat billing is off, so quantities stay as checkout set them."""


class _Skip(Exception):
    """Nothing to write for this subscriber now; the message says why."""


def subscribed_subscribers():
    """Subscribers whose subscription counts as active (by the local rows)."""
    return get_subscriber_model()._default_manager.filter(
        subscription__stripe_data__status__in=list(
            settings.SUBSCRIPTIONS_ACTIVE_STATUSES
        )
    )


def _pending_condition() -> Q:
    return Q(last_synced_with_stripe__isnull=True) | Q(
        billing_details_last_changed__gt=F("last_synced_with_stripe")
    )


def pending_subscribers():
    """Subscribed subscribers whose seats changed since their last sync."""
    return subscribed_subscribers().filter(_pending_condition())


def mark_billing_details_changed(subscriber) -> None:
    """Record that `subscriber.get_quantity()` may have changed, and queue its sync.

    Call it wherever something your `get_quantity()` counts is added or removed.
    The sync is queued once the current transaction commits (so it counts what
    was committed), and only for a subscriber with an active subscription.
    """
    now = timezone.now()
    model = subscriber._meta.model
    model._default_manager.filter(pk=subscriber.pk).update(
        billing_details_last_changed=now
    )
    subscriber.billing_details_last_changed = now
    if settings.SUBSCRIPTIONS_PER_SEAT and (
        subscribed_subscribers().filter(pk=subscriber.pk).exists()
    ):
        seats_changed.send(sender=model, subscriber=subscriber)


def _iter_subscribed(chunk_size: int) -> Iterator:
    """Subscribed subscribers by primary key, one chunk per query (keyset pagination)."""
    queryset = subscribed_subscribers().select_related("subscription").order_by("pk")
    last_pk = None
    while True:
        page = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
        chunk = list(page[:chunk_size])
        yield from chunk
        if len(chunk) < chunk_size:
            return
        last_pk = chunk[-1].pk


def _reload(subscriber):
    """The subscriber and its subscription as the database has them now."""
    found = (
        type(subscriber)
        ._default_manager.select_related("subscription")
        .filter(pk=subscriber.pk)
        .first()
    )
    if found is None:
        raise _Skip("deleted meanwhile")
    return found


def _plan_item(subscriber) -> dict:
    """The subscription's item billed per seat, from the local rows."""
    subscription = subscriber.subscription
    if subscription is None:
        raise _Skip("no subscription")
    status = subscription.stripe_data.get("status")
    if not is_active_status(status):
        raise _Skip(f"subscription {subscription.id} is {status}")
    item = find_plan_item(subscription.stripe_data)
    if item is None:
        raise _Skip(
            f"subscription {subscription.id} has no item of a price in ACTIVE_PRODUCTS"
        )
    return item


def _record_synced(subscriber, changed: datetime) -> None:
    """Record the subscriber in step with Stripe up to its change at `changed`.

    Only forward: a sync that compared an older change never undoes a newer record.
    """
    synced = subscriber.last_synced_with_stripe
    if synced is not None and synced >= changed:
        return
    type(subscriber)._default_manager.filter(pk=subscriber.pk).filter(
        Q(last_synced_with_stripe__isnull=True) | Q(last_synced_with_stripe__lt=changed)
    ).update(last_synced_with_stripe=changed)
    subscriber.last_synced_with_stripe = changed


def _write_quantity(subscriber, item: dict, quantity: int, changed: datetime) -> None:
    """Set the item's quantity on Stripe, then apply Stripe's answer locally."""
    subscription_id = subscriber.subscription.id
    key = idempotency_key(
        "seat-sync",
        subscription_id,
        item=item["id"],
        quantity=quantity,
        changed=changed.isoformat(),
    )
    try:
        data = stripe.Subscription.modify(
            subscription_id,
            items=[{"id": item["id"], "quantity": quantity}],
            proration_behavior=settings.SUBSCRIPTIONS_PRORATION_BEHAVIOR,
            **stripe_options(idempotency_key=key),
        )
    except stripe.APIError:
        # Stripe keeps a failed answer under its key for a day: move the state's
        # version on so that the next try is a new request, not the cached error.
        SubscriptionState.objects.filter(subscription_id=subscription_id).update(
            version=F("version") + 1
        )
        raise
    # As a webhook would: the dj-stripe rows, the link and the lifecycle signals.
    apply_subscription(data, subscriber=subscriber)


def _sync(subscriber, dry_run: bool) -> SubscriberResult:
    reloaded = False
    billed_before = None
    writes = 0
    while True:
        changed = subscriber.billing_details_last_changed
        quantity = subscriber.get_quantity()
        current = _plan_item(subscriber)["quantity"]
        if current == quantity:
            if not dry_run:
                _record_synced(subscriber, changed)
            if billed_before is None:
                return SubscriberResult(
                    subscriber, Outcome.UNCHANGED, f"{quantity} seats, as on Stripe"
                )
            return SubscriberResult(
                subscriber, Outcome.UPDATED, f"{billed_before} -> {quantity} seats"
            )
        if not reloaded:
            # A run's copy was read with its chunk, maybe a while ago (another sync
            # may have written since): compare the rows as they are now.
            subscriber, reloaded = _reload(subscriber), True
            continue
        if dry_run:
            return SubscriberResult(
                subscriber, Outcome.UPDATED, f"{current} -> {quantity} seats"
            )
        if writes == MAX_WRITES:
            raise _Skip(
                f"the seats kept changing ({quantity} now, {current} on Stripe); "
                "left for the next run"
            )
        if billed_before is None:
            billed_before = current
        _write_quantity(subscriber, _plan_item(subscriber), quantity, changed)
        writes += 1
        # Counted again: a change that landed while Stripe answered goes out now.
        subscriber.refresh_from_db(fields=["billing_details_last_changed"])


def sync_subscriber(subscriber, *, dry_run: bool = False) -> SubscriberResult:
    """Bring one subscriber's quantity on Stripe in line with `get_quantity()`.

    Errors are logged and reported as FAILED; the subscriber then stays as it was
    (pending, or differing), for the next run.
    """
    try:
        return _sync(subscriber, dry_run)
    except _Skip as exc:
        logger.warning("Seat sync skipped %s: %s", _label(subscriber), exc)
        return SubscriberResult(subscriber, Outcome.SKIPPED, str(exc))
    except stripe.StripeError as exc:
        logger.warning(
            "Seat sync failed for %s (Stripe said: %s); the next run tries again",
            _label(subscriber),
            exc.user_message or exc,
        )
        return SubscriberResult(subscriber, Outcome.FAILED, f"Stripe error: {exc}")
    except Exception as exc:
        logger.exception(
            "Seat sync failed for %s; the next run tries again", _label(subscriber)
        )
        return SubscriberResult(subscriber, Outcome.FAILED, f"error: {exc!r}")


def sync_one(pk) -> Outcome | None:
    """Sync the subscriber `pk` now, if it has an active subscription (the queued
    task after a seat change); its outcome, or None when there is nothing to sync."""
    if not settings.SUBSCRIPTIONS_PER_SEAT:
        return None
    subscriber = subscribed_subscribers().select_related("subscription").filter(pk=pk)
    subscriber = subscriber.first()
    if subscriber is None:
        return None
    return sync_subscriber(subscriber).outcome


def _label(subscriber) -> str:
    return f"{subscriber._meta.label_lower}:{subscriber.pk} ({subscriber})"


def sync_subscriptions(
    *,
    dry_run: bool = False,
    report: Callable[[SubscriberResult], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> SyncCounts:
    """Compare every subscribed subscriber with Stripe's quantity (as the local rows
    have it) and write the ones that differ; return the counts."""
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
        for subscriber in _iter_subscribed(chunk_size):
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
