"""dj-stripe webhook handlers that keep the subscriber's link right.

dj-stripe verifies each delivery, stores the Event once (a repeated delivery is not
processed again) and syncs the object before these run, in the same transaction.
"""

import logging

from django.core.mail import mail_admins
from django.db import transaction
from djstripe.event_handlers import djstripe_receiver
from djstripe.models import Subscription

from . import signals
from .checkout import session_is_paid, subscriber_from_session
from .linking import (
    link_subscription,
    subscriber_for_subscription,
    unlink_subscription,
)
from .selectors import subscription_plan
from .stripe_client import api_key
from .stripe_data import is_active_status
from .subscribers import subscriber_display_name

logger = logging.getLogger(__name__)


@djstripe_receiver("checkout.session.completed")
def provision_completed_checkout(sender, event, **kwargs):
    """Link the subscription of a paid Checkout session, if the return page has not."""
    session = event.data.get("object", {})
    if session.get("mode") != "subscription":
        return
    subscriber = subscriber_from_session(session)
    if subscriber is None:
        logger.warning("Checkout session %s names no subscriber", session.get("id"))
        return
    if session_is_paid(session):
        link_subscription(subscriber, session["subscription"])


def _local_subscription(event) -> Subscription:
    subscription_id = event.data["object"]["id"]
    subscription = Subscription.objects.filter(id=subscription_id).first()
    if subscription is None:
        subscription = Subscription._get_or_retrieve(
            id=subscription_id, api_key=api_key()
        )
    return subscription


@djstripe_receiver("customer.subscription.updated")
def follow_subscription_update(sender, event, **kwargs):
    """Link an active subscription and tell the site what changed."""
    subscription = _local_subscription(event)
    subscriber = subscriber_for_subscription(subscription)
    if subscriber is None:
        return
    if subscriber.subscription_id != subscription.pk:
        if not is_active_status(subscription.status):
            return
        link_subscription(subscriber, subscription.id)
    signals.send_after_commit(
        signals.subscription_updated,
        subscriber,
        subscription,
        previous_attributes=event.data.get("previous_attributes") or {},
    )


@djstripe_receiver("customer.subscription.deleted")
def follow_subscription_deletion(sender, event, **kwargs):
    """Unlink an ended subscription and tell the site admins."""
    subscription = _local_subscription(event)
    subscriber = subscriber_for_subscription(subscription)
    if subscriber is None or not unlink_subscription(subscriber, subscription):
        return
    plan = subscription_plan(subscription)
    name = subscriber_display_name(subscriber)
    plan_name = plan.name if plan else "a plan"
    transaction.on_commit(
        lambda: mail_admins(
            f"Subscription ended: {name}",
            f"{name} ({subscriber.pk}) is no longer subscribed to {plan_name}.\n"
            f"Stripe subscription: {subscription.id}\n",
        )
    )
