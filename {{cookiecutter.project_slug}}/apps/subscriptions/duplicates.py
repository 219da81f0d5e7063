"""A second subscription of a subscriber that already has one: ended at once.

Two Checkout sessions paid in two tabs, or a subscription made in Stripe's
Dashboard, can give a subscriber two live subscriptions. `apply_subscription` keeps
the one linked and reports the newcomer (`Change.duplicate_of`). Once that is
committed, a task (`settle_duplicate`) cancels the newcomer in Stripe, refunds what
its first invoice took, and tells the subscriber's billing managers. Checkout's
return page and the webhooks may both find the same newcomer: the Stripe calls
carry idempotency keys, so both get the same cancellation and refund, and the
e-mail goes out once (`SignaledEvent`).
"""

import logging

import stripe
from celery import shared_task
from django.db import IntegrityError, transaction
from kombu.exceptions import OperationalError

from . import customer_emails
from .models import SignaledEvent
from .receivers import queue_customer_email
from .refunds import record_refund
from .stripe_client import stripe_options
from .stripe_data import is_current_status, is_ended_status, stripe_id
from .subscribers import subscriber_from_reference, subscriber_reference
from .transitions import Change, apply_subscription, retrieve_subscription

logger = logging.getLogger(__name__)

# The `SignaledEvent.type` of the notice sent once per canceled duplicate.
DUPLICATE_NOTICE = "subscription.duplicate_canceled"
# The refund's note, which the payment's refund e-mail and the admin show.
DUPLICATE_NOTE = "A second subscription, canceled: one was already running."


def settle_duplicate_later(change: Change) -> None:
    """Queue `settle_duplicate` for the duplicate `change` reports, to run once the
    transaction commits: the subscriber's row is locked until then, and no lock is
    held across a call to Stripe."""
    reference = subscriber_reference(change.subscriber)
    args = (reference, change.subscription.id, change.duplicate_of.id)

    def queue():
        try:
            settle_duplicate_task.delay(*args)
        except OperationalError:
            logger.exception("Could not queue the settling of duplicate %s", args[1])
            settle_duplicate_task(*args)

    transaction.on_commit(queue)


# Stripe that fails or cannot be reached is tried again, later and later.
@shared_task(
    autoretry_for=(stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError),
    retry_backoff=True,
    max_retries=8,
)
def settle_duplicate_task(reference: str, duplicate_id: str, kept_id: str) -> None:
    subscriber = subscriber_from_reference(reference)
    if subscriber is not None:
        settle_duplicate(subscriber, duplicate_id, kept_id)


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
    refund = stripe.Refund.create(
        payment_intent=next(filter(None, intents)),
        reason="duplicate",
        metadata={"note": DUPLICATE_NOTE},
        **stripe_options(idempotency_key=f"refund-duplicate-{data['id']}"),
    )
    charge = stripe.Charge.retrieve(stripe_id(refund["charge"]), **stripe_options())
    return record_refund(refund, charge, invoice_id=invoice_id, note=DUPLICATE_NOTE)


def _tell_once(subscriber, duplicate_id: str, kept_id: str, refund) -> None:
    """E-mail the billing managers about the canceled duplicate, once."""
    try:
        with transaction.atomic():
            _, first = SignaledEvent.objects.get_or_create(
                event_id=f"{duplicate_id}:{DUPLICATE_NOTICE}",
                defaults={"type": DUPLICATE_NOTICE},
            )
            if first:
                queue_customer_email(
                    customer_emails.DUPLICATE_CANCELED,
                    subscriber,
                    subscription=kept_id,
                    duplicate=duplicate_id,
                    amount=refund.amount if refund is not None else 0,
                    currency=refund.currency if refund is not None else "",
                )
    except IntegrityError:
        pass  # the other caller of a race recorded it first
