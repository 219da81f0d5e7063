"""Payment intents made through the API (one-off payments), and confirming them.

`POST /v1/payment_intents` takes an `amount` and `currency`, optionally a
`customer`, a `payment_method` (an id, or a `pm_card_*` test token: a new card, not
attached) and `confirm=true`. Confirming (`/confirm`, with `payment_method` and
`off_session` too) charges the card at once: `succeeded` with a charge
(`latest_charge`), `charge.succeeded` and `payment_intent.succeeded`; a declined
card leaves `requires_payment_method` with `last_payment_error`, a failed charge,
`charge.failed` and `payment_intent.payment_failed`, and answers Stripe's 402 with
the intent in the error. `setup_future_usage` with a customer attaches the card on
success. Captures are automatic only (no `capture_method=manual`), and no card asks
for 3-D Secure.
"""

import re

from . import billing_shapes, shapes
from .customers import TEST_TOKENS, card_for
from .errors import StripeError, invalid
from .events import emit
from .params import as_bool, as_int, as_string, as_url, check_params, merge_metadata
from .payments import charge_intent
from .shapes import JSON
from .store import Store

CREATE_FIELDS = {
    "amount",
    "automatic_payment_methods",
    "capture_method",
    "confirm",
    "confirmation_method",
    "currency",
    "customer",
    "description",
    "error_on_requires_action",
    "mandate_data",
    "metadata",
    "off_session",
    "payment_method",
    "payment_method_options",
    "payment_method_types",
    "receipt_email",
    "return_url",
    "setup_future_usage",
    "shipping",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_group",
    "use_stripe_sdk",
}
CONFIRM_FIELDS = {
    "error_on_requires_action",
    "mandate_data",
    "off_session",
    "payment_method",
    "payment_method_options",
    "receipt_email",
    "return_url",
    "setup_future_usage",
    "use_stripe_sdk",
}
UPDATE_FIELDS = {
    "amount",
    "currency",
    "customer",
    "description",
    "metadata",
    "payment_method",
    "receipt_email",
    "setup_future_usage",
    "statement_descriptor",
}
CONFIRMABLE = ("requires_payment_method", "requires_confirmation")
CANCEL_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
# Stripe's smallest charge, in the minor unit (50 cents for USD).
MINIMUM_AMOUNT = 50


def card_payment_method(store: Store, card: str, customer_id: str | None) -> JSON:
    """A card payment method from a test card, attached to nobody (a declining
    card is kept: its charges are what fail)."""
    brand, last4, behaviour = card_for(card)
    pm = shapes.payment_method(
        store.new_id("payment_method"),
        store.now(customer_id),
        {"brand": brand, "last4": last4},
        None,
    )
    store.save(pm)
    store.private(pm["id"])["behaviour"] = behaviour
    return pm


def _payment_method(store: Store, value: str, customer_id: str | None) -> JSON:
    if as_string(value, "payment_method") in TEST_TOKENS:
        return card_payment_method(store, value, customer_id)
    pm = store.fetch("payment_method", value, "payment_method")
    if pm["customer"] and pm["customer"] != customer_id:
        raise invalid(
            f"The payment method {value} belongs to another customer.",
            param="payment_method",
        )
    return pm


def _amount(params: JSON, currency: str) -> int:
    amount = as_int(params["amount"], "amount", minimum=1)
    if amount < MINIMUM_AMOUNT:
        raise invalid(
            f"Amount must be at least {MINIMUM_AMOUNT / 100:.2f} {currency}",
            param="amount",
            code="amount_too_small",
        )
    return amount


def new_intent(
    store: Store, amount: int, currency: str, customer_id: str | None, when: int
) -> JSON:
    """A stored payment intent waiting for a payment method (no event yet)."""
    intent = billing_shapes.payment_intent(
        store.new_id("payment_intent"), when, customer_id, amount, currency
    )
    intent["description"] = None
    intent["automatic_payment_methods"] = None
    store.save(intent)
    return intent


def _confirm(store: Store, intent: JSON, params: JSON) -> JSON:
    if intent["status"] not in CONFIRMABLE:
        raise invalid(
            f"You cannot confirm this PaymentIntent because it has a status of"
            f" {intent['status']}.",
            code="payment_intent_unexpected_state",
        )
    if params.get("payment_method"):
        pm = _payment_method(store, params["payment_method"], intent["customer"])
    else:
        pm = store.find(intent["payment_method"])
    if pm is None:
        raise invalid(
            "You cannot confirm this PaymentIntent because it's missing a payment"
            " method.",
            param="payment_method",
            code="payment_intent_unexpected_state",
        )
    if "off_session" in params:
        as_bool(params["off_session"], "off_session")
    if params.get("receipt_email"):
        intent["receipt_email"] = params["receipt_email"]
    if params.get("setup_future_usage"):
        intent["setup_future_usage"] = params["setup_future_usage"]
    when = store.now(intent["customer"])
    if not charge_intent(store, intent, pm, when):
        error = intent["last_payment_error"]
        raise StripeError(
            402,
            error["message"],
            code="card_declined",
            decline_code=error["decline_code"],
            charge=error["charge"],
            payment_intent=store.render(intent),
        )
    if intent["setup_future_usage"] and intent["customer"] and not pm["customer"]:
        # A card kept for later is attached to the customer once it has paid.
        pm["customer"] = intent["customer"]
        store.save(pm)
        emit(store, "payment_method.attached", pm, created=when)
    return store.render(intent)


def create_payment_intent(store: Store, params: JSON) -> JSON:
    """`POST /v1/payment_intents` (and `confirm=true` to charge at once)."""
    check_params(params, CREATE_FIELDS, required=["amount", "currency"])
    if params.get("return_url"):
        as_url(params["return_url"], "return_url")
    currency = str(params["currency"]).lower()
    if not re.match(r"^[a-z]{3}$", currency):
        raise invalid(f"Invalid currency: {params['currency']}.", param="currency")
    amount = _amount(params, currency)
    if params.get("capture_method") not in (None, "", "automatic", "automatic_async"):
        raise invalid(
            "The emulator captures payments automatically only.",
            param="capture_method",
            code="parameter_invalid_string",
        )
    customer_id = None
    if params.get("customer"):
        customer_id = store.fetch("customer", params["customer"], "customer")["id"]
    when = store.now(customer_id)
    pm = None
    if params.get("payment_method"):
        pm = _payment_method(store, params["payment_method"], customer_id)
    intent = new_intent(store, amount, currency, customer_id, when)
    intent["description"] = params.get("description") or None
    intent["metadata"] = merge_metadata({}, params.get("metadata") or {})
    intent["receipt_email"] = params.get("receipt_email") or None
    intent["statement_descriptor"] = params.get("statement_descriptor") or None
    intent["setup_future_usage"] = params.get("setup_future_usage") or None
    if pm is not None:
        intent["payment_method"] = pm["id"]
        intent["status"] = "requires_confirmation"
    emit(store, "payment_intent.created", intent, created=when)
    if as_bool(params.get("confirm", False), "confirm"):
        confirm = {k: v for k, v in params.items() if k in CONFIRM_FIELDS}
        confirm.pop("payment_method", None)
        return _confirm(store, intent, confirm)
    return store.render(intent)


def confirm_payment_intent(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/payment_intents/{id}/confirm`."""
    check_params(params, CONFIRM_FIELDS)
    if params.get("return_url"):
        as_url(params["return_url"], "return_url")
    return _confirm(store, store.fetch("payment_intent", id), params)


def update_payment_intent(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/payment_intents/{id}`: before it succeeds, most fields; after,
    only `description`, `metadata` and `receipt_email`."""
    check_params(params, UPDATE_FIELDS)
    intent = store.fetch("payment_intent", id)
    settled = intent["status"] in ("succeeded", "canceled")
    if settled and set(params) - {"description", "metadata", "receipt_email"}:
        raise invalid(
            f"This PaymentIntent's status is {intent['status']}: only description,"
            " metadata and receipt_email can change.",
            code="payment_intent_unexpected_state",
        )
    if params.get("customer"):
        intent["customer"] = store.fetch("customer", params["customer"], "customer")[
            "id"
        ]
        store.save(intent)
    if "amount" in params:
        intent["amount"] = _amount(params, intent["currency"])
    if params.get("payment_method"):
        pm = _payment_method(store, params["payment_method"], intent["customer"])
        intent["payment_method"] = pm["id"]
        intent["status"] = "requires_confirmation"
    for field in ("description", "receipt_email", "statement_descriptor"):
        if field in params:
            intent[field] = params[field] or None
    if "setup_future_usage" in params:
        intent["setup_future_usage"] = params["setup_future_usage"] or None
    if "metadata" in params:
        intent["metadata"] = merge_metadata(intent["metadata"], params["metadata"])
    return store.render(intent)


def cancel_payment_intent(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/payment_intents/{id}/cancel` of one not yet paid."""
    check_params(params, {"cancellation_reason"})
    intent = store.fetch("payment_intent", id)
    if intent["status"] not in (*CONFIRMABLE, "requires_action"):
        raise invalid(
            f"You cannot cancel this PaymentIntent because it has a status of"
            f" {intent['status']}.",
            code="payment_intent_unexpected_state",
        )
    reason = params.get("cancellation_reason") or None
    if reason is not None and reason not in CANCEL_REASONS:
        raise invalid(
            "Invalid cancellation_reason.",
            param="cancellation_reason",
            code="parameter_invalid_string",
        )
    when = store.now(intent["customer"])
    intent.update(status="canceled", canceled_at=when, cancellation_reason=reason)
    emit(store, "payment_intent.canceled", intent, created=when)
    return store.render(intent)
