"""Linking a subscriber to its Stripe subscription, and following that link.

Checkout's return page and the `checkout.session.completed` webhook both call
`link_subscription`; whichever locks the subscriber first links it, the other finds
the link made and changes nothing. It is the only place that sets the link.
"""

import contextlib
import logging
import threading
from dataclasses import dataclass

import stripe
from django.db import connection, transaction
from djstripe.models import Customer, PaymentMethod, Subscription

from . import signals
from .stripe_client import api_key, stripe_options
from .stripe_data import is_active_status, stripe_id
from .subscribers import get_subscriber_model

logger = logging.getLogger(__name__)


@dataclass
class LinkResult:
    """What `link_subscription` did: `changed` is False when it was already linked."""

    subscriber: object
    subscription: Subscription
    changed: bool


def _retrieve_subscription(subscription):
    if isinstance(subscription, str):
        return stripe.Subscription.retrieve(subscription, **stripe_options())
    return subscription


def _sync_payment_method(data) -> None:
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


_sqlite_link_locks: dict[str, threading.Lock] = {}
_sqlite_link_locks_guard = threading.Lock()


@contextlib.contextmanager
def _link_lock(subscriber):
    """Serialize linking one subscriber within this process when on SQLite.

    PostgreSQL locks the subscriber's row (`select_for_update`); SQLite has no row
    locks, and its in-memory test database fails rather than waits on a busy table.
    """
    if connection.vendor != "sqlite":
        yield
        return
    key = f"{subscriber._meta.label_lower}:{subscriber.pk}"
    with _sqlite_link_locks_guard:
        lock = _sqlite_link_locks.setdefault(key, threading.Lock())
    with lock:
        yield


def link_subscription(subscriber, stripe_subscription) -> LinkResult:
    """Sync a Stripe subscription (id or object) into dj-stripe and link it.

    Idempotent and race-safe: the subscriber's row is locked, so of two callers at
    once the second waits, finds the link made and changes nothing.
    """
    subscription_id = stripe_id(stripe_subscription)
    model = subscriber._meta.model
    with _link_lock(subscriber), transaction.atomic():
        locked = model.objects.select_for_update().get(pk=subscriber.pk)
        # Read the link only once the lock is held: a join in the locking query
        # would show, after waiting for another linker, the subscriber's new row
        # with the old (empty) subscription (PostgreSQL re-reads only locked rows).
        current = locked.subscription
        if current is not None and current.id == subscription_id:
            subscriber.subscription = current
            subscriber.customer_id = locked.customer_id
            return LinkResult(subscriber, current, changed=False)
        data = _retrieve_subscription(stripe_subscription)
        subscription = Subscription.sync_from_stripe_data(data, api_key=api_key())
        _sync_payment_method(subscription.stripe_data)
        if current is not None and is_active_status(current.status):
            logger.warning(
                "%s had active subscription %s; now linked to %s",
                locked,
                current.id,
                subscription.id,
            )
        customer = subscription.customer
        if customer.subscriber_id != locked.pk:
            customer.subscriber = locked
            customer.save(update_fields=["subscriber"])
        locked.customer = customer
        locked.subscription = subscription
        locked.save(update_fields=["customer", "subscription"])
        signals.send_after_commit(signals.subscription_activated, locked, subscription)
    subscriber.customer, subscriber.subscription = customer, subscription
    return LinkResult(subscriber, subscription, changed=True)


def unlink_subscription(subscriber, subscription) -> bool:
    """Clear the subscriber's link if it points at this (ended) subscription."""
    model = subscriber._meta.model
    with transaction.atomic():
        updated = model.objects.filter(
            pk=subscriber.pk, subscription=subscription
        ).update(subscription=None)
        if updated:
            signals.send_after_commit(
                signals.subscription_canceled, subscriber, subscription
            )
    if updated:
        subscriber.subscription = None
    return bool(updated)


def refresh_subscription(subscriber) -> Subscription | None:
    """Re-read the linked subscription from Stripe (after the customer portal)."""
    subscription = subscriber.subscription
    if subscription is None:
        return None
    data = stripe.Subscription.retrieve(subscription.id, **stripe_options())
    subscription = Subscription.sync_from_stripe_data(data, api_key=api_key())
    _sync_payment_method(subscription.stripe_data)
    if data.get("status") == "canceled":
        unlink_subscription(subscriber, subscription)
    else:
        subscriber.subscription = subscription
    return subscription


def subscriber_for_subscription(subscription):
    """The subscriber linked to, or owning the customer of, a dj-stripe Subscription."""
    model = get_subscriber_model()
    subscriber = model.objects.filter(subscription=subscription).first()
    if subscriber is None and subscription.customer_id:
        subscriber = model.objects.filter(customer__id=subscription.customer_id).first()
    if subscriber is None and subscription.customer_id:
        customer = subscription.customer
        subscriber = customer.subscriber if customer else None
    return subscriber
