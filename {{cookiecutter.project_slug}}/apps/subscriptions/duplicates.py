"""A second subscription of a subscriber that already has one: ended at once.

Two Checkout sessions paid in two tabs, or a subscription made in Stripe's
Dashboard, can give a subscriber two live subscriptions. `apply_subscription` keeps
the one linked and reports the newcomer (`Change.duplicate_of`). Once that is
committed, with no lock held, `settle_duplicate` cancels the newcomer in Stripe,
refunds what its invoice took and sends `subscription_duplicate_canceled` (the
billing managers' e-mail). Checkout's return page, the webhooks and the
reconciliation may each find the same newcomer: the Stripe calls carry idempotency
keys, so all get the same cancellation and refund, and the signal goes out once.
Should Stripe fail meanwhile, the newcomer stays unlinked and the next
reconciliation finds it again.
"""

import logging

import stripe
from django.db import IntegrityError, transaction
from djstripe.models import Subscription

from . import signals
from .models import SignaledEvent
from .refunds import record_refund
from .stripe_client import stripe_options
from .stripe_data import is_current_status, is_ended_status, stripe_id
from .transitions import Change, apply_subscription, retrieve_subscription

logger = logging.getLogger(__name__)

# Recorded as a `SignaledEvent` of its own, so that one caller of a race signals.
DUPLICATE_CANCELED = "subscription.duplicate_canceled"
# The refund's note, which the payment's refund e-mail and the admin show.
DUPLICATE_NOTE = "A second subscription, canceled: one was already running."


def settle_duplicate_later(change: Change) -> None:
    """Settle the duplicate that `change` reports once the transaction commits: the
    subscriber's row stays locked until then, and no lock is held across a call to
    Stripe."""
    subscriber = change.subscriber
    duplicate_id, kept_id = change.subscription.id, change.duplicate_of.id

    def settle():
        try:
            settle_duplicate(subscriber, duplicate_id, kept_id)
        except stripe.StripeError:
            logger.exception(
                "Could not end duplicate %s; the reconciliation tries again",
                duplicate_id,
            )

    transaction.on_commit(settle)


def settle_duplicate(subscriber, duplicate_id: str, kept_id: str) -> None:
    """Cancel and refund the duplicate, and tell the billing managers once; unless
    the subscription kept has ended in Stripe, when the duplicate is linked instead."""
    kept = retrieve_subscription(kept_id)
    if not is_current_status(kept.get("status")):
        # The local row of the linked one was behind Stripe: it ended, so it is
        # unlinked and the newcomer is the subscription after all.
        apply_subscription(kept, subscriber=subscriber)
        again = apply_subscription(duplicate_id, subscriber=subscriber)
        if again.duplicate_of is not None:
            settle_duplicate(subscriber, duplicate_id, again.duplicate_of.id)
        return
    logger.error(
        "%s already has subscription %s: canceling and refunding duplicate %s",
        subscriber,
        kept_id,
        duplicate_id,
    )
    data = _cancel(duplicate_id, kept_id)
    refund = _refund_first_invoice(data)
    apply_subscription(data, subscriber=subscriber)
    _tell_once(subscriber, duplicate_id, kept_id, refund)


def _cancel(subscription_id: str, kept_id: str):
    """Cancel now, with no final invoice and no proration: nothing more is owed."""
    try:
        return stripe.Subscription.cancel(
            subscription_id,
            invoice_now=False,
            prorate=False,
            cancellation_details={"comment": f"Duplicate of {kept_id}"},
            **stripe_options(idempotency_key=f"cancel-duplicate-{subscription_id}"),
        )
    except stripe.InvalidRequestError:
        data = retrieve_subscription(subscription_id)
        if not is_ended_status(data.get("status")):
            raise
        return data  # canceled meanwhile, by another way


def _refund_first_invoice(data):
    """Refund in full what the duplicate's latest invoice took; the refund or None.

    By its payment intent, with one idempotency key: the other caller of a race
    gets the same refund back, and `record_refund` records it once.
    """
    invoice_id = stripe_id(data.get("latest_invoice"))
    if not invoice_id:
        return None
    invoice = stripe.Invoice.retrieve(
        invoice_id, expand=["payments"], **stripe_options()
    )
    if invoice.get("status") != "paid" or not invoice.get("amount_paid"):
        return None
    intents = [
        stripe_id((payment.get("payment") or {}).get("payment_intent"))
        for payment in (invoice.get("payments") or {}).get("data") or []
        if payment.get("status") == "paid"
    ]
    if not any(intents):
        return None
    try:
        refund = stripe.Refund.create(
            payment_intent=next(filter(None, intents)),
            reason="duplicate",
            metadata={"note": DUPLICATE_NOTE},
            **stripe_options(idempotency_key=f"refund-duplicate-{data['id']}"),
        )
    except stripe.InvalidRequestError as error:
        if error.code != "charge_already_refunded":
            raise
        logger.info("Duplicate %s was refunded already", data["id"])
        return None
    charge = stripe.Charge.retrieve(stripe_id(refund["charge"]), **stripe_options())
    return record_refund(refund, charge, invoice_id=invoice_id, note=DUPLICATE_NOTE)


def _tell_once(subscriber, duplicate_id: str, kept_id: str, refund) -> None:
    """Send `subscription_duplicate_canceled`, once per duplicate."""
    try:
        with transaction.atomic():
            _, first = SignaledEvent.objects.get_or_create(
                event_id=f"{duplicate_id}:{DUPLICATE_CANCELED}",
                defaults={"type": DUPLICATE_CANCELED},
            )
            if first:
                signals.send_after_commit(
                    signals.subscription_duplicate_canceled,
                    subscriber,
                    Subscription.objects.get(id=duplicate_id),
                    kept=Subscription.objects.get(id=kept_id),
                    refund=refund,
                )
    except IntegrityError:
        pass  # the other caller of a race recorded it first
