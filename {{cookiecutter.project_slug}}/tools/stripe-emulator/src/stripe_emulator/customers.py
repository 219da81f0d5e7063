"""Customers and their card payment methods, with Stripe's test cards.

A payment method's emulator-only `behaviour` (in the store's private data) says what
charging it does: "success", or "charge_fail" for a card that is accepted when entered
but declines every later charge (dunning tests switch it with `set_card`).
"""

import re

from . import balances, shapes
from .errors import StripeError, card_declined, invalid, missing
from .events import diff, emit
from .lifecycle import ENDED, end_subscription
from .listing import list_response, simple_list
from .params import (
    LIST_PARAMS,
    as_string,
    as_strings,
    check_params,
    clone,
    merge_metadata,
)
from .shapes import JSON
from .store import Store

# Stripe's test cards: number -> (brand, last4, behaviour). "decline" fails when the
# card is entered; "charge_fail" is accepted but every later charge fails.
TEST_CARDS = {
    "4242424242424242": ("visa", "4242", "success"),
    "5555555555554444": ("mastercard", "4444", "success"),
    "4000000000000002": ("visa", "0002", "decline"),
    "4000000000009995": ("visa", "9995", "decline"),
    "4000000000000341": ("visa", "0341", "charge_fail"),
}
# Stripe's test payment method tokens and the card each stands for.
TEST_TOKENS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeCustomerFail": "4000000000000341",
}
CARD_ALIASES = {"success": "4242424242424242", "decline": "4000000000000002"}
DECLINE_CODES = {
    "0002": "generic_decline",
    "9995": "insufficient_funds",
    "0341": "generic_decline",
}
CUSTOMER_FIELDS = {
    "address",
    "balance",
    "description",
    "email",
    "invoice_prefix",
    "invoice_settings",
    "metadata",
    "name",
    "next_invoice_sequence",
    "payment_method",
    "phone",
    "preferred_locales",
    "shipping",
    "tax_exempt",
    "test_clock",
    "validate",
}


def card_for(card: str) -> tuple[str, str, str]:
    """Resolve 'success' / 'decline' / a card number / a pm_card_* token to a test card."""
    card = as_string(card, "payment_method")
    number = CARD_ALIASES.get(card, TEST_TOKENS.get(card, card))
    number = re.sub(r"\D", "", str(number))
    if number not in TEST_CARDS:
        raise StripeError(
            402,
            "Your card number is incorrect.",
            code="incorrect_number",
            param="number",
            error_type="card_error",
        )
    return TEST_CARDS[number]


# -- customers -------------------------------------------------------------------


def _apply_customer_fields(
    store: Store, customer: JSON, params: JSON, creating: bool = False
) -> None:
    for field in ("email", "name", "description", "phone"):
        if field in params:
            customer[field] = params[field] or None
    for field in ("address", "shipping"):
        if field in params:
            customer[field] = (
                dict(shapes.address(), **params[field])
                if isinstance(params[field], dict) and field == "address"
                else (params[field] or None)
            )
    if "metadata" in params:
        customer["metadata"] = merge_metadata(customer["metadata"], params["metadata"])
    if "preferred_locales" in params:
        customer["preferred_locales"] = as_strings(
            params["preferred_locales"], "preferred_locales"
        )
    if "tax_exempt" in params:
        customer["tax_exempt"] = params["tax_exempt"] or "none"
    if "balance" in params:
        # The balance is a ledger: the change is recorded as an entry.
        kind = "initial" if creating else "adjustment"
        balances.set_balance(store, customer, params["balance"], kind)
    settings = params.get("invoice_settings")
    if isinstance(settings, dict) and "default_payment_method" in settings:
        pm_id = settings["default_payment_method"]
        if pm_id:
            pm = store.fetch(
                "payment_method", pm_id, "invoice_settings[default_payment_method]"
            )
            if pm["customer"] != customer["id"]:
                raise invalid(
                    f"The payment method `{pm_id}` is not attached to this customer.",
                    param="invoice_settings[default_payment_method]",
                )
        customer["invoice_settings"]["default_payment_method"] = pm_id or None


def create_customer(store: Store, params: JSON) -> JSON:
    check_params(params, CUSTOMER_FIELDS)
    customer = shapes.customer(
        store.new_id("customer"), store.now(), store.count("customer") + 1
    )
    if params.get("test_clock"):
        clock = store.fetch(
            "test_helpers.test_clock", params["test_clock"], "test_clock"
        )
        customer["test_clock"] = clock["id"]
        customer["created"] = clock["frozen_time"]
    store.save(customer)
    settings = params.get("invoice_settings") or {}
    rest = {k: v for k, v in params.items() if k != "invoice_settings"}
    try:
        _apply_customer_fields(store, customer, rest, creating=True)
        pm = None
        if params.get("payment_method"):
            pm = attach_card(
                store, customer["id"], params["payment_method"], emit_event=False
            )
        if isinstance(settings, dict) and settings.get("default_payment_method"):
            _apply_customer_fields(store, customer, {"invoice_settings": settings})
    except StripeError:
        # Refused: nothing of the new customer stays (its opening balance entry).
        for entry in store.where(
            "customer_balance_transaction", "customer", customer["id"]
        ):
            store.remove(entry["id"])
        store.remove(customer["id"])
        raise
    emit(store, "customer.created", customer)
    if pm is not None:
        emit(store, "payment_method.attached", pm)
    return store.render(customer)


def retrieve_customer(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    if store.private(id).get("deleted"):
        return shapes.deleted("customer", id)
    return store.render(store.fetch("customer", id))


def update_customer(store: Store, params: JSON, id: str) -> JSON:
    check_params(
        params, CUSTOMER_FIELDS - {"test_clock", "payment_method"} | {"source"}
    )
    customer = store.fetch("customer", id)
    before = clone(customer)
    _apply_customer_fields(store, customer, params)
    changes = diff(before, customer)
    if changes:
        emit(store, "customer.updated", customer, changes)
    return store.render(customer)


def delete_customer(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    customer = store.fetch("customer", id)
    for sub in store.oldest_first(store.where("subscription", "customer", id)):
        if sub["status"] not in ENDED:
            end_subscription(store, sub, store.now(id), reason="cancellation_requested")
    store.remove(id)
    store.private(id)["deleted"] = True
    emit(store, "customer.deleted", customer)
    return shapes.deleted("customer", id)


def list_customers(store: Store, params: JSON) -> JSON:
    return simple_list(
        store, "customer", "/v1/customers", params, filters=("email", "test_clock")
    )


def list_customer_sources(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, LIST_PARAMS | {"object"})
    store.fetch("customer", id)
    return shapes.empty_list(f"/v1/customers/{id}/sources")


def list_customer_tax_ids(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, LIST_PARAMS)
    store.fetch("customer", id)
    return shapes.empty_list(f"/v1/customers/{id}/tax_ids")


# -- payment methods -------------------------------------------------------------


def attach_card(
    store: Store, customer_id: str, card: str, emit_event: bool = True
) -> JSON:
    """Create a card payment method from a test card and attach it to the customer."""
    brand, last4, behaviour = card_for(card)
    if behaviour == "decline":
        raise card_declined(param="payment_method")
    pm = shapes.payment_method(
        store.new_id("payment_method"),
        store.now(customer_id),
        {"brand": brand, "last4": last4},
        customer_id,
    )
    store.save(pm)
    store.private(pm["id"])["behaviour"] = behaviour
    if emit_event:
        emit(store, "payment_method.attached", pm)
    return pm


def default_payment_method(
    store: Store, customer_id: str, subscription: JSON | None = None
) -> JSON | None:
    """The card a charge uses: the subscription's, the customer's default, or the latest."""
    if subscription:
        chosen = store.find(subscription.get("default_payment_method"))
        if chosen is not None:
            return chosen
    customer = store.find(customer_id)
    if customer is None:
        return None
    default = store.find(customer["invoice_settings"]["default_payment_method"])
    if default is not None:
        return default
    attached = store.where("payment_method", "customer", customer_id)
    return store.oldest_first(attached)[-1] if attached else None


def set_payment_behaviour(store: Store, customer_id: str, behaviour: str) -> None:
    """Make the customer's card succeed ('success') or fail ('fail') from now on."""
    pm = default_payment_method(store, customer_id)
    if pm is None:
        raise missing("payment method for customer", customer_id)
    store.private(pm["id"])["behaviour"] = (
        "success" if behaviour == "success" else "charge_fail"
    )


def charge_succeeds(
    store: Store, customer_id: str, subscription: JSON | None = None
) -> tuple[bool, str | None]:
    """Whether charging the customer now would succeed, and the decline code if not."""
    pm = default_payment_method(store, customer_id, subscription)
    if pm is None:
        return False, "no_payment_method"
    if store.private(pm["id"]).get("behaviour", "success") == "success":
        return True, None
    return False, DECLINE_CODES.get(pm["card"]["last4"], "generic_decline")


def retrieve_payment_method(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    if id in TEST_TOKENS:
        raise missing("payment_method", id)
    return store.render(store.fetch("payment_method", id))


def list_payment_methods(store: Store, params: JSON) -> JSON:
    check_params(params, LIST_PARAMS | {"customer", "type"})
    if params.get("customer"):
        pms = store.where("payment_method", "customer", params["customer"])
    else:
        pms = store.of_type("payment_method")
    if params.get("type"):
        pms = [p for p in pms if p["type"] == params["type"]]
    return list_response(store, "/v1/payment_methods", pms, params)


def list_customer_payment_methods(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, LIST_PARAMS | {"type", "allow_redisplay"})
    store.fetch("customer", id)
    pms = store.where("payment_method", "customer", id)
    return list_response(store, f"/v1/customers/{id}/payment_methods", pms, params)


def attach_payment_method(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, {"customer"}, required=["customer"])
    customer = store.fetch("customer", params["customer"], "customer")
    if id in TEST_TOKENS:
        return store.render(attach_card(store, customer["id"], id))
    pm = store.fetch("payment_method", id)
    pm["customer"] = customer["id"]
    store.save(pm)
    emit(store, "payment_method.attached", pm)
    return store.render(pm)


def detach_payment_method(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    pm = store.fetch("payment_method", id)
    customer = store.find(pm["customer"])
    if customer and customer["invoice_settings"]["default_payment_method"] == id:
        before = clone(customer)
        customer["invoice_settings"]["default_payment_method"] = None
        emit(store, "customer.updated", customer, diff(before, customer))
    pm["customer"] = None
    store.save(pm)
    emit(store, "payment_method.detached", pm)
    return store.render(pm)
