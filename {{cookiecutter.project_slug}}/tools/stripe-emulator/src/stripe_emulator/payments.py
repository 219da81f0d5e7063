"""Payment intents: each charge attempt on an invoice, and why it was declined.

As in Stripe's current API, an invoice's payments are reached through its
`payments` (invoice payment objects, listed by `GET /v1/invoice_payments` or with
`expand[]=payments`), each naming a payment intent. One payment intent serves every
attempt on an invoice; after a declined attempt its `last_payment_error` says why
(`decline_code`, `message`), which is where a site reads the reason for a dunning
notice. Every attempt leaves a charge (see `charges.py`), the intent's
`latest_charge`: a site refunds an invoice's payment through it.
"""

from . import billing_shapes
from .charges import record_charge
from .customers import DECLINE_CODES, default_payment_method
from .events import diff, emit
from .listing import list_response, simple_list
from .params import LIST_PARAMS, check_params, clone
from .shapes import JSON
from .store import Store

DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}


def _intent_for(store: Store, invoice: JSON, when: int) -> JSON:
    """The invoice's payment intent, created (with its invoice payment) on first use."""
    private = store.private(invoice["id"])
    intent = store.find(private.get("payment_intent"))
    if intent is not None:
        return intent
    intent = billing_shapes.payment_intent(
        store.new_id("payment_intent"),
        when,
        invoice["customer"],
        invoice["amount_remaining"],
        invoice["currency"],
    )
    store.save(intent)
    private["payment_intent"] = intent["id"]
    link = billing_shapes.invoice_payment(
        store.new_id("invoice_payment"), when, invoice, intent["id"]
    )
    store.save(link)
    emit(store, "payment_intent.created", intent, created=when)
    return intent


def decline_error(pm: JSON) -> JSON:
    """A payment intent's `last_payment_error` after this card was declined."""
    code = DECLINE_CODES.get(pm["card"]["last4"], "generic_decline")
    return {
        "advice_code": None,
        "charge": None,
        "code": "card_declined",
        "decline_code": code,
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "message": DECLINE_MESSAGES.get(code, DECLINE_MESSAGES["generic_decline"]),
        "network_advice_code": None,
        "network_decline_code": None,
        "param": None,
        "payment_method": clone(pm),
        "payment_method_type": "card",
        "type": "card_error",
    }


def charge_intent(
    store: Store, intent: JSON, pm: JSON, when: int, before: JSON | None = None
) -> bool:
    """Charge the intent's amount to `pm` now; returns whether it succeeded.

    Either way a charge is recorded; a decline leaves the intent waiting for another
    payment method, with the reason in `last_payment_error`. `before` is the intent
    as the request found it (for the succeeded event's previous attributes).
    """
    before = before or clone(intent)
    intent["payment_method"] = pm["id"]
    if store.private(pm["id"]).get("behaviour", "success") != "success":
        error = decline_error(pm)
        failure = (error["decline_code"], error["message"])
        error["charge"] = record_charge(store, intent, pm, when, failure)["id"]
        intent.update(status="requires_payment_method", last_payment_error=error)
        emit(store, "payment_intent.payment_failed", intent, created=when)
        return False
    record_charge(store, intent, pm, when)
    intent.update(
        status="succeeded", amount_received=intent["amount"], last_payment_error=None
    )
    emit(store, "payment_intent.succeeded", intent, diff(before, intent), created=when)
    return True


def attempt_payment(
    store: Store,
    invoice: JSON,
    subscription: JSON | None,
    when: int,
    payment_method_id: str | None = None,
) -> bool:
    """Charge what the invoice still owes; returns whether the charge succeeded.

    The card is `payment_method_id` if given, else the one Stripe would use (the
    subscription's, then the customer's default). With no card there is nothing to
    charge: the intent waits for a payment method and no attempt is recorded on it.
    """
    intent = _intent_for(store, invoice, when)
    before = clone(intent)
    intent["amount"] = invoice["amount_remaining"]
    pm = (
        store.find(payment_method_id)
        if payment_method_id
        else default_payment_method(store, invoice["customer"], subscription)
    )
    if pm is None:
        return False
    if not charge_intent(store, intent, pm, when, before):
        return False
    for link in store.where("invoice_payment", "invoice", invoice["id"]):
        link.update(status="paid", amount_paid=intent["amount"])
        link["status_transitions"]["paid_at"] = when
    return True


def cancel_payment(store: Store, invoice: JSON, reason: str, when: int) -> None:
    """The invoice will not be paid (voided): cancel its payment intent, if any."""
    intent = store.find(store.private(invoice["id"]).get("payment_intent"))
    if intent is None or intent["status"] in ("succeeded", "canceled"):
        return
    intent.update(status="canceled", canceled_at=when, cancellation_reason=reason)
    for link in store.where("invoice_payment", "invoice", invoice["id"]):
        link["status"] = "canceled"
        link["status_transitions"]["canceled_at"] = when
    emit(store, "payment_intent.canceled", intent, created=when)


# -- the API ---------------------------------------------------------------------


def retrieve_payment_intent(store: Store, params: JSON, id: str) -> JSON:
    """`GET /v1/payment_intents/{id}`."""
    check_params(params, {"client_secret"})
    return store.render(store.fetch("payment_intent", id))


def list_payment_intents(store: Store, params: JSON) -> JSON:
    """`GET /v1/payment_intents`, optionally one customer's."""
    return simple_list(
        store,
        "payment_intent",
        "/v1/payment_intents",
        params,
        filters=("customer",),
    )


def retrieve_invoice_payment(store: Store, params: JSON, id: str) -> JSON:
    """`GET /v1/invoice_payments/{id}`."""
    check_params(params, set())
    return store.render(store.fetch("invoice_payment", id))


def list_invoice_payments(store: Store, params: JSON) -> JSON:
    """`GET /v1/invoice_payments?invoice=...`, or `payment[payment_intent]=...` (the
    invoice a payment intent paid), or all of them."""
    check_params(params, LIST_PARAMS | {"invoice", "payment", "status"})
    if params.get("invoice"):
        links = store.where("invoice_payment", "invoice", params["invoice"])
    else:
        links = store.of_type("invoice_payment")
    if params.get("status"):
        links = [link for link in links if link["status"] == params["status"]]
    # `payment[type]` and `payment[payment_intent]`: the invoice a payment paid.
    wanted = params.get("payment") or {}
    if wanted.get("payment_intent"):
        links = [
            link
            for link in links
            if link["payment"].get("payment_intent") == wanted["payment_intent"]
        ]
    return list_response(store, "/v1/invoice_payments", links, params)
