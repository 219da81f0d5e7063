"""dj-stripe webhook handlers: they keep the subscriber's link right and send the
lifecycle signals, and dj-stripe's own webhook signals are passed on as the site's.

The site's webhook view (`webhook_view.py`) verifies each delivery's signature;
dj-stripe then stores the Event once (a repeated delivery is not
processed again) and syncs the event's object before these run, in the same
transaction. What grants access is not taken from the event's body: the Checkout
session and the subscription are re-read from Stripe and applied
(`transitions.apply_subscription`); a second live subscription of a subscriber is
canceled and refunded (`duplicates.settle_duplicate_later`).
An event about an object the site does not know is logged and left alone.
"""

import logging

import stripe
from django.db import transaction
from django.dispatch import receiver
from djstripe import signals as djstripe_signals
from djstripe.event_handlers import djstripe_receiver

from . import signals
from .checkout import CheckoutSessionNotFound, complete_checkout_session
from .duplicates import settle_duplicate_later
from .invoice_events import INVOICE_EVENT_TYPES, signal_invoice_event
from .stripe_data import stripe_id
from .transitions import apply_subscription, retrieve_subscription

logger = logging.getLogger(__name__)

SUBSCRIPTION_EVENT_TYPES = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.trial_will_end",
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
)
# dj-stripe syncs coupon.* and promotion_code.* itself, but not discounts.
DISCOUNT_EVENT_TYPES = (
    "customer.discount.created",
    "customer.discount.updated",
    "customer.discount.deleted",
)


@djstripe_receiver("checkout.session.completed")
def provision_completed_checkout(sender, event, **kwargs):
    """Link the subscription of a paid Checkout session, if the return page has not.

    Only the session's id is taken from the event: the session is re-read from
    Stripe and checked as the return page checks it, whatever the body says.
    """
    session = event.data.get("object", {})
    if session.get("mode") != "subscription":
        return
    try:
        complete_checkout_session(session.get("id"))
    except CheckoutSessionNotFound:
        logger.warning(
            "Checkout session %s is not one this site can provision", session.get("id")
        )


@djstripe_receiver(list(SUBSCRIPTION_EVENT_TYPES))
def follow_subscription(sender, event, subscription_id=None, **kwargs):
    """Re-read the event's subscription from Stripe and apply it: link or unlink the
    subscriber, and signal what changed since the site last saw it."""
    subscription_id = subscription_id or stripe_id(event.data.get("object"))
    if not subscription_id:
        return
    try:
        data = retrieve_subscription(subscription_id)
    except stripe.InvalidRequestError as error:
        if error.code != "resource_missing":
            raise
        logger.warning(
            "%s: subscription %s is not in Stripe", event.id, subscription_id
        )
        return
    change = apply_subscription(data, event=event)
    if change.duplicate_of is not None:
        settle_duplicate_later(change)


@djstripe_receiver(list(DISCOUNT_EVENT_TYPES))
def follow_discount(sender, event, **kwargs):
    """A discount began or ended (a code applied at Checkout, in the portal or the
    Dashboard): re-read its subscription, with its discounts, and apply it."""
    discount = event.data.get("object") or {}
    subscription_id = stripe_id(discount.get("subscription"))
    if subscription_id:
        follow_subscription(sender, event, subscription_id=subscription_id)


@djstripe_receiver(list(INVOICE_EVENT_TYPES))
def follow_invoice(sender, event, **kwargs):
    """Send the invoice and payment signals of the event, once."""
    signal_invoice_event(event)


def _about(trigger) -> dict:
    body = trigger.json_body
    return {"event_id": body.get("id"), "event_type": body.get("type")}


@receiver(djstripe_signals.webhook_post_validate)
def announce_webhook_received(sender, instance, valid, **kwargs):
    signals.webhook_received.send(
        sender=sender, trigger=instance, valid=valid, **_about(instance)
    )


@receiver(djstripe_signals.webhook_post_process)
def announce_webhook_processed(sender, instance, **kwargs):
    event = getattr(instance, "event", None)
    # An event stored before this delivery arrived was processed then, not now.
    redelivery = event is not None and event.djstripe_created < instance.created
    transaction.on_commit(
        lambda: signals.webhook_processed.send(
            sender=sender,
            trigger=instance,
            event=event,
            redelivery=redelivery,
            **_about(instance),
        )
    )


@receiver(djstripe_signals.webhook_processing_error)
def announce_webhook_failed(sender, instance, exception, **kwargs):
    signals.webhook_failed.send(
        sender=sender, trigger=instance, exception=exception, **_about(instance)
    )
