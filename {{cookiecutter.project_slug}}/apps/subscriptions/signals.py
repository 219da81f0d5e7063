"""The subscription lifecycle signals, sent once the change is committed.

Each is sent with `sender` = the subscriber's model and keyword arguments
`subscriber` and `subscription` (a dj-stripe Subscription).
"""

from django.db import transaction
from django.dispatch import Signal

# A subscriber has been linked to a newly paid subscription.
subscription_activated = Signal()

# The subscriber's subscription changed in Stripe (plan, quantity, cancel at period
# end...); also sent with `previous_attributes`, Stripe's dict of what changed.
subscription_updated = Signal()

# The subscriber's subscription ended; the subscriber is no longer linked to it.
subscription_canceled = Signal()


def send_after_commit(signal: Signal, subscriber, subscription, **kwargs) -> None:
    """Send `signal` once the current transaction commits (at once outside one)."""
    transaction.on_commit(
        lambda: signal.send(
            sender=subscriber._meta.model,
            subscriber=subscriber,
            subscription=subscription,
            **kwargs,
        )
    )
