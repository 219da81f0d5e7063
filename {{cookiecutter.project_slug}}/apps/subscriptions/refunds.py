"""Refunds of a subscriber's payments: one-off purchases and paid invoices.

An admin refunds a payment in full or in part (`refund_payment`); a refund made in
Stripe's dashboard arrives by webhook (`charge.refunded`, `refund.created`,
`refund.updated`: `sync_charge_refunds`). Either way the charge and its refunds
are re-read from Stripe and each refund is recorded once (`PaymentRefund`, unique
per Stripe refund): whoever records it sends `payment_refunded`.
"""

import logging
from dataclasses import dataclass

import stripe
from django.db import IntegrityError, transaction
from djstripe.models import Customer, Invoice

from . import signals
from .history import invoice_refunds
from .models import PaymentRefund, Purchase
from .money import format_amount
from .stripe_client import stripe_options
from .stripe_data import stripe_id
from .subscribers import find_subscriber
from .transitions import timestamp_to_datetime

logger = logging.getLogger(__name__)

REFUND_REASONS = [
    ("", "No reason given to Stripe"),
    ("requested_by_customer", "Requested by the customer"),
    ("duplicate", "Duplicate payment"),
    ("fraudulent", "Fraudulent"),
]
# Stripe's errors for asking more than remains of a charge.
TOO_LARGE_CODES = ("amount_too_large", "charge_already_refunded")


class RefundError(Exception):
    """A refund was refused; the message says why, for the admin."""


@dataclass(frozen=True)
class RefundablePayment:
    """A payment of the subscriber, as the admin's refund form lists it."""

    key: str  # "purchase:<pk>" or "invoice:<id>"
    label: str
    amount: int
    refunded: int
    currency: str

    @property
    def remaining(self) -> int:
        return max(self.amount - self.refunded, 0)


def refundable_payments(subscriber) -> list[RefundablePayment]:
    """The subscriber's payments with something left to refund, newest first (local
    rows: its purchases, and its customer's paid invoices)."""
    customer = subscriber.customer
    if customer is None:
        return []
    found = []
    for purchase in Purchase.objects.filter(customer=customer).order_by("-created"):
        found.append(
            RefundablePayment(
                f"purchase:{purchase.pk}",
                f"{purchase.description} ({purchase.created:%Y-%m-%d})",
                purchase.amount,
                purchase.amount_refunded,
                purchase.currency,
            )
        )
    invoices = Invoice.objects.filter(customer=customer).order_by("-created")
    refunded = invoice_refunds([invoice.id for invoice in invoices])
    for invoice in invoices:
        data = invoice.stripe_data
        paid = data.get("amount_paid") or 0
        if data.get("status") != "paid" or not paid:
            continue
        found.append(
            RefundablePayment(
                f"invoice:{invoice.id}",
                f"Invoice {data.get('number') or invoice.id} "
                f"({invoice.created:%Y-%m-%d})",
                paid,
                refunded.get(invoice.id, 0),
                data.get("currency") or "",
            )
        )
    return [payment for payment in found if payment.remaining]


def _invoice_payment_intent(invoice_id: str) -> str:
    listing = stripe.InvoicePayment.list(
        invoice=invoice_id, status="paid", limit=10, **stripe_options()
    )
    for link in listing.data:
        intent = (link.get("payment") or {}).get("payment_intent")
        if intent:
            return stripe_id(intent)
    raise RefundError(f"Stripe has no paid payment of invoice {invoice_id}.")


def _invoice_of_payment_intent(payment_intent_id: str) -> str:
    """The invoice a payment intent paid, or "" (a one-off payment)."""
    if not payment_intent_id:
        return ""
    listing = stripe.InvoicePayment.list(
        payment={"type": "payment_intent", "payment_intent": payment_intent_id},
        limit=1,
        **stripe_options(),
    )
    return stripe_id(listing.data[0].get("invoice")) if listing.data else ""


def _charge_of(payment_intent_id: str):
    intent = stripe.PaymentIntent.retrieve(
        payment_intent_id, expand=["latest_charge"], **stripe_options()
    )
    charge = intent.get("latest_charge")
    if not charge or not hasattr(charge, "get"):
        raise RefundError("Stripe has no charge for this payment.")
    return charge


def refund_payment(
    subscriber,
    payment_key: str,
    *,
    amount: int | None = None,
    reason: str = "",
    note: str = "",
    key: str,
) -> PaymentRefund:
    """Refund one of the subscriber's payments (`RefundablePayment.key`) in full, or
    `amount` of it; `key` makes a repeated request one refund. Raises `RefundError`
    for a payment not the subscriber's, or more than remains of it."""
    kind, _, ref = payment_key.partition(":")
    customer = subscriber.customer
    purchase, invoice_id = None, ""
    if kind == "purchase" and customer is not None:
        purchase = Purchase.objects.filter(pk=ref, customer=customer).first()
        intent_id = purchase.payment_intent_id if purchase else ""
    elif kind == "invoice" and customer is not None:
        invoice = Invoice.objects.filter(id=ref, customer=customer).first()
        invoice_id = invoice.id if invoice else ""
        intent_id = _invoice_payment_intent(invoice_id) if invoice else ""
    else:
        intent_id = ""
    if not intent_id:
        raise RefundError("That payment is not one of this subscriber's.")
    if amount is not None and amount <= 0:
        raise RefundError("The amount must be more than zero.")
    charge = _charge_of(intent_id)
    remaining = charge["amount"] - (charge.get("amount_refunded") or 0)
    currency = charge["currency"]
    if remaining <= 0:
        raise RefundError("This payment has already been refunded in full.")
    if amount is not None and amount > remaining:
        raise RefundError(
            f"Refund amount ({format_amount(amount, currency)}) is greater than "
            f"what remains of the payment ({format_amount(remaining, currency)})."
        )
    params = {"charge": charge["id"], "metadata": {"note": note[:500]}}
    if amount is not None:
        params["amount"] = amount
    if reason:
        params["reason"] = reason
    try:
        refund = stripe.Refund.create(
            **params, **stripe_options(idempotency_key=f"refund-{charge['id']}-{key}")
        )
    except stripe.InvalidRequestError as error:
        if error.code in TOO_LARGE_CODES:
            raise RefundError(error.user_message or str(error)) from error
        raise
    charge = stripe.Charge.retrieve(charge["id"], **stripe_options())
    return record_refund(
        refund, charge, purchase=purchase, invoice_id=invoice_id, note=note
    )


def _payment_of(charge) -> tuple[Purchase | None, str]:
    """The purchase, or the invoice id, that a charge paid."""
    intent_id = stripe_id(charge.get("payment_intent")) or ""
    purchase = Purchase.objects.filter(charge_id=charge["id"]).first()
    if purchase is None and intent_id:
        purchase = Purchase.objects.filter(payment_intent_id=intent_id).first()
    if purchase is not None:
        return purchase, ""
    return None, _invoice_of_payment_intent(intent_id)


def record_refund(
    refund, charge, *, purchase=None, invoice_id="", note=""
) -> PaymentRefund | None:
    """The local row of a Stripe refund, made once: making it sends
    `payment_refunded`. A purchase's refunded amount follows the charge's."""
    customer_id = stripe_id(charge.get("customer"))
    customer = Customer.objects.filter(id=customer_id).first()
    if customer is None:
        logger.info("Refund %s is of no customer of this site", refund["id"])
        return None
    if purchase is None and not invoice_id:
        purchase, invoice_id = _payment_of(charge)
    subscriber = find_subscriber(None, customer_id)
    fields = {
        "customer": customer,
        "charge_id": charge["id"],
        "payment_intent_id": stripe_id(charge.get("payment_intent")) or "",
        "invoice_id": invoice_id,
        "purchase": purchase,
        "amount": refund["amount"],
        "currency": refund["currency"],
        "reason": refund.get("reason") or "",
        "note": note or (refund.get("metadata") or {}).get("note", ""),
        "status": refund.get("status") or "",
        "created": timestamp_to_datetime(refund["created"]),
    }
    try:
        with transaction.atomic():
            row, created = PaymentRefund.objects.get_or_create(
                refund_id=refund["id"], defaults=fields
            )
            if not created and row.status != fields["status"]:
                row.status = fields["status"]
                row.save(update_fields=["status"])
            if purchase is not None:
                Purchase.objects.filter(pk=purchase.pk).update(
                    amount_refunded=charge.get("amount_refunded") or 0
                )
            if created and subscriber is not None:
                invoice = Invoice.objects.filter(id=invoice_id).first()
                signals.send_after_commit(
                    signals.payment_refunded,
                    subscriber,
                    None,
                    refund=row,
                    amount=row.amount,
                    currency=row.currency,
                    reason=row.reason,
                    invoice=invoice,
                    purchase=purchase,
                )
    except IntegrityError:
        return PaymentRefund.objects.get(refund_id=refund["id"])
    return row


def sync_charge_refunds(charge_id: str) -> int:
    """Record the refunds of a charge, re-read from Stripe; how many were new."""
    charge = stripe.Charge.retrieve(charge_id, **stripe_options())
    listing = stripe.Refund.list(charge=charge_id, limit=100, **stripe_options())
    known = set(
        PaymentRefund.objects.filter(
            refund_id__in=[refund["id"] for refund in listing.data]
        ).values_list("refund_id", flat=True)
    )
    purchase, invoice_id = _payment_of(charge)
    # Oldest first, so that signals go out in the order the refunds were made.
    for refund in reversed(listing.data):
        record_refund(refund, charge, purchase=purchase, invoice_id=invoice_id)
    return len([r for r in listing.data if r["id"] not in known])
