"""The kit's subscription lifecycle signals, sent once the change is committed.

Each is sent with `sender` = the subscriber's model and keyword arguments
`subscriber` and `subscription` (a dj-stripe Subscription).
"""

from django.dispatch import Signal

# A subscriber has been linked to a newly paid subscription.
subscription_activated = Signal()

# The subscriber's subscription changed in Stripe (plan, quantity, cancel at period
# end...); also sent with `previous_attributes`, Stripe's dict of what changed.
subscription_updated = Signal()

# The subscriber's subscription ended; the subscriber is no longer linked to it.
subscription_canceled = Signal()
