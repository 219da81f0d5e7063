"""Linking a subscriber to its Stripe subscription, and following that link.

Checkout's return page and the `checkout.session.completed` webhook both call
`link_subscription`, through `checkout.complete_checkout_session`, which re-reads
the session and checks whose it is. Whichever locks the subscriber first links it,
the other finds the link made and changes nothing. Both go through
`transitions.apply_subscription`, which also links and unlinks as the
subscription's status changes, and sends the lifecycle signals.
"""

from dataclasses import dataclass

from djstripe.models import Subscription

from .duplicates import settle_duplicate_later
from .transitions import apply_subscription, retrieve_subscription, sync_payment_method
from .transitions import unlink as _unlink


@dataclass
class LinkResult:
    """What `link_subscription` did: `changed` is False when it was already linked."""

    subscriber: object
    subscription: Subscription
    changed: bool


def link_subscription(subscriber, stripe_subscription) -> LinkResult:
    """Sync a Stripe subscription (id, re-read from Stripe, or object) and link it.

    Idempotent and race-safe: the subscriber's row is locked, so of two callers at
    once the second waits, finds the link made and changes nothing. A second live
    subscription of a subscriber that has one is not linked: it is canceled and
    refunded once this commits (`duplicates.settle_duplicate_later`).
    """
    change = apply_subscription(stripe_subscription, subscriber=subscriber)
    if change.duplicate_of is not None:
        settle_duplicate_later(change)
    return LinkResult(subscriber, change.subscription, changed=change.linked)


def unlink_subscription(subscriber, subscription) -> bool:
    """Clear the subscriber's link if it points at this subscription.

    Sends nothing: `apply_subscription` unlinks an ended subscription and signals it.
    """
    return _unlink(subscriber, subscription)


def refresh_subscription(subscriber) -> Subscription | None:
    """Re-read the linked subscription from Stripe (after the customer portal)."""
    if subscriber.subscription is None:
        return None
    data = retrieve_subscription(subscriber.subscription.id)
    # The portal may have changed the card: mirror it for the page.
    sync_payment_method(data)
    return apply_subscription(data, subscriber=subscriber).subscription
