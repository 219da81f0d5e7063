"""Checkout Sessions (mode=subscription): the API, and completing one as the hosted
page does (customer, card, subscription and first invoice in one step).

With `payment_method_collection=if_required` and nothing due today (a trial), the
page completes without a card ("Start trial"): the customer gets no payment method,
and the trial's end follows `subscription_data.trial_settings`.

The session's line items and `subscription_data` are kept in the store's private
data: Stripe returns line items only through their own endpoint or `expand`.
"""

from . import billing_shapes, shapes
from .catalog import price_amount, price_name, recurring_price
from .customers import attach_card, card_for
from .errors import card_declined, invalid
from .events import diff, emit
from .invoices import DAY
from .listing import simple_list
from .params import (
    LIST_PARAMS,
    as_bool,
    as_int,
    check_params,
    clone,
    merge_metadata,
)
from .shapes import JSON
from .store import Store
from .subscriptions import items_spec, start_subscription, trial_end_behavior_param

CHECKOUT_EXPIRES_AFTER = DAY
CHECKOUT_FIELDS = {
    "allow_promotion_codes",
    "automatic_tax",
    "billing_address_collection",
    "cancel_url",
    "client_reference_id",
    "consent_collection",
    "currency",
    "custom_text",
    "customer",
    "customer_email",
    "customer_update",
    "discounts",
    "expires_at",
    "line_items",
    "locale",
    "metadata",
    "mode",
    "payment_method_collection",
    "payment_method_types",
    "phone_number_collection",
    "saved_payment_method_options",
    "subscription_data",
    "success_url",
    "tax_id_collection",
    "ui_mode",
}
PAYMENT_METHOD_COLLECTIONS = ("always", "if_required")
SUBSCRIPTION_DATA_FIELDS = {
    "metadata",
    "trial_period_days",
    "trial_end",
    "description",
    "default_tax_rates",
    "proration_behavior",
    "trial_settings",
}


def create_checkout_session(store: Store, params: JSON) -> JSON:
    check_params(params, CHECKOUT_FIELDS, required=["mode", "success_url"])
    if params["mode"] != "subscription":
        raise invalid(
            "The emulator supports Checkout in mode=subscription only.",
            param="mode",
            code="parameter_invalid_string",
        )
    if params.get("customer") and params.get("customer_email"):
        raise invalid(
            "You may only specify one of these parameters: customer, customer_email.",
            param="customer_email",
        )
    customer = None
    if params.get("customer"):
        customer = store.fetch("customer", params["customer"], "customer")
    data = params.get("subscription_data") or {}
    if not isinstance(data, dict):
        raise invalid("Invalid object", param="subscription_data")
    for key in data:
        if key not in SUBSCRIPTION_DATA_FIELDS:
            raise invalid(
                f"Received unknown parameter: subscription_data[{key}]",
                param=f"subscription_data[{key}]",
                code="parameter_unknown",
            )
    if data.get("trial_period_days") not in (None, "") and (
        as_int(data["trial_period_days"], "subscription_data[trial_period_days]") < 1
    ):
        raise invalid(
            "The trial period must be at least 1 day.",
            param="subscription_data[trial_period_days]",
        )
    trial_end_behavior_param(
        data.get("trial_settings"), "subscription_data[trial_settings]"
    )
    collection = params.get("payment_method_collection") or "always"
    if collection not in PAYMENT_METHOD_COLLECTIONS:
        raise invalid(
            "Invalid payment_method_collection: must be one of always, if_required.",
            param="payment_method_collection",
            code="parameter_invalid_string",
        )
    specs = items_spec(store, params.get("line_items"), "line_items")
    now = store.now(customer["id"] if customer else None)
    session = billing_shapes.checkout_session(
        store.new_id("checkout.session"), now, now + CHECKOUT_EXPIRES_AFTER
    )
    session["success_url"] = params["success_url"]
    session["cancel_url"] = params.get("cancel_url") or None
    session["client_reference_id"] = params.get("client_reference_id") or None
    session["customer"] = customer["id"] if customer else None
    session["customer_email"] = params.get("customer_email") or None
    session["metadata"] = merge_metadata({}, params.get("metadata") or {})
    if "allow_promotion_codes" in params:
        session["allow_promotion_codes"] = as_bool(
            params["allow_promotion_codes"], "allow_promotion_codes"
        )
    session["locale"] = params.get("locale") or None
    session["billing_address_collection"] = (
        params.get("billing_address_collection") or None
    )
    session["url"] = f"{store.public_url}/checkout/{session['id']}"
    session["payment_method_collection"] = collection
    session["currency"] = specs[0][0]["currency"]
    items, subtotal = [], 0
    for price, quantity, _ in specs:
        amount = price_amount(store, price, quantity)
        subtotal += amount
        items.append(
            billing_shapes.checkout_line_item(
                store.new_id("item"),
                clone(price),
                quantity,
                price_name(store, price),
                amount,
            )
        )
    trial = data.get("trial_period_days") or data.get("trial_end")
    session["amount_subtotal"] = subtotal
    session["amount_total"] = 0 if trial else subtotal
    store.save(session)
    store.private(session["id"]).update(line_items=items, subscription_data=clone(data))
    return store.render(session)


def retrieve_checkout_session(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(store.fetch("checkout.session", id))


def list_checkout_sessions(store: Store, params: JSON) -> JSON:
    return simple_list(
        store,
        "checkout.session",
        "/v1/checkout/sessions",
        params,
        filters=("customer", "subscription", "status"),
        accepted=("payment_intent", "customer_details"),
    )


def list_checkout_line_items(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, LIST_PARAMS)
    store.fetch("checkout.session", id)
    return {
        "object": "list",
        "data": clone(store.private(id).get("line_items", [])),
        "has_more": False,
        "url": f"/v1/checkout/sessions/{id}/line_items",
    }


def expire_checkout_session(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    session = store.fetch("checkout.session", id)
    if session["status"] != "open":
        raise invalid(
            'Only Checkout Sessions with a status in ["open"] can be expired.'
        )
    session["status"] = "expired"
    emit(store, "checkout.session.expired", session)
    return store.render(session)


def success_url(session: JSON) -> str:
    return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])


def card_required(session: JSON) -> bool:
    """Whether completing the session needs a card (not for a trial that starts
    with `payment_method_collection=if_required`)."""
    return session["payment_method_collection"] != "if_required" or bool(
        session["amount_total"]
    )


def complete_checkout(
    store: Store,
    session_id: str,
    card: str | None = "success",
    email: str | None = None,
) -> str:
    """Pay a Checkout Session as the hosted page does; returns the success redirect URL.

    A declined card raises StripeError (402, card_declined) and creates nothing.
    `card=None` (or "none") starts a trial without a card where the session allows
    it, and is refused (400) where it does not.
    """
    session = store.fetch("checkout.session", session_id)
    if session["status"] != "open":
        raise invalid(f"This Checkout Session is {session['status']}.", param="session")
    now = store.now(session["customer"])
    if session["expires_at"] <= now:
        session["status"] = "expired"
        emit(store, "checkout.session.expired", session)
        raise invalid("This Checkout Session has expired.", param="session")
    if card in (None, "none"):
        card = None
        if card_required(session):
            raise invalid("This Checkout Session needs a card.", param="card")
    elif card_for(card)[2] == "decline":
        raise card_declined()
    email = email or session["customer_email"]
    private = store.private(session_id)
    data = private["subscription_data"]
    specs = [
        (
            recurring_price(store, line["price"]["id"], "line_items"),
            line["quantity"],
            {},
        )
        for line in private["line_items"]
    ]
    if session["customer"]:
        customer = store.fetch("customer", session["customer"], "customer")
    else:
        sequence = store.count("customer") + 1
        customer = shapes.customer(store.new_id("customer"), now, sequence)
        customer["email"] = email or f"customer{sequence}@example.com"
        store.save(customer)
        emit(store, "customer.created", customer)
    if card is not None:
        pm = attach_card(store, customer["id"], card)
        before = clone(customer)
        customer["invoice_settings"]["default_payment_method"] = pm["id"]
        emit(store, "customer.updated", customer, diff(before, customer))
    trial_end = None
    if data.get("trial_end"):
        trial_end = as_int(data["trial_end"], "subscription_data[trial_end]")
    elif data.get("trial_period_days"):
        trial_end = now + as_int(data["trial_period_days"], "trial_period_days") * DAY
    sub = start_subscription(
        store,
        customer,
        specs,
        trial_end=trial_end,
        metadata=data.get("metadata"),
        description=data.get("description"),
        trial_end_behavior=trial_end_behavior_param(data.get("trial_settings")),
    )
    session.update(
        status="complete",
        customer=customer["id"],
        subscription=sub["id"],
        invoice=sub["latest_invoice"],
        payment_status="no_payment_required" if trial_end else "paid",
        customer_details=billing_shapes.customer_details(customer["email"]),
        customer_email=session["customer_email"],
    )
    store.save(session)  # its customer changed: move it in the index
    emit(store, "checkout.session.completed", session)
    return success_url(session)
