"""Invoices and dunning: drafting, finalizing and charging subscription invoices,
retrying failed renewal payments on the configured schedule, voiding and marking
them uncollectible, and the invoices API.

Each failed attempt emits `invoice.payment_failed` (the invoice carries
`attempt_count`, `next_payment_attempt`, `amount_due` and `hosted_invoice_url`)
then `invoice.updated`; the decline reason is on the invoice's payment intent (see
`payments.py`). Retries follow `payment_retry_days`, each counted from the
previous attempt as in Stripe's custom retry schedule; after the last one,
`final_payment_failure` says what becomes of the subscription.
"""

from . import balances, billing_shapes, discounts
from .customers import attach_card, default_payment_method
from .errors import StripeError, invalid
from .events import diff, emit
from .lifecycle import ENDED, end_subscription
from .listing import simple_list
from .params import LIST_PARAMS, as_bool, check_params, clone
from .payments import attempt_payment, cancel_payment
from .shapes import JSON
from .store import Store

DAY = 86400
PAY_FIELDS = {
    "payment_method",
    "off_session",
    "paid_out_of_band",
    "source",
    "forgive",
    "mandate",
}
# Subscription statuses that a settled (paid, voided, uncollectible) invoice ends.
OWING = ("past_due", "unpaid")
# One invoice line to be: (subscription item, amount, quantity, period, description,
# whether it is a proration).
Line = tuple[JSON, int, int, dict[str, int], str, bool]


def draft_invoice(store: Store, customer: JSON, when: int) -> JSON:
    """An empty draft invoice for the customer (not stored yet); it takes the
    customer's next invoice number when finalized."""
    number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
    customer["next_invoice_sequence"] += 1
    invoice = billing_shapes.invoice(store.new_id("invoice"), when, customer, number)
    invoice["number"] = None
    store.private(invoice["id"])["number"] = number
    return invoice


def new_invoice(
    store: Store, sub: JSON, reason: str, lines: list[Line], when: int
) -> JSON:
    """A draft invoice for `sub` with these lines; it becomes the latest invoice."""
    invoice = draft_invoice(store, store.objects[sub["customer"]], when)
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
    invoice["currency"] = sub["currency"]
    for line in data:
        line["currency"] = sub["currency"]
    set_totals(store, invoice, discounts.active_discounts(store, sub, when))
    if data:
        invoice["period_start"] = min(line["period"]["start"] for line in data)
        invoice["period_end"] = max(line["period"]["end"] for line in data)
    store.save(invoice)
    sub["latest_invoice"] = invoice["id"]
    emit(store, "invoice.created", invoice, created=when)
    discounts.use_up_once(store, invoice)
    return invoice


def set_totals(store: Store, invoice: JSON, applied: list[JSON]) -> None:
    """Discount the invoice's lines, then its subtotal, total and (with the
    customer's balance as it is now) amount due."""
    taken = discounts.discount_invoice(store, invoice, applied)
    subtotal = sum(line["amount"] for line in invoice["lines"]["data"])
    invoice["subtotal"] = invoice["subtotal_excluding_tax"] = subtotal
    invoice["total"] = invoice["total_excluding_tax"] = subtotal - taken
    balances.preview(store, invoice)


def finalize(store: Store, invoice: JSON, when: int, use_balance: bool = True) -> None:
    """Draft to open: the customer's balance is applied (unless not `use_balance`:
    an invoice already paid), and the invoice gets its number, hosted page and
    PDF."""
    if use_balance:
        balances.apply_to_invoice(store, invoice, when)
    invoice["status"] = "open"
    invoice["number"] = store.private(invoice["id"])["number"]
    invoice["effective_at"] = when
    invoice["status_transitions"]["finalized_at"] = when
    invoice["hosted_invoice_url"] = f"{store.public_url}/invoice/{invoice['id']}"
    invoice["invoice_pdf"] = f"{invoice['hosted_invoice_url']}/pdf"
    emit(store, "invoice.finalized", invoice, created=when)


def mark_paid(store: Store, invoice: JSON, when: int, attempted: bool = True) -> None:
    """The invoice is paid (by a charge, or out of band when not `attempted`)."""
    if invoice["amount_due"] > 0 and attempted:
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
    """Count a failed attempt and schedule the next retry (none after the last, and
    none for invoices that are not retried: first and resumption invoices)."""
    before = clone(invoice)
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    retry_days = store.settings["payment_retry_days"]
    attempt = invoice["attempt_count"]
    retried = not store.private(invoice["id"]).get("no_retries")
    invoice["next_payment_attempt"] = (
        when + int(retry_days[attempt - 1] * DAY)
        if retried and attempt <= len(retry_days)
        else None
    )
    emit(store, "invoice.payment_failed", invoice, created=when)
    emit(store, "invoice.updated", invoice, diff(before, invoice), created=when)


def collect(
    store: Store, sub: JSON, invoice: JSON, when: int, retries: bool = True
) -> bool:
    """Finalize and try to charge an invoice; returns whether it got paid.

    Without `retries` a failed charge is not retried on the dunning schedule.
    """
    if not retries:
        store.private(invoice["id"])["no_retries"] = True
    finalize(store, invoice, when)
    if invoice["amount_due"] == 0:
        mark_paid(store, invoice, when)
        return True
    if attempt_payment(store, invoice, sub, when):
        mark_paid(store, invoice, when)
        return True
    mark_failed(store, invoice, when)
    return False


def bill_paused_collection(
    store: Store, invoice: JSON, behavior: str, when: int
) -> None:
    """A renewal invoice while `pause_collection` is set: never charged; kept as a
    draft, or finalized then marked uncollectible or voided."""
    invoice["auto_advance"] = False
    if behavior == "keep_as_draft":
        return
    finalize(store, invoice, when)
    if behavior == "void":
        _void(store, invoice, when)
    else:
        _mark_uncollectible(store, invoice, when)


def _void(store: Store, invoice: JSON, when: int) -> None:
    invoice["status"] = "void"
    invoice["status_transitions"]["voided_at"] = when
    invoice["next_payment_attempt"] = None
    invoice["auto_advance"] = False
    emit(store, "invoice.voided", invoice, created=when)
    cancel_payment(store, invoice, "void_invoice", when)
    balances.give_back(store, invoice, when)


def _mark_uncollectible(store: Store, invoice: JSON, when: int) -> None:
    invoice["status"] = "uncollectible"
    invoice["status_transitions"]["marked_uncollectible_at"] = when
    invoice["next_payment_attempt"] = None
    invoice["auto_advance"] = False
    emit(store, "invoice.marked_uncollectible", invoice, created=when)


def settle(store: Store, invoice: JSON, when: int) -> None:
    """The invoice no longer waits for payment (paid, voided or uncollectible):
    return its subscription to `active` where Stripe does.

    A past_due or unpaid subscription is active again once none of its invoices
    awaits a failed payment; an incomplete one once its first invoice is paid; a
    paused one once its resumption invoice is paid or uncollectible (a voided one
    leaves it paused).
    """
    sub = store.find(invoice["subscription"])
    if sub is None or sub["status"] in ENDED:
        return
    before = store.render(sub)
    status = sub["status"]
    resumes = store.private(invoice["id"]).get("resumes_subscription")
    if status == "paused" and resumes and invoice["status"] != "void":
        sub["status"] = "active"
        emit(store, "customer.subscription.resumed", sub, created=when)
    elif status == "incomplete" and invoice["status"] == "paid":
        sub["status"] = "active"
    elif status in OWING:
        waiting = [
            other
            for other in store.where("invoice", "subscription", sub["id"])
            if other["status"] == "open" and other["attempt_count"] > 0
        ]
        if not waiting:
            sub["status"] = "active"
    changes = diff(before, store.render(sub))
    if changes:
        emit(store, "customer.subscription.updated", sub, changes, created=when)


def retry_invoice(store: Store, invoice: JSON, when: int) -> None:
    """A dunning retry of an open renewal invoice; after the last, the configured end."""
    sub = store.find(invoice["subscription"])
    if sub is None:
        return
    if attempt_payment(store, invoice, sub, when):
        mark_paid(store, invoice, when)
        settle(store, invoice, when)
        return
    before = store.render(sub)
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
    """`GET /v1/invoices/{id}`."""
    check_params(params, set())
    return store.render(store.fetch("invoice", id))


def list_invoices(store: Store, params: JSON) -> JSON:
    """`GET /v1/invoices`, newest first."""
    return simple_list(
        store,
        "invoice",
        "/v1/invoices",
        params,
        filters=("customer", "subscription", "status"),
        accepted=("collection_method", "due_date"),
    )


def list_invoice_lines(store: Store, params: JSON, id: str) -> JSON:
    """`GET /v1/invoices/{id}/lines`."""
    check_params(params, LIST_PARAMS)
    invoice = store.fetch("invoice", id)
    return {
        "object": "list",
        "data": clone(invoice["lines"]["data"]),
        "has_more": False,
        "url": f"/v1/invoices/{id}/lines",
    }


def _open_invoice(store: Store, id: str, verb: str) -> JSON:
    invoice = store.fetch("invoice", id)
    if invoice["status"] == "open":
        return invoice
    if invoice["status"] == "paid":
        message = "Invoice is already paid."
    elif invoice["status"] == "draft":
        message = f"This invoice is a draft: finalize it before you {verb} it."
    else:
        message = f"You cannot {verb} an invoice with status {invoice['status']}."
    raise invalid(message, code="invoice_not_open")


def pay_invoice(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/invoices/{id}/pay`: charge it now (or `paid_out_of_band=true`)."""
    check_params(params, PAY_FIELDS)
    invoice = _open_invoice(store, id, "pay")
    sub = store.find(invoice["subscription"])
    now = store.now(invoice["customer"])
    out_of_band = "paid_out_of_band" in params and as_bool(
        params["paid_out_of_band"], "paid_out_of_band"
    )
    if out_of_band:
        mark_paid(store, invoice, now, attempted=False)
        settle(store, invoice, now)
        return store.render(invoice)
    pm_id = params.get("payment_method") or None
    if pm_id:
        store.fetch("payment_method", pm_id, "payment_method")
    elif default_payment_method(store, invoice["customer"], sub) is None:
        raise invalid(
            "This customer has no attached payment source or default payment"
            " method. Please consider adding a default payment method.",
            code="invoice_no_customer_payment_method",
        )
    if not attempt_payment(store, invoice, sub, now, pm_id):
        mark_failed(store, invoice, now)
        intent = store.objects[store.private(invoice["id"])["payment_intent"]]
        error = intent["last_payment_error"]
        raise StripeError(
            402,
            error["message"],
            code="card_declined",
            decline_code=error["decline_code"],
            error_type="card_error",
        )
    mark_paid(store, invoice, now)
    settle(store, invoice, now)
    return store.render(invoice)


def void_invoice(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/invoices/{id}/void`: an open invoice will never be paid."""
    check_params(params, set())
    invoice = store.fetch("invoice", id)
    if invoice["status"] != "uncollectible":
        invoice = _open_invoice(store, id, "void")
    now = store.now(invoice["customer"])
    _void(store, invoice, now)
    settle(store, invoice, now)
    return store.render(invoice)


def mark_uncollectible(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/invoices/{id}/mark_uncollectible`: written off as bad debt."""
    check_params(params, set())
    invoice = _open_invoice(store, id, "mark uncollectible")
    now = store.now(invoice["customer"])
    _mark_uncollectible(store, invoice, now)
    settle(store, invoice, now)
    return store.render(invoice)


def pay_with_card(store: Store, invoice_id: str, card: str) -> JSON:
    """What the hosted invoice page does: pay with a card entered there (saved to
    the customer, not made the default). Declined: StripeError (402)."""
    invoice = _open_invoice(store, invoice_id, "pay")
    pm = attach_card(store, invoice["customer"], card)
    return pay_invoice(store, {"payment_method": pm["id"]}, invoice_id)
