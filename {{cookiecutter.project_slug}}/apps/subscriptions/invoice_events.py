"""Invoice and payment signals: sent once per Stripe event.

dj-stripe stores each event once and syncs its invoice before the site's handlers
run; `webhooks.follow_invoice` then calls `signal_invoice_event(event)`. The event's
id is recorded (`SignaledEvent`) in the transaction that queues its signals, so an
event handled a second time (replayed by hand, or by a reconciliation) sends
nothing again.

Amounts come from the event's own invoice, which says what happened at that moment
(dj-stripe verified the delivery's signature); the `invoice` argument is the local
dj-stripe row, which may already be newer. None of these signals grants access:
that follows the subscription, through `transitions.apply_subscription`.
"""

import logging

import stripe
from django.db import transaction
from djstripe.models import Invoice, Subscription

from . import signals
from .models import SignaledEvent
from .stripe_client import api_key, stripe_options
from .stripe_data import invoice_subscription_id, stripe_id
from .subscribers import find_subscriber
from .transitions import timestamp_to_datetime

logger = logging.getLogger(__name__)

INVOICE_EVENT_TYPES = (
    "invoice.created",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.voided",
)


def _local_invoice(invoice_id: str) -> Invoice | None:
    """The dj-stripe row of the invoice, synced from Stripe if dj-stripe has not yet."""
    invoice = Invoice.objects.filter(id=invoice_id).first()
    if invoice is not None:
        return invoice
    try:
        data = stripe.Invoice.retrieve(invoice_id, **stripe_options())
    except stripe.InvalidRequestError:
        logger.warning("Invoice %s is not in Stripe", invoice_id)
        return None
    return Invoice.sync_from_stripe_data(data, api_key=api_key())


def invoice_signals(event_type: str, data, invoice) -> list[tuple[str, dict]]:
    """The signals (name, extra kwargs) of one invoice event, in order."""
    currency = data.get("currency") or ""
    failure = {
        "attempt_count": data.get("attempt_count") or 0,
        "next_payment_attempt": timestamp_to_datetime(data.get("next_payment_attempt")),
    }
    if event_type == "invoice.created":
        return [("invoice_created", {"invoice": invoice})]
    if event_type == "invoice.paid":
        found = [("invoice_paid", {"invoice": invoice})]
        if data.get("billing_reason") == "subscription_cycle":
            found.append(("subscription_renewed", {"invoice": invoice}))
        return found
    if event_type == "invoice.payment_succeeded":
        amount = data.get("amount_paid") or 0
        if not amount:  # nothing was charged (a free or fully credited invoice)
            return []
        money = {"invoice": invoice, "amount": amount, "currency": currency}
        return [("payment_succeeded", money)]
    if event_type == "invoice.payment_failed":
        amount = data.get("amount_remaining") or data.get("amount_due") or 0
        money = {"invoice": invoice, "amount": amount, "currency": currency}
        return [
            ("invoice_payment_failed", {"invoice": invoice, **failure}),
            ("payment_failed", {**money, **failure}),
        ]
    if event_type == "invoice.voided":
        return [("invoice_voided", {"invoice": invoice})]
    return []


def signal_invoice_event(event) -> list[str]:
    """Send the signals of an invoice event once; the names of those queued."""
    data = event.data.get("object") or {}
    invoice_id = stripe_id(data)
    if not invoice_id or event.type not in INVOICE_EVENT_TYPES:
        return []
    invoice = _local_invoice(invoice_id)
    if invoice is None:
        return []
    subscription_id = invoice_subscription_id(data)
    details = (data.get("parent") or {}).get("subscription_details") or {}
    subscriber = find_subscriber(
        subscription_id,
        stripe_id(data.get("customer")),
        (details.get("metadata") or {}).get("subscriber"),
    )
    if subscriber is None:
        logger.info("Invoice %s belongs to no subscriber of this site", invoice_id)
        return []
    subscription = (
        Subscription.objects.filter(id=subscription_id).first()
        if subscription_id
        else None
    )
    to_send = invoice_signals(event.type, data, invoice)
    with transaction.atomic():
        _, first_time = SignaledEvent.objects.get_or_create(
            event_id=event.id, defaults={"type": event.type}
        )
        if not first_time:
            return []
        for name, kwargs in to_send:
            signals.send_after_commit(
                getattr(signals, name), subscriber, subscription, **kwargs
            )
    return [name for name, _ in to_send]
