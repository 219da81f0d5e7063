"""Charges and refunds: what every card payment left behind, and their API.

Each payment attempt of a payment intent (an invoice's, one made through the API,
or Checkout's in payment mode) leaves a charge: `succeeded` (`charge.succeeded`),
or `failed` (`charge.failed`, with `failure_code` and `failure_message`); the
intent's `latest_charge` names the last one. A charge's receipt is a hosted page at
its `receipt_url` (`/receipt/{charge id}` on the emulator).

A refund (`POST /v1/refunds` with `charge` or `payment_intent`) gives back what
remains of a succeeded charge, or part of it (`amount`). Asking for more than
remains is refused with Stripe's error (`charge_already_refunded` once nothing
remains, `amount_too_large` otherwise). Card refunds succeed at once, with
`charge.refunded` (the charge's `amount_refunded`, `refunded` once whole, and its
`refunds`) and `refund.created`; a refund's metadata update sends `refund.updated`
and `charge.refund.updated`. What the Dashboard's "Refund" does is this same call.
"""

from . import money_shapes
from .coupons import display_amount
from .errors import StripeError, invalid, missing
from .events import diff, emit
from .listing import list_response
from .params import (
    LIST_PARAMS,
    as_int,
    check_params,
    clone,
    created_filter,
    merge_metadata,
)
from .shapes import JSON
from .store import Store

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
REFUND_CREATE_FIELDS = {
    "amount",
    "charge",
    "currency",
    "customer",
    "instructions_email",
    "metadata",
    "origin",
    "payment_intent",
    "reason",
    "refund_application_fee",
    "reverse_transfer",
}


def record_charge(
    store: Store,
    intent: JSON,
    pm: JSON,
    when: int,
    failure: tuple[str, str] | None = None,
) -> JSON:
    """The charge of one payment attempt; `failure` is (decline code, message).

    Sends `charge.succeeded` or `charge.failed` and becomes the intent's
    `latest_charge`.
    """
    charge_id = store.new_id("charge")
    receipt = f"{store.public_url}/receipt/{charge_id}"
    charge = money_shapes.charge(charge_id, when, intent, pm, receipt)
    if failure is not None:
        decline_code, message = failure
        charge.update(
            status="failed",
            paid=False,
            captured=False,
            amount_captured=0,
            failure_code="card_declined",
            failure_message=message,
        )
        charge["outcome"].update(
            network_status="declined_by_network",
            reason=decline_code,
            seller_message="The bank did not return any further details.",
            type="issuer_declined",
        )
    store.save(charge)
    intent["latest_charge"] = charge_id
    kind = "charge.failed" if failure else "charge.succeeded"
    emit(store, kind, charge, created=when)
    return charge


# -- charges ---------------------------------------------------------------------


def retrieve_charge(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(store.fetch("charge", id))


def update_charge(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/charges/{id}`: `description`, `metadata`, `receipt_email`."""
    check_params(params, {"description", "metadata", "receipt_email"})
    charge = store.fetch("charge", id)
    before = clone(charge)
    for field in ("description", "receipt_email"):
        if field in params:
            charge[field] = params[field] or None
    if "metadata" in params:
        charge["metadata"] = merge_metadata(charge["metadata"], params["metadata"])
    changes = diff(before, charge)
    if changes:
        emit(store, "charge.updated", charge, changes)
    return store.render(charge)


def list_charges(store: Store, params: JSON) -> JSON:
    """`GET /v1/charges`, newest first (`customer`, `payment_intent`, `created`)."""
    check_params(
        params,
        LIST_PARAMS | {"created", "customer", "payment_intent", "transfer_group"},
    )
    if params.get("payment_intent"):
        found = store.where("charge", "payment_intent", params["payment_intent"])
    elif params.get("customer"):
        found = store.where("charge", "customer", params["customer"])
    else:
        found = store.of_type("charge")
    if params.get("customer"):
        found = [c for c in found if c["customer"] == params["customer"]]
    matches = created_filter(params.get("created"))
    found = [c for c in found if matches(c["created"])]
    return list_response(store, "/v1/charges", found, params)


def list_charge_refunds(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, LIST_PARAMS)
    store.fetch("charge", id)
    found = store.where("refund", "charge", id)
    return list_response(store, f"/v1/charges/{id}/refunds", found, params)


def retrieve_charge_refund(store: Store, params: JSON, id: str, refund: str) -> JSON:
    check_params(params, set())
    found = store.fetch("refund", refund)
    if found["charge"] != id:
        raise missing("refund", refund)
    return store.render(found)


# -- refunds ---------------------------------------------------------------------


def _refundable_charge(store: Store, params: JSON) -> JSON:
    """The charge a refund request names (directly or by its payment intent)."""
    if params.get("charge") and params.get("payment_intent"):
        raise invalid(
            "You may only specify one of these parameters: charge, payment_intent.",
            param="payment_intent",
        )
    if params.get("charge"):
        charge = store.fetch("charge", params["charge"], "charge")
    elif params.get("payment_intent"):
        intent = store.fetch(
            "payment_intent", params["payment_intent"], "payment_intent"
        )
        charge = store.find(intent["latest_charge"])
        if intent["status"] != "succeeded" or charge is None:
            raise invalid(
                f"This PaymentIntent ({intent['id']}) does not have a successful"
                " charge to refund.",
                param="payment_intent",
            )
    else:
        raise invalid(
            "Missing required param: charge or payment_intent.",
            param="charge",
            code="parameter_missing",
        )
    if charge["status"] != "succeeded":
        raise invalid(
            f"Charge {charge['id']} has not succeeded: there is nothing to refund.",
            param="charge",
        )
    return charge


def _refresh_refunds(store: Store, charge: JSON) -> None:
    # The charge embeds its refunds, newest first, as Stripe shows them.
    found = store.oldest_first(store.where("refund", "charge", charge["id"]))
    charge["refunds"]["data"] = [store.render(r) for r in reversed(found)]


def create_refund(store: Store, params: JSON) -> JSON:
    """`POST /v1/refunds`: all that remains of the charge, or `amount` of it."""
    check_params(params, REFUND_CREATE_FIELDS)
    charge = _refundable_charge(store, params)
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining <= 0:
        raise StripeError(
            400,
            f"Charge {charge['id']} has already been refunded.",
            code="charge_already_refunded",
            param="charge",
        )
    amount = remaining
    if params.get("amount") not in (None, ""):
        amount = as_int(params["amount"], "amount", minimum=1)
    if amount > remaining:
        currency = charge["currency"]
        raise StripeError(
            400,
            f"Refund amount ({display_amount(amount, currency)}) is greater than"
            f" unrefunded amount on charge ({display_amount(remaining, currency)})",
            code="amount_too_large",
            param="amount",
        )
    reason = params.get("reason") or None
    if reason is not None and reason not in REFUND_REASONS:
        raise invalid(
            "Invalid reason: must be one of duplicate, fraudulent,"
            " requested_by_customer.",
            param="reason",
            code="parameter_invalid_string",
        )
    when = store.now(charge["customer"])
    refund = money_shapes.refund(store.new_id("refund"), when, charge, amount)
    refund["reason"] = reason
    refund["metadata"] = merge_metadata({}, params.get("metadata") or {})
    store.save(refund)
    before = clone(charge)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    _refresh_refunds(store, charge)
    emit(store, "charge.refunded", charge, diff(before, charge), created=when)
    emit(store, "refund.created", refund, created=when)
    return store.render(refund)


def retrieve_refund(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(store.fetch("refund", id))


def update_refund(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/refunds/{id}`: only `metadata` changes."""
    check_params(params, {"metadata"})
    refund = store.fetch("refund", id)
    before = clone(refund)
    if "metadata" in params:
        refund["metadata"] = merge_metadata(refund["metadata"], params["metadata"])
    changes = diff(before, refund)
    if changes:
        charge = store.find(refund["charge"])
        if charge is not None:
            _refresh_refunds(store, charge)
        emit(store, "refund.updated", refund, changes)
        emit(store, "charge.refund.updated", refund, changes)
    return store.render(refund)


def list_refunds(store: Store, params: JSON) -> JSON:
    """`GET /v1/refunds`, newest first (`charge`, `payment_intent`, `created`)."""
    check_params(params, LIST_PARAMS | {"charge", "created", "payment_intent"})
    if params.get("charge"):
        found = store.where("refund", "charge", params["charge"])
    else:
        found = store.of_type("refund")
    if params.get("payment_intent"):
        found = [r for r in found if r["payment_intent"] == params["payment_intent"]]
    matches = created_filter(params.get("created"))
    found = [r for r in found if matches(r["created"])]
    return list_response(store, "/v1/refunds", found, params)
