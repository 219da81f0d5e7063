"""Applying a Stripe subscription to the site: where its changes become signals.

`apply_subscription(subscription)` mirrors a Stripe subscription (object or id) into
dj-stripe, keeps its subscriber's `subscription` link right (linked while it counts
as active, unlinked once it ended) and compares it with the state the site last
recorded for it (`SubscriptionState`). The signals of what differs are queued for
after commit, and the new state is recorded, in one transaction under the
subscriber's lock. Whoever sees a change first (a webhook, the site's own write,
Checkout's return, a later poll) records it; the others find nothing new, so each
change is signalled once and a redelivered event changes nothing.

The state is the site's own record, not dj-stripe's Subscription row: dj-stripe
rewrites that row from every webhook before the site's handlers run.
"""

import contextlib
import logging
import threading
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

import stripe
from django.db import connection, transaction
from djstripe.models import Customer, PaymentMethod, Subscription

from . import signals
from .coupons import SUBSCRIPTION_EXPAND, store_discounts
from .metadata import get_product_metadata
from .models import SubscriptionState
from .stripe_client import api_key, stripe_options
from .stripe_data import (
    billed_item,
    is_active_status,
    is_current_status,
    is_ended_status,
    scheduled_end,
    stripe_id,
)
from .subscribers import find_subscriber

logger = logging.getLogger(__name__)

TRIAL_WILL_END = "customer.subscription.trial_will_end"


def timestamp_to_datetime(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


@dataclass(frozen=True)
class Snapshot:
    """The parts of a subscription whose changes the site signals."""

    status: str = ""
    price_id: str = ""
    product_id: str = ""
    quantity: int | None = None
    cancel_at_period_end: bool = False
    cancel_at: datetime | None = None
    pause_collection: str = ""

    @classmethod
    def of(cls, data) -> "Snapshot":
        """The snapshot of a Stripe-shaped subscription."""
        item = billed_item(data) or {}
        price = item.get("price") or {}
        if isinstance(price, str):
            price = {"id": price}
        pause = data.get("pause_collection") or {}
        return cls(
            status=data.get("status") or "",
            price_id=stripe_id(price) or "",
            product_id=stripe_id(price.get("product")) or "",
            quantity=item.get("quantity"),
            cancel_at_period_end=bool(data.get("cancel_at_period_end")),
            cancel_at=timestamp_to_datetime(data.get("cancel_at")),
            pause_collection=pause.get("behavior") or "",
        )

    @property
    def paused(self) -> bool:
        return self.status == "paused" or bool(self.pause_collection)

    @property
    def end(self):
        """What the scheduled end is: a date, "period_end", or None (it renews)."""
        if self.cancel_at is not None:
            return self.cancel_at
        return "period_end" if self.cancel_at_period_end else None

    def attributes(self) -> dict:
        """The snapshot by Stripe's field names, as `previous_attributes` has them."""
        return {
            "status": self.status,
            "price": self.price_id,
            "quantity": self.quantity,
            "cancel_at_period_end": self.cancel_at_period_end,
            "cancel_at": int(self.cancel_at.timestamp()) if self.cancel_at else None,
            "pause_collection": (
                {"behavior": self.pause_collection} if self.pause_collection else None
            ),
        }


def previous_attributes(before: Snapshot, after: Snapshot) -> dict:
    """The values of `before` that `after` changed, as Stripe's `previous_attributes`."""
    new = after.attributes()
    return {key: old for key, old in before.attributes().items() if new[key] != old}


SNAPSHOT_FIELDS = [f.name for f in fields(Snapshot)]


def _recorded(state: SubscriptionState) -> Snapshot | None:
    if not state.status:
        return None
    return Snapshot(**{name: getattr(state, name) for name in SNAPSHOT_FIELDS})


def _record(state: SubscriptionState, snapshot: Snapshot) -> None:
    for name in SNAPSHOT_FIELDS:
        setattr(state, name, getattr(snapshot, name))


@dataclass
class Change:
    """What `apply_subscription` saw and did.

    `before` is None the first time the site sees the subscription; `sent` names the
    signals queued (sent once the transaction commits). `subscriber` is None for a
    subscription of a customer the site does not know: then nothing is recorded.
    """

    subscription: Subscription
    subscriber: object | None
    before: Snapshot | None
    after: Snapshot
    sent: list[str] = field(default_factory=list)
    linked: bool = False
    unlinked: bool = False
    # The subscription the subscriber already has, when this one is a second one
    # (not linked, nothing recorded; `duplicates.settle_duplicate` ends it).
    duplicate_of: Subscription | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after


# The signal of each status a subscription moves into (paused has its own rule).
STATUS_SIGNALS = {
    "active": "subscription_activated",
    "past_due": "subscription_past_due",
    "unpaid": "subscription_unpaid",
    "canceled": "subscription_canceled",
    "incomplete_expired": "subscription_expired",
}


def transition_signals(
    before: Snapshot | None, after: Snapshot, data
) -> list[tuple[str, dict]]:
    """The signals (name, extra kwargs) of going from `before` to `after`, in order."""
    if before is None:
        # Seen for the first time once it already ended: nothing the site ever
        # granted is taken back, so nothing to say.
        if is_ended_status(after.status):
            return []
        found = [("subscription_created", {})]
        previous = Snapshot()
    else:
        found = []
        previous = before
        if before.product_id != after.product_id:
            plans = {
                "old_plan": get_product_metadata(before.product_id),
                "new_plan": get_product_metadata(after.product_id),
            }
            found.append(("subscription_plan_changed", plans))
        quantities = {"old_quantity": before.quantity, "new_quantity": after.quantity}
        if before.quantity != after.quantity and None not in quantities.values():
            found.append(("subscription_seats_changed", quantities))
    live = not is_ended_status(after.status)
    if live and after.end is not None and after.end != previous.end:
        ends_at = timestamp_to_datetime(scheduled_end(data))
        found.append(("subscription_cancel_scheduled", {"ends_at": ends_at}))
    elif live and previous.end is not None and after.end is None:
        found.append(("subscription_cancellation_undone", {}))
    if live and after.paused and not previous.paused:
        found.append(("subscription_paused", {}))
    elif live and previous.paused and not after.paused:
        found.append(("subscription_resumed", {}))
    if after.status != previous.status and after.status in STATUS_SIGNALS:
        found.append((STATUS_SIGNALS[after.status], {}))
    return found


_sqlite_locks: dict[str, threading.Lock] = {}
_sqlite_locks_guard = threading.Lock()


@contextlib.contextmanager
def _process_lock(subscriber):
    """Serialize the work on one subscriber within this process when on SQLite.

    PostgreSQL locks the subscriber's row (`select_for_update`); SQLite has no row
    locks, and its in-memory test database fails rather than waits on a busy table.
    """
    if connection.vendor != "sqlite":
        yield
        return
    key = f"{subscriber._meta.label_lower}:{subscriber.pk}"
    with _sqlite_locks_guard:
        lock = _sqlite_locks.setdefault(key, threading.Lock())
    with lock:
        yield


def retrieve_subscription(subscription):
    """A Stripe subscription, re-read from Stripe when given its id (with its
    discounts, which Stripe serves no other way)."""
    if isinstance(subscription, str):
        return stripe.Subscription.retrieve(
            subscription, expand=SUBSCRIPTION_EXPAND, **stripe_options()
        )
    return subscription


def sync_payment_method(data) -> None:
    """Mirror the card (the subscription's, else the customer's default) locally,
    so pages can name it without asking Stripe."""
    try:
        payment_method_id = stripe_id(data.get("default_payment_method"))
        if payment_method_id:
            PaymentMethod._get_or_retrieve(id=payment_method_id)
        elif data.get("customer"):
            customer = stripe.Customer.retrieve(
                stripe_id(data["customer"]), **stripe_options()
            )
            Customer.sync_from_stripe_data(customer, api_key=api_key())
    except stripe.StripeError:
        logger.warning("Could not sync the payment method of %s", data.get("id"))


def _link(locked, subscription) -> bool:
    """Link the locked subscriber to `subscription`; False if it already was."""
    if locked.subscription_id == subscription.pk:
        return False
    customer = subscription.customer
    if customer.subscriber_id != locked.pk:
        customer.subscriber = locked
        customer.save(update_fields=["subscriber"])
    locked.customer = customer
    locked.subscription = subscription
    locked.save(update_fields=["customer", "subscription"])
    return True


def unlink(subscriber, subscription) -> bool:
    """Clear the subscriber's link if it points at this subscription."""
    updated = (
        subscriber._meta.model._default_manager.filter(
            pk=subscriber.pk, subscription=subscription
        ).update(subscription=None)
        > 0
    )
    if updated:
        subscriber.subscription = None
    return updated


def _apply_locked(subscriber, subscription, data, event, expected_version) -> Change:
    """Compare, link and record under the subscriber's lock (inside a transaction)."""
    after = Snapshot.of(data)
    model = subscriber._meta.model
    locked = model._default_manager.select_for_update().filter(pk=subscriber.pk).first()
    if locked is None:  # deleted meanwhile
        return Change(subscription, None, None, after)
    state, _ = SubscriptionState.objects.select_for_update().get_or_create(
        subscription_id=subscription.id
    )
    if expected_version is not None and state.version != expected_version:
        # A newer copy was applied since the caller read this one: keep it.
        return Change(subscription, locked, _recorded(state), _recorded(state) or after)
    before = _recorded(state)
    change = Change(subscription, locked, before, after)
    current = locked.subscription
    if (
        is_active_status(after.status)
        and current is not None
        and current.pk != subscription.pk
        and is_current_status(current.status)
    ):
        # One subscription per subscriber: the one linked stays.
        change.duplicate_of = current
        return change
    if is_active_status(after.status):
        change.linked = _link(locked, subscription)
    elif after.status == "paused" and locked.subscription_id is None:
        # Paused before its webhooks reached the site: still the subscriber's, to
        # resume (Checkout finds it in Stripe's list and refuses a second one).
        change.linked = _link(locked, subscription)
    elif is_ended_status(after.status):
        change.unlinked = unlink(locked, subscription)
    to_send = transition_signals(before, after, data)
    # The warning is an event, not a state: it is recorded per trial end, so a
    # redelivery or a later trial_will_end for the same trial sends nothing.
    trial_end = timestamp_to_datetime(data.get("trial_end"))
    warn = (
        getattr(event, "type", None) == TRIAL_WILL_END
        and after.status == "trialing"
        and trial_end is not None
        and state.trial_will_end_sent_for != trial_end
    )
    if warn:
        to_send.append(("subscription_trial_will_end", {"trial_end": trial_end}))
        state.trial_will_end_sent_for = trial_end
    if before is not None and before != after:
        previous = previous_attributes(before, after)
        to_send.append(("subscription_updated", {"previous_attributes": previous}))
    if change.changed:
        _record(state, after)
        state.version += 1
    if change.changed or warn:
        state.save()
    for name, kwargs in to_send:
        signals.send_after_commit(
            getattr(signals, name), locked, subscription, **kwargs
        )
    change.sent = [name for name, _ in to_send]
    return change


def apply_subscription(
    stripe_subscription, *, event=None, subscriber=None, expected_version=None
) -> Change:
    """Sync a Stripe subscription (object, or id to re-read) and signal what changed.

    `event` is the dj-stripe Event being handled, if any: `subscription_trial_will_end`
    is sent only for a `customer.subscription.trial_will_end` (any object with that
    `type`), once per trial end. `subscriber` names the subscriber when the caller
    knows it (Checkout's session); otherwise it is found from local rows: the one
    linked to the subscription, the owner of its customer, or its metadata
    reference. A subscription of no subscriber is only synced. The re-read and the
    dj-stripe sync come before the subscriber's row is locked. `expected_version`
    (the recorded state's version the caller's copy was compared with, as the
    reconciliation passes it) leaves the state alone if another apply came between.
    """
    data = retrieve_subscription(stripe_subscription)
    if subscriber is None:
        subscriber = find_subscriber(
            data["id"],
            stripe_id(data.get("customer")),
            (data.get("metadata") or {}).get("subscriber"),
        )
    if subscriber is None:
        subscription = Subscription.sync_from_stripe_data(data, api_key=api_key())
        store_discounts(data)
        logger.info("Subscription %s belongs to no subscriber of this site", data["id"])
        return Change(subscription, None, None, Snapshot.of(data))
    with _process_lock(subscriber):
        subscription = Subscription.sync_from_stripe_data(data, api_key=api_key())
        if (
            is_active_status(data.get("status"))
            and subscriber.subscription_id != subscription.pk
        ):
            sync_payment_method(data)
        with transaction.atomic():
            change = _apply_locked(
                subscriber, subscription, data, event, expected_version
            )
    # After the lock: a discount's customer may be read from Stripe.
    store_discounts(data)
    # Keep the caller's instance in step with the rows it locked and changed.
    locked = change.subscriber
    if change.linked:
        subscriber.customer = locked.customer
    if locked is not None and locked.subscription_id == subscription.pk:
        subscriber.subscription = subscription
    elif change.unlinked:
        subscriber.subscription = None
    return change


def state_version(subscription_id: str) -> int:
    """The version of the subscription's recorded state (0 if none): it moves on
    with each change applied and each failed write (see lifecycle.py)."""
    state = SubscriptionState.objects.filter(subscription_id=subscription_id).first()
    return state.version if state else 0
