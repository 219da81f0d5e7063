"""Checkout Sessions: the API, and completing one as the hosted page does; in
subscription mode, customer, card, subscription and first invoice in one step
(payment mode, discounts and promotion codes are in `checkout_money.py`).

With `payment_method_collection=if_required` and nothing due today (a trial), the
page completes without a card ("Start trial"): the customer gets no payment method,
and the trial's end follows `subscription_data.trial_settings`.

The session's line items and `subscription_data` are kept in the store's private
data: Stripe returns line items only through their own endpoint or `expand`.
"""

from . import billing_shapes, checkout_money
from .catalog import price_amount, price_name, recurring_price
from .customers import attach_card, card_for
from .errors import card_declined, invalid
from .events import diff, emit
from .invoices import DAY
from .listing import simple_list
from .params import (
    LIST_PARAMS,
    MAX_TRIAL_DAYS,
    as_bool,
    as_int,
    as_timestamp,
    as_url,
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
    "customer_creation",
    "customer_email",
    "customer_update",
    "discounts",
    "expires_at",
    "invoice_creation",
    "line_items",
    "locale",
    "metadata",
    "mode",
    "payment_intent_data",
    "payment_method_collection",
    "payment_method_types",
    "phone_number_collection",
    "saved_payment_method_options",
    "submit_type",
    "subscription_data",
    "success_url",
    "tax_id_collection",
    "ui_mode",
}
PAYMENT_METHOD_COLLECTIONS = ("always", "if_required")
# Parameters Stripe takes in payment mode only.
PAYMENT_ONLY = {
    "customer_creation",
    "invoice_creation",
    "payment_intent_data",
    "submit_type",
}
SUBSCRIPTION_DATA_FIELDS = {
    "metadata",
    "trial_period_days",
    "trial_end",
    "description",
    "default_tax_rates",
    "proration_behavior",
    "trial_settings",
}


def _subscription_data(params: JSON) -> JSON:
    """Checked `subscription_data` of a subscription-mode session."""
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
    return data


def _refuse_params_of_other_mode(params: JSON) -> None:
    mode = params["mode"]
    other = PAYMENT_ONLY if mode == "subscription" else {"subscription_data"}
    for name in sorted(other):
        if params.get(name) not in (None, "", {}):
            raise invalid(
                f"`{name}` cannot be used in `{mode}` mode.",
                param=name,
            )


def create_checkout_session(store: Store, params: JSON) -> JSON:
    """`POST /v1/checkout/sessions` in `subscription` or `payment` mode."""
    check_params(params, CHECKOUT_FIELDS, required=["mode", "success_url"])
    # The hosted page redirects to both: only web addresses, never javascript: or data:.
    success = as_url(params["success_url"], "success_url")
    cancel = (
        as_url(params["cancel_url"], "cancel_url") if params.get("cancel_url") else None
    )
    mode = params["mode"]
    if mode not in ("subscription", "payment"):
        raise invalid(
            "The emulator supports Checkout in mode=subscription and mode=payment.",
            param="mode",
            code="parameter_invalid_string",
        )
    _refuse_params_of_other_mode(params)
    if params.get("customer") and params.get("customer_email"):
        raise invalid(
            "You may only specify one of these parameters: customer, customer_email.",
            param="customer_email",
        )
    if params.get("discounts") and params.get("allow_promotion_codes"):
        raise invalid(
            "You may only specify one of these parameters: allow_promotion_codes,"
            " discounts.",
            param="discounts",
        )
    customer = None
    if params.get("customer"):
        customer = store.fetch("customer", params["customer"], "customer")
    data = _subscription_data(params) if mode == "subscription" else {}
    collection = params.get("payment_method_collection") or "always"
    if collection not in PAYMENT_METHOD_COLLECTIONS:
        raise invalid(
            "Invalid payment_method_collection: must be one of always, if_required.",
            param="payment_method_collection",
            code="parameter_invalid_string",
        )
    if mode == "subscription":
        specs = items_spec(store, params.get("line_items"), "line_items")
    else:
        specs = checkout_money.payment_line_specs(store, params.get("line_items"))
    now = store.now(customer["id"] if customer else None)
    session = billing_shapes.checkout_session(
        store.new_id("checkout.session"),
        now,
        checkout_money.expires_at_param(params, now),
    )
    session["mode"] = mode
    payment_data = {}
    if mode == "payment":
        payment_data = checkout_money.payment_fields(params, session)
    session["success_url"] = success
    session["cancel_url"] = cancel
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
    items = []
    for price, quantity, _ in specs:
        amount = price_amount(store, price, quantity)
        items.append(
            billing_shapes.checkout_line_item(
                store.new_id("item"),
                clone(price),
                quantity,
                price_name(store, price),
                amount,
            )
        )
    store.private(session["id"]).update(
        line_items=items,
        subscription_data=clone(data),
        payment_intent_data=clone(payment_data),
    )
    checkout_money.price_session(store, session)
    if params.get("discounts"):
        checkout_money.discounts_param(store, session, params["discounts"])
    store.save(session)
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
    expire_session(store, session, store.now(session["customer"]))
    return store.render(session)


def expire_session(store: Store, session: JSON, when: int) -> None:
    """An open session expires (asked, or its `expires_at` passed): nothing was
    paid, and `checkout.session.expired` says so."""
    session["status"] = "expired"
    emit(store, "checkout.session.expired", session, created=when)


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
    promotion_code: str | None = None,
) -> str:
    """Pay a Checkout Session as the hosted page does; returns the success redirect URL.

    A declined card raises StripeError (402, card_declined) and creates nothing.
    `card=None` (or "none") starts a trial without a card where the session allows
    it, and is refused (400) where it does not. `promotion_code` is typed into the
    page's promotion code field first (the session must allow promotion codes; a
    refused code raises 400 and nothing is paid).
    """
    session = store.fetch("checkout.session", session_id)
    if session["status"] != "open":
        raise invalid(f"This Checkout Session is {session['status']}.", param="session")
    now = store.now(session["customer"])
    if session["expires_at"] <= now:
        expire_session(store, session, now)
        raise invalid("This Checkout Session has expired.", param="session")
    if promotion_code is not None:
        checkout_money.apply_promotion_code(store, session_id, promotion_code)
    if card == "none":
        card = None
    email = email or session["customer_email"]
    if session["mode"] == "payment":
        checkout_money.complete_payment(store, session, card, email, now)
    else:
        _complete_subscription(store, session, card, email, now)
    store.save(session)  # its customer changed: move it in the index
    emit(store, "checkout.session.completed", session)
    return success_url(session)


def _complete_subscription(
    store: Store, session: JSON, card: str | None, email: str | None, now: int
) -> None:
    """The customer, card, subscription and first invoice of a subscription-mode
    session, in one step."""
    if card is None:
        if card_required(session):
            raise invalid("This Checkout Session needs a card.", param="card")
    elif card_for(card)[2] == "decline":
        raise card_declined()
    private = store.private(session["id"])
    data = private["subscription_data"]
    specs = [
        (
            recurring_price(store, line["price"]["id"], "line_items"),
            line["quantity"],
            {},
        )
        for line in private["line_items"]
    ]
    coupon, promo = checkout_money.checked_discount(
        store, session, session["customer"], now
    )
    if session["customer"]:
        customer = store.fetch("customer", session["customer"], "customer")
    else:
        customer = checkout_money.new_customer(store, email, now)
    if card is not None:
        pm = attach_card(store, customer["id"], card)
        before = clone(customer)
        customer["invoice_settings"]["default_payment_method"] = pm["id"]
        emit(store, "customer.updated", customer, diff(before, customer))
    trial_end = None
    if data.get("trial_end"):
        trial_end = as_timestamp(data["trial_end"], "subscription_data[trial_end]")
    elif data.get("trial_period_days"):
        trial_end = (
            now
            + as_int(
                data["trial_period_days"], "trial_period_days", maximum=MAX_TRIAL_DAYS
            )
            * DAY
        )
    sub = start_subscription(
        store,
        customer,
        specs,
        trial_end=trial_end,
        metadata=data.get("metadata"),
        description=data.get("description"),
        trial_end_behavior=trial_end_behavior_param(data.get("trial_settings")),
        discounts=[(coupon, promo, None)] if coupon else None,
    )
    session.update(
        status="complete",
        customer=customer["id"],
        subscription=sub["id"],
        invoice=sub["latest_invoice"],
        payment_status="paid" if session["amount_total"] else "no_payment_required",
        customer_details=billing_shapes.customer_details(customer["email"]),
        customer_email=session["customer_email"],
    )
