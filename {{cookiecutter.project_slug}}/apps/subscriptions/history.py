"""The billing history: a subscriber's invoices and one-off payments, newest first.

Local rows only (dj-stripe's invoices, the site's purchases and refunds), in the
same few queries for a page whatever the number of invoices: the dates of all the
subscriber's payments are read to order and page them, then the rows of one page.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Q
from djstripe.models import Invoice

from .discounts import invoice_discounts
from .models import PaymentRefund, Purchase
from .money import format_amount

INVOICE_STATUS_LABELS = {
    "open": "Open",
    "paid": "Paid",
    "void": "Void",
    "uncollectible": "Uncollectible",
}
BILLING_REASON_LABELS = {
    "subscription_create": "Subscription",
    "subscription_cycle": "Subscription renewal",
    "subscription_update": "Subscription change",
    "manual": "Invoice",
}


@dataclass(frozen=True)
class HistoryEntry:
    """One payment as the billing history shows it: an invoice or a purchase."""

    kind: str  # "invoice" or "purchase"
    id: str
    date: datetime
    number: str
    description: str
    amount: str
    discount: str
    status: str
    refunded: str  # "" when nothing was refunded
    url: str  # the hosted invoice, or the receipt
    pdf_url: str


def invoice_refunds(invoice_ids) -> dict[str, int]:
    """What was refunded of each invoice's payments, by invoice id (one query)."""
    totals = {}
    rows = PaymentRefund.objects.filter(invoice_id__in=list(invoice_ids)).exclude(
        status__in=("failed", "canceled")
    )
    for invoice_id, amount in rows.values_list("invoice_id", "amount"):
        totals[invoice_id] = totals.get(invoice_id, 0) + amount
    return totals


def _customers(subscriber) -> Q:
    """The subscriber's customers (the linked one, and any it owns)."""
    condition = Q(customer__subscriber=subscriber.pk)
    if subscriber.customer_id is not None:
        condition |= Q(customer__pk=subscriber.customer_id)
    return condition


def _status(status_label: str, paid: int, refunded: int) -> str:
    if refunded and refunded >= paid:
        return "Refunded"
    if refunded:
        return "Partly refunded"
    return status_label


def _invoice_entry(invoice, discounts, refunded) -> HistoryEntry:
    data = invoice.stripe_data
    currency = data.get("currency") or ""
    lines = (data.get("lines") or {}).get("data") or []
    reason = BILLING_REASON_LABELS.get(data.get("billing_reason"), "Invoice")
    taken = sum(summary.amount or 0 for summary in discounts) or sum(
        total.get("amount") or 0 for total in data.get("total_discount_amounts") or []
    )
    names = ", ".join(summary.label for summary in discounts)
    discount = ""
    if taken:
        off = f"-{format_amount(taken, currency)}"
        discount = f"{off} ({names})" if names else off
    status = INVOICE_STATUS_LABELS.get(data.get("status"), data.get("status") or "")
    return HistoryEntry(
        kind="invoice",
        id=invoice.id,
        date=invoice.created,
        number=data.get("number") or "",
        description=(lines[0].get("description") if lines else "") or reason,
        amount=format_amount(data.get("total") or 0, currency),
        discount=discount,
        status=_status(status, data.get("amount_paid") or 0, refunded),
        refunded=format_amount(refunded, currency) if refunded else "",
        url=data.get("hosted_invoice_url") or "",
        pdf_url=data.get("invoice_pdf") or "",
    )


def _purchase_entry(purchase: Purchase) -> HistoryEntry:
    currency = purchase.currency
    refunded = purchase.amount_refunded
    description = purchase.description or "One-off purchase"
    # A top-up's quantity counts its units of money, not things bought.
    if purchase.kind == Purchase.Kind.ONE_TIME and purchase.quantity > 1:
        description += f" (x{purchase.quantity})"
    return HistoryEntry(
        kind="purchase",
        id=purchase.checkout_session_id,
        date=purchase.created,
        number="",
        description=description,
        amount=format_amount(purchase.amount, currency),
        discount=(
            f"-{format_amount(purchase.amount_discount, currency)}"
            if purchase.amount_discount
            else ""
        ),
        status=_status("Paid", purchase.amount, refunded),
        refunded=format_amount(refunded, currency) if refunded else "",
        url=purchase.receipt_url,
        pdf_url="",
    )


def billing_history(subscriber, page_number=1, per_page: int | None = None) -> Page:
    """One page of the subscriber's billing history (`HistoryEntry` objects), newest
    first; drafts are left out. Seven queries, whatever the number of invoices."""
    per_page = per_page or settings.SUBSCRIPTIONS_BILLING_HISTORY_PER_PAGE
    customers = _customers(subscriber)
    invoice_keys = (
        Invoice.objects.filter(customers)
        .exclude(stripe_data__status="draft")
        .values_list("created", "id")
    )
    purchase_keys = Purchase.objects.filter(customers).values_list("created", "pk")
    keys = [(created, "invoice", key) for created, key in invoice_keys]
    keys += [(created, "purchase", key) for created, key in purchase_keys]
    keys.sort(key=lambda k: (k[0], k[1], str(k[2])), reverse=True)
    page = Paginator(keys, per_page).get_page(page_number)
    invoice_ids = [key for _, kind, key in page.object_list if kind == "invoice"]
    purchase_ids = [key for _, kind, key in page.object_list if kind == "purchase"]
    invoices = {i.id: i for i in Invoice.objects.filter(id__in=invoice_ids)}
    bought = {p.pk: p for p in Purchase.objects.filter(pk__in=purchase_ids)}
    discounts = invoice_discounts(invoices.values()) if invoices else {}
    refunded = invoice_refunds(invoice_ids) if invoice_ids else {}
    page.object_list = [
        _invoice_entry(invoices[key], discounts.get(key, []), refunded.get(key, 0))
        if kind == "invoice"
        else _purchase_entry(bought[key])
        for _, kind, key in page.object_list
    ]
    return page
