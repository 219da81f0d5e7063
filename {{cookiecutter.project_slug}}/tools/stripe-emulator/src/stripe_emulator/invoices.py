"""Invoices and dunning: drafting, finalizing and charging subscription invoices,
retrying failed renewal payments on the configured schedule, and the invoices API.
"""

from . import billing_shapes
from .customers import charge_succeeds
from .errors import card_declined, invalid
from .events import diff, emit
from .lifecycle import end_subscription
from .listing import simple_list
from .params import LIST_PARAMS, check_params, clone
from .shapes import JSON
from .store import Store

DAY = 86400
TOTAL_FIELDS = (
    "amount_due",
    "amount_remaining",
    "subtotal",
    "subtotal_excluding_tax",
    "total",
    "total_excluding_tax",
)
PAY_FIELDS = {
    "payment_method",
    "off_session",
    "paid_out_of_band",
    "source",
    "forgive",
    "mandate",
}
# One invoice line to be: (subscription item, amount, quantity, period, description,
# whether it is a proration).
Line = tuple[JSON, int, int, dict[str, int], str, bool]


def new_invoice(
    store: Store, sub: JSON, reason: str, lines: list[Line], when: int
) -> JSON:
    """A draft invoice for `sub` with these lines; it becomes the latest invoice."""
    customer = store.objects[sub["customer"]]
    number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
    customer["next_invoice_sequence"] += 1
    invoice = billing_shapes.invoice(store.new_id("invoice"), when, customer, number)
    # A draft has no number yet; it gets this one when finalized.
    invoice["number"] = None
    store.private(invoice["id"])["number"] = number
    invoice["billing_reason"] = reason
    invoice["subscription"] = sub["id"]
    invoice["parent"] = {
        "quote_details": None,
        "subscription_details": {
            "metadata": clone(sub["metadata"]),
            "subscription": sub["id"],
        },
        "type": "subscription_details",
    }
    data = []
    for item, amount, quantity, period, text, proration in lines:
        line = billing_shapes.invoice_line(
            store.new_id("line_item"),
            invoice["id"],
            item,
            amount,
            quantity,
            period,
            text,
        )
        line["parent"]["subscription_item_details"]["proration"] = proration
        data.append(line)
    invoice["lines"]["data"] = data
    total = sum(line["amount"] for line in data)
    for field in TOTAL_FIELDS:
        invoice[field] = total
    if total < 0:
        # A credit larger than the charges: nothing is due (the emulator does not
        # carry the rest to the customer's balance as Stripe does).
        invoice["amount_due"] = invoice["amount_remaining"] = 0
    if data:
        invoice["period_start"] = min(line["period"]["start"] for line in data)
        invoice["period_end"] = max(line["period"]["end"] for line in data)
    store.save(invoice)
    sub["latest_invoice"] = invoice["id"]
    emit(store, "invoice.created", invoice, created=when)
    return invoice


def finalize(store: Store, invoice: JSON, when: int) -> None:
    invoice["status"] = "open"
    invoice["number"] = store.private(invoice["id"])["number"]
    invoice["effective_at"] = when
    invoice["status_transitions"]["finalized_at"] = when
    invoice["hosted_invoice_url"] = f"{store.public_url}/invoice/{invoice['id']}"
    emit(store, "invoice.finalized", invoice, created=when)


def mark_paid(store: Store, invoice: JSON, when: int) -> None:
    if invoice["amount_due"] > 0:
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
    invoice["status"] = "paid"
    invoice["amount_paid"] = invoice["amount_due"]
    invoice["amount_remaining"] = 0
    invoice["next_payment_attempt"] = None
    invoice["status_transitions"]["paid_at"] = when
    invoice["webhooks_delivered_at"] = when
    emit(store, "invoice.paid", invoice, created=when)
    emit(store, "invoice.payment_succeeded", invoice, created=when)


def mark_failed(store: Store, invoice: JSON, when: int) -> None:
    """Count a failed attempt and schedule the next retry (none after the last)."""
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    retry_days = store.settings["payment_retry_days"]
    attempt = invoice["attempt_count"]
    invoice["next_payment_attempt"] = (
        when + int(retry_days[attempt - 1] * DAY)
        if attempt <= len(retry_days)
        else None
    )
    emit(store, "invoice.payment_failed", invoice, created=when)


def collect(store: Store, sub: JSON, invoice: JSON, when: int) -> bool:
    """Finalize and try to charge an invoice; returns whether it got paid."""
    finalize(store, invoice, when)
    if invoice["amount_due"] == 0:
        mark_paid(store, invoice, when)
        return True
    succeeded, _ = charge_succeeds(store, sub["customer"], sub)
    if succeeded:
        mark_paid(store, invoice, when)
    else:
        mark_failed(store, invoice, when)
    return succeeded


def retry_invoice(store: Store, invoice: JSON, when: int) -> None:
    """A dunning retry of an open renewal invoice; after the last, the configured end."""
    sub = store.find(invoice["subscription"])
    if sub is None:
        return
    before = store.render(sub)
    succeeded, _ = charge_succeeds(store, sub["customer"], sub)
    if succeeded:
        mark_paid(store, invoice, when)
        if sub["status"] in ("past_due", "unpaid", "incomplete"):
            sub["status"] = "active"
    else:
        mark_failed(store, invoice, when)
        if invoice["next_payment_attempt"] is None:
            final = store.settings["final_payment_failure"]
            if final == "cancel":
                end_subscription(store, sub, when, reason="payment_failed")
                return
            if final == "unpaid":
                sub["status"] = "unpaid"
    changes = diff(before, store.render(sub))
    if changes:
        emit(store, "customer.subscription.updated", sub, changes, created=when)


# -- the invoices API ------------------------------------------------------------


def retrieve_invoice(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(store.fetch("invoice", id))


def list_invoices(store: Store, params: JSON) -> JSON:
    return simple_list(
        store,
        "invoice",
        "/v1/invoices",
        params,
        filters=("customer", "subscription", "status"),
        accepted=("collection_method", "due_date"),
    )


def list_invoice_lines(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, LIST_PARAMS)
    invoice = store.fetch("invoice", id)
    return {
        "object": "list",
        "data": clone(invoice["lines"]["data"]),
        "has_more": False,
        "url": f"/v1/invoices/{id}/lines",
    }


def pay_invoice(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, PAY_FIELDS)
    invoice = store.fetch("invoice", id)
    if invoice["status"] != "open":
        raise invalid(
            "Invoice is already paid."
            if invoice["status"] == "paid"
            else f"You cannot pay an invoice with status {invoice['status']}.",
            code="invoice_not_open",
        )
    sub = store.find(invoice["subscription"])
    now = store.now(invoice["customer"])
    probe = dict(
        sub or {},
        default_payment_method=params.get("payment_method")
        or (sub or {}).get("default_payment_method"),
    )
    succeeded, _ = charge_succeeds(store, invoice["customer"], probe)
    if not succeeded:
        mark_failed(store, invoice, now)
        raise card_declined()
    before = store.render(sub) if sub else None
    mark_paid(store, invoice, now)
    if sub and before and sub["status"] in ("incomplete", "past_due", "unpaid"):
        sub["status"] = "active"
        emit(
            store,
            "customer.subscription.updated",
            sub,
            diff(before, store.render(sub)),
        )
    return store.render(invoice)
