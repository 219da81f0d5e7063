"""dj-stripe webhook handlers of the money beyond the subscription: one-off
purchases paid at Checkout, the wallet's balance and refunds.

Like `webhooks.py`, nothing is taken from the event's body: the session, the
balance transactions and the refunds are re-read from Stripe, and each is recorded
(and signalled) once, whoever sees it first.
"""

import logging

from djstripe.event_handlers import djstripe_receiver

from .checkout import CheckoutSessionNotFound
from .purchases import fulfil_purchase
from .refunds import sync_charge_refunds
from .stripe_data import stripe_id
from .wallet import sync_balance_transactions

logger = logging.getLogger(__name__)


@djstripe_receiver(
    ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
)
def fulfil_completed_purchase(sender, event, **kwargs):
    """Fulfil a paid one-off Checkout session, if its return page has not."""
    session = event.data.get("object", {})
    if session.get("mode") != "payment":
        return
    try:
        fulfil_purchase(stripe_id(session))
    except CheckoutSessionNotFound:
        logger.warning("%s: session %s is no purchase here", event.id, session["id"])


@djstripe_receiver("customer.updated")
def follow_balance(sender, event, **kwargs):
    """Mirror the customer's balance transactions when its balance changed."""
    if "balance" not in (event.data.get("previous_attributes") or {}):
        return
    sync_balance_transactions(stripe_id(event.data.get("object")))


@djstripe_receiver(["charge.refunded", "refund.created", "refund.updated"])
def follow_refunds(sender, event, **kwargs):
    """Record the refunds of the event's charge (one made in Stripe's dashboard, or
    the site's own seen again), re-read from Stripe."""
    data = event.data.get("object") or {}
    charge_id = stripe_id(data) if data.get("object") == "charge" else None
    charge_id = charge_id or stripe_id(data.get("charge"))
    if charge_id:
        sync_charge_refunds(charge_id)
