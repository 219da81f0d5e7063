"""The billing portal: sessions, and what a customer may do on the hosted portal
page under the session's configuration (configurations are in
`portal_configurations.py`).

A session uses the configuration it names, else the account's default one.

Cancel modes: with `at_period_end` the portal only schedules the cancellation; with
`immediately` it offers both cancelling now and at the period end (Stripe's own
portal offers only the immediate one there).

Updating the card (where `payment_method_update` is enabled) attaches the new card
as the customer's default (and the default of subscriptions that name their own),
then, as Stripe's portal does, pays at once the open invoices of subscriptions that
are past_due or unpaid, and the resumption invoice of a paused one.
"""

from typing import Any

from . import billing_shapes
from .catalog import price_name
from .customers import attach_card, default_payment_method
from .errors import StripeError, invalid, missing
from .events import diff, emit
from .invoices import pay_invoice
from .lifecycle import ENDED
from .params import as_int, as_string, as_url, check_params, clone
from .portal_configurations import default_configuration
from .shapes import JSON
from .store import Store
from .subscription_updates import update_subscription
from .subscriptions import cancel_subscription, sub_items

PORTAL_ACTIONS = (
    "switch_price",
    "set_quantity",
    "cancel_at_period_end",
    "cancel_now",
    "resume",
    "update_card",
)
# Subscription statuses whose open invoices a card update pays at once.
OWING = ("past_due", "unpaid")


# -- sessions --------------------------------------------------------------------


def create_portal_session(store: Store, params: JSON) -> JSON:
    check_params(
        params,
        {
            "customer",
            "return_url",
            "configuration",
            "flow_data",
            "locale",
            "on_behalf_of",
        },
        required=["customer"],
    )
    customer = store.fetch("customer", params["customer"], "customer")
    # The portal's Return link goes there: only web addresses, never javascript:.
    if params.get("return_url"):
        as_url(params["return_url"], "return_url")
    if params.get("configuration"):
        config = store.fetch(
            "billing_portal.configuration", params["configuration"], "configuration"
        )
        if not config["active"]:
            raise invalid(
                f"The configuration {config['id']} is inactive.", param="configuration"
            )
    else:
        config = default_configuration(store)
    session_id = store.new_id("billing_portal.session")
    session = billing_shapes.portal_session(
        session_id,
        store.now(customer["id"]),
        customer["id"],
        config["id"],
        params.get("return_url")
        or config["default_return_url"]
        or store.public_url + "/",
        f"{store.public_url}/portal/{session_id}",
    )
    session["locale"] = params.get("locale") or None
    store.save(session)
    emit(store, "billing_portal.session.created", session)
    return store.render(session)


def session_configuration(store: Store, session: JSON) -> JSON:
    config = store.find(session["configuration"])
    # A session saved before configurations existed names none that is stored.
    return config if config is not None else default_configuration(store)


# -- what the hosted portal allows -----------------------------------------------


def offered_prices(store: Store, config: JSON) -> list[JSON]:
    """The active recurring prices the configuration lets customers switch to."""
    update = config["features"]["subscription_update"]
    if not (update["enabled"] and "price" in update["default_allowed_updates"]):
        return []
    found = []
    for entry in update["products"]:
        for price_id in entry["prices"]:
            price = store.find(price_id)
            if price and price["active"] and price["type"] == "recurring":
                found.append(price)
    return found


def _quantity_rule(config: JSON, product_id: str) -> JSON | None:
    """{minimum, maximum} for quantity changes of this product, or None if refused."""
    update = config["features"]["subscription_update"]
    if not update["enabled"]:
        return None
    for entry in update["products"]:
        adjustable = entry["adjustable_quantity"]
        if entry["product"] == product_id and adjustable["enabled"]:
            return {"minimum": adjustable["minimum"], "maximum": adjustable["maximum"]}
    if "quantity" in update["default_allowed_updates"]:
        return {"minimum": 1, "maximum": None}
    return None


def permitted_actions(store: Store, config: JSON, sub: JSON) -> set[str]:
    """The portal actions the configuration allows on this live subscription."""
    permitted = {"resume"}
    update = config["features"]["subscription_update"]
    if update["enabled"] and "price" in update["default_allowed_updates"]:
        permitted.add("switch_price")
    product = store.objects[sub_items(store, sub)[0]["price"]]["product"]
    if _quantity_rule(config, product) is not None:
        permitted.add("set_quantity")
    cancel = config["features"]["subscription_cancel"]
    if cancel["enabled"]:
        permitted.add("cancel_at_period_end")
        if cancel["mode"] == "immediately":
            permitted.add("cancel_now")
    return permitted


def page_controls(store: Store, config: JSON, sub: JSON) -> set[str]:
    """The controls the hosted page shows for a subscription."""
    if sub["status"] in ENDED:
        return set()
    controls = permitted_actions(store, config, sub)
    current = sub_items(store, sub)[0]["price"]
    if not any(p["id"] != current for p in offered_prices(store, config)):
        controls.discard("switch_price")
    if sub["cancel_at_period_end"]:
        controls.discard("cancel_at_period_end")
    else:
        controls.discard("resume")
    return controls


REFUSALS = {
    "switch_price": "This portal does not allow changing plans.",
    "set_quantity": "This portal does not allow changing the quantity.",
    "cancel_at_period_end": "This portal does not allow cancelling.",
}


def _refuse(message: str, param: str) -> StripeError:
    return StripeError(400, message, param=param)


def _check_action(
    store: Store, config: JSON, sub: JSON, action: str, price: Any, quantity: Any
) -> None:
    """Raise StripeError (400) when the configuration does not allow the action."""
    if action not in PORTAL_ACTIONS:
        raise invalid(f"Unknown portal action: {action}", param="action")
    if sub["status"] in ENDED:
        return  # the API refuses changes to an ended subscription on its own
    if action not in permitted_actions(store, config, sub):
        cancel = config["features"]["subscription_cancel"]
        if action == "cancel_now" and cancel["enabled"]:
            message = "This portal only cancels at the end of the billing period."
        else:
            message = REFUSALS.get(action, REFUSALS["cancel_at_period_end"])
        raise _refuse(message, "action")
    offered = {p["id"] for p in offered_prices(store, config)}
    if action == "switch_price" and price not in offered:
        raise _refuse(f"This portal does not offer the price {price}.", "price")
    if action == "set_quantity":
        product = store.objects[sub_items(store, sub)[0]["price"]]["product"]
        rule = _quantity_rule(config, product) or {}
        wanted = as_int(quantity, "quantity", minimum=0)
        low, high = rule.get("minimum", 1), rule.get("maximum")
        if wanted < low or (high is not None and wanted > high):
            bounds = f"at least {low}" + (f" and at most {high}" if high else "")
            raise _refuse(f"The quantity must be {bounds}.", "quantity")


def _invoices_to_pay(store: Store, customer_id: str) -> list[JSON]:
    """Open invoices a card update pays at once: those awaiting a failed payment of
    past_due or unpaid subscriptions, and a paused subscription's resumption one."""
    found = []
    for sub in store.oldest_first(store.where("subscription", "customer", customer_id)):
        for invoice in store.oldest_first(
            store.where("invoice", "subscription", sub["id"])
        ):
            if invoice["status"] != "open":
                continue
            failed = sub["status"] in OWING and invoice["attempt_count"] > 0
            if failed or store.private(invoice["id"]).get("resumes_subscription"):
                found.append(invoice)
    return found


def update_card(store: Store, config: JSON, customer_id: str, card: str) -> None:
    """The portal's card update: the new card becomes the default, then pays what is
    owed. A declined card raises StripeError (402) and changes nothing; a card that
    is accepted but whose charge fails stays the default, then raises 402."""
    if not config["features"]["payment_method_update"]["enabled"]:
        raise _refuse(
            "This portal does not allow updating the payment method.", "action"
        )
    pm = attach_card(store, customer_id, card)
    customer = store.objects[customer_id]
    before = clone(customer)
    customer["invoice_settings"]["default_payment_method"] = pm["id"]
    emit(store, "customer.updated", customer, diff(before, customer))
    for sub in store.oldest_first(store.where("subscription", "customer", customer_id)):
        # A subscription's own card would be charged before the customer's default.
        if sub["status"] not in ENDED and sub["default_payment_method"]:
            update_subscription(store, {"default_payment_method": pm["id"]}, sub["id"])
    declined = None
    for invoice in _invoices_to_pay(store, customer_id):
        try:
            pay_invoice(store, {}, invoice["id"])
        except StripeError as error:
            if error.status != 402:
                raise
            declined = error
    if declined is not None:
        raise declined


def portal_action(
    store: Store,
    session_id: str,
    subscription_id: str | None,
    action: str,
    price: str | None = None,
    quantity: Any = None,
    card: str | None = None,
) -> JSON:
    """What the hosted portal does: switch_price, set_quantity, cancel_at_period_end,
    cancel_now, resume (undo a scheduled cancellation) or update_card (with `card`,
    a test card as for Checkout), if the session's configuration allows it.

    Returns the subscription as the API shows it (for update_card without a
    subscription, the customer).
    """
    price = as_string(price, "price") if price is not None else None
    session = store.fetch("billing_portal.session", session_id)
    config = session_configuration(store, session)
    if action == "update_card":
        update_card(store, config, session["customer"], card or "success")
        if not subscription_id:
            return store.render(store.objects[session["customer"]])
    sub = store.fetch("subscription", subscription_id or "")
    if sub["customer"] != session["customer"]:
        raise missing("subscription", subscription_id or "")
    if action == "update_card":
        return store.render(sub)
    _check_action(store, config, sub, action, price, quantity)
    item = sub_items(store, sub)[0]
    proration = config["features"]["subscription_update"]["proration_behavior"]
    if action == "switch_price":
        params: JSON = {"items": [{"id": item["id"], "price": price}]}
    elif action == "set_quantity":
        params = {"items": [{"id": item["id"], "quantity": str(quantity)}]}
    elif action == "cancel_at_period_end":
        params = {"cancel_at_period_end": "true"}
    elif action == "resume":
        params = {"cancel_at_period_end": "false"}
    else:
        return cancel_subscription(store, {}, sub["id"])
    if "items" in params:
        params["proration_behavior"] = proration
    return update_subscription(store, params, sub["id"])


def page_view(store: Store, session_id: str) -> JSON:
    """Everything the hosted portal page shows for a session."""
    session = store.fetch("billing_portal.session", session_id)
    config = session_configuration(store, session)
    customer_id = session["customer"]
    subs = store.oldest_first(store.where("subscription", "customer", customer_id))
    subs.sort(key=lambda s: -s["created"])
    features = config["features"]
    invoices = None
    if features["invoice_history"]["enabled"]:
        invoices = [
            store.render(i)
            for i in store.where("invoice", "customer", customer_id)
            if i["status"] != "draft"
        ]
        invoices.sort(key=lambda i: -i["created"])
    card = None
    can_update_card = features["payment_method_update"]["enabled"]
    if can_update_card:
        pm = default_payment_method(store, customer_id)
        card = pm["card"] if pm else None
    return {
        "session": store.render(session),
        "customer": store.get("customer", customer_id),
        "subscriptions": [
            {
                "subscription": store.render(sub),
                "product": price_name(
                    store, store.objects[sub_items(store, sub)[0]["price"]]
                ),
                "controls": page_controls(store, config, sub),
            }
            for sub in subs
        ],
        "prices": [
            (store.render(p), price_name(store, p))
            for p in offered_prices(store, config)
        ],
        "invoices": invoices,
        "card": card,
        "can_update_card": can_update_card,
    }
