"""The billing portal: configurations, sessions, and what a customer may do on the
hosted portal page under the session's configuration.

A session uses the configuration it names, else the account's default one. When
there is no default yet, the first session creates one that allows everything: plan
switches among every product's active recurring prices at that moment, quantity
changes, cancelling now or at the period end, the invoice history and card updates.

Cancel modes: with `at_period_end` the portal only schedules the cancellation; with
`immediately` it offers both cancelling now and at the period end (Stripe's own
portal offers only the immediate one there).
"""

from typing import Any

from . import billing_shapes
from .catalog import price_name
from .customers import default_payment_method
from .errors import StripeError, invalid, missing, parameter_missing
from .events import diff, emit
from .lifecycle import ENDED
from .listing import list_response
from .params import (
    LIST_PARAMS,
    as_bool,
    as_int,
    as_list,
    check_nested,
    check_params,
    clone,
    merge_metadata,
)
from .shapes import JSON
from .store import Store
from .subscription_updates import update_subscription
from .subscriptions import cancel_subscription, sub_items

CONFIGURATION_FIELDS = {
    "business_profile",
    "default_return_url",
    "features",
    "login_page",
    "metadata",
    "name",
}
FEATURE_FIELDS = {
    "customer_update": {"allowed_updates", "enabled"},
    "invoice_history": {"enabled"},
    "payment_method_update": {"enabled", "payment_method_configuration"},
    "subscription_cancel": {
        "cancellation_reason",
        "enabled",
        "mode",
        "proration_behavior",
    },
    "subscription_update": {
        "billing_cycle_anchor",
        "default_allowed_updates",
        "enabled",
        "products",
        "proration_behavior",
        "schedule_at_period_end",
        "trial_update_behavior",
    },
}
CUSTOMER_UPDATES = ("address", "email", "name", "phone", "shipping", "tax_id")
SUBSCRIPTION_UPDATES = ("price", "promotion_code", "quantity")
CHOICES = {
    ("subscription_cancel", "mode"): ("at_period_end", "immediately"),
    ("subscription_cancel", "proration_behavior"): ("none", "create_prorations"),
    ("subscription_update", "proration_behavior"): (
        "none",
        "create_prorations",
        "always_invoice",
    ),
    ("subscription_update", "billing_cycle_anchor"): ("now", "unchanged"),
    ("subscription_update", "trial_update_behavior"): ("continue_trial", "end_trial"),
}
PORTAL_ACTIONS = (
    "switch_price",
    "set_quantity",
    "cancel_at_period_end",
    "cancel_now",
    "resume",
)


# -- configurations --------------------------------------------------------------


def _choice(value: Any, group: str, key: str) -> str:
    allowed = CHOICES[(group, key)]
    if value not in allowed:
        raise invalid(
            f"Invalid {key}: must be one of {', '.join(allowed)}.",
            param=f"features[{group}][{key}]",
            code="parameter_invalid_string",
        )
    return value


def _subset(value: Any, allowed: tuple[str, ...], param: str) -> list[str]:
    chosen = [str(v) for v in as_list(value, param)]
    for index, name in enumerate(chosen):
        if name not in allowed:
            raise invalid(
                f"Invalid value: {name} (one of {', '.join(allowed)}).",
                param=f"{param}[{index}]",
                code="parameter_invalid_string",
            )
    return chosen


def _products(store: Store, value: Any) -> list[JSON]:
    """`features[subscription_update][products]`: each product and prices offered."""
    param = "features[subscription_update][products]"
    products = []
    for index, entry in enumerate(as_list(value, param)):
        where = f"{param}[{index}]"
        entry = check_nested(entry, {"product", "prices", "adjustable_quantity"}, where)
        if not entry.get("product"):
            raise parameter_missing(f"{where}[product]")
        product = store.fetch("product", entry["product"], f"{where}[product]")
        prices = [str(p) for p in as_list(entry.get("prices"), f"{where}[prices]")]
        if not prices:
            raise parameter_missing(f"{where}[prices]")
        for price_id in prices:
            price = store.fetch("price", price_id, f"{where}[prices]")
            if price["product"] != product["id"] or price["type"] != "recurring":
                raise invalid(
                    f"The price {price_id} is not a recurring price of {product['id']}.",
                    param=f"{where}[prices]",
                )
        raw = check_nested(
            entry.get("adjustable_quantity"),
            {"enabled", "maximum", "minimum"},
            f"{where}[adjustable_quantity]",
        )
        adjustable = {
            "enabled": as_bool(raw.get("enabled", False), f"{where}[enabled]"),
            "maximum": as_int(raw["maximum"], f"{where}[maximum]", 1)
            if raw.get("maximum") not in (None, "")
            else None,
            "minimum": as_int(raw.get("minimum", 1), f"{where}[minimum]", 0),
        }
        products.append(
            {
                "adjustable_quantity": adjustable,
                "prices": prices,
                "product": product["id"],
            }
        )
    return products


def _apply_feature(store: Store, group: str, target: JSON, raw: JSON) -> None:
    param = f"features[{group}]"
    for key, value in raw.items():
        if key == "enabled":
            target["enabled"] = as_bool(value, f"{param}[enabled]")
        elif key == "allowed_updates":
            target[key] = _subset(value, CUSTOMER_UPDATES, f"{param}[{key}]")
        elif key == "default_allowed_updates":
            target[key] = _subset(value, SUBSCRIPTION_UPDATES, f"{param}[{key}]")
        elif key == "products":
            target[key] = _products(store, value)
        elif key == "payment_method_configuration":
            target[key] = value or None
        elif key == "cancellation_reason":
            reason = check_nested(value, {"enabled", "options"}, f"{param}[{key}]")
            target[key] = {
                "enabled": as_bool(reason.get("enabled", False), f"{param}[{key}]"),
                "options": [str(o) for o in as_list(reason.get("options"), key)],
            }
        elif key == "schedule_at_period_end":
            schedule = check_nested(value, {"conditions"}, f"{param}[{key}]")
            target[key] = {"conditions": as_list(schedule.get("conditions"), key)}
        else:
            target[key] = _choice(value, group, key)


def _apply_configuration_fields(store: Store, config: JSON, params: JSON) -> None:
    features = check_nested(params.get("features"), FEATURE_FIELDS, "features")
    for group, raw in features.items():
        fields = check_nested(raw, FEATURE_FIELDS[group], f"features[{group}]")
        _apply_feature(store, group, config["features"][group], fields)
    update = config["features"]["subscription_update"]
    offers_prices = update["enabled"] and "price" in update["default_allowed_updates"]
    if offers_prices and not update["products"]:
        raise parameter_missing("features[subscription_update][products]")
    if "business_profile" in params:
        profile = check_nested(
            params["business_profile"],
            config["business_profile"].keys(),
            "business_profile",
        )
        for key, value in profile.items():
            config["business_profile"][key] = value or None
    if "default_return_url" in params:
        config["default_return_url"] = params["default_return_url"] or None
    if "login_page" in params:
        login = check_nested(params["login_page"], {"enabled"}, "login_page")
        if as_bool(login.get("enabled", False), "login_page[enabled]"):
            raise invalid(
                "The emulator has no hosted portal login page.",
                param="login_page[enabled]",
            )
    if "metadata" in params:
        config["metadata"] = merge_metadata(config["metadata"], params["metadata"])
    if "name" in params:
        config["name"] = params["name"] or None


def create_configuration(store: Store, params: JSON) -> JSON:
    check_params(params, CONFIGURATION_FIELDS, required=["features"])
    now = store.now()
    config = billing_shapes.portal_configuration(
        store.new_id("billing_portal.configuration"), now
    )
    _apply_configuration_fields(store, config, params)
    store.save(config)
    emit(store, "billing_portal.configuration.created", config)
    return store.render(config)


def retrieve_configuration(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(store.fetch("billing_portal.configuration", id))


def update_configuration(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, CONFIGURATION_FIELDS | {"active"})
    config = store.fetch("billing_portal.configuration", id)
    # Validate on a copy: a refused update changes nothing.
    changed = clone(config)
    _apply_configuration_fields(store, changed, params)
    if "active" in params:
        changed["active"] = as_bool(params["active"], "active")
        if config["is_default"] and not changed["active"]:
            raise invalid("You cannot deactivate the default configuration.", "active")
    changes = diff(config, changed)
    if changes:
        changed["updated"] = store.now()
        before = clone(config)
        config.update(changed)
        emit(
            store, "billing_portal.configuration.updated", config, diff(before, config)
        )
    return store.render(config)


def list_configurations(store: Store, params: JSON) -> JSON:
    check_params(params, LIST_PARAMS | {"active", "is_default"})
    configs = store.of_type("billing_portal.configuration")
    for field in ("active", "is_default"):
        if field in params:
            wanted = as_bool(params[field], field)
            configs = [c for c in configs if c[field] == wanted]
    return list_response(store, "/v1/billing_portal/configurations", configs, params)


def default_configuration(store: Store) -> JSON:
    """The account's default configuration, created (allowing everything) if none."""
    for config in store.of_type("billing_portal.configuration"):
        if config["is_default"]:
            return config
    config = billing_shapes.portal_configuration(
        store.new_id("billing_portal.configuration"), store.now()
    )
    config["is_default"] = True
    features = config["features"]
    features["invoice_history"]["enabled"] = True
    features["payment_method_update"]["enabled"] = True
    features["subscription_cancel"].update(enabled=True, mode="immediately")
    offered = []
    for product in store.of_type("product"):
        prices = [
            p["id"]
            for p in store.oldest_first(store.where("price", "product", product["id"]))
            if p["active"] and p["type"] == "recurring"
        ]
        if prices:
            offered.append(
                {
                    "adjustable_quantity": {
                        "enabled": False,
                        "maximum": None,
                        "minimum": 1,
                    },
                    "prices": prices,
                    "product": product["id"],
                }
            )
    features["subscription_update"].update(
        enabled=True,
        default_allowed_updates=list(SUBSCRIPTION_UPDATES),
        products=offered,
        proration_behavior="create_prorations",
    )
    store.save(config)
    emit(store, "billing_portal.configuration.created", config)
    return config


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


def portal_action(
    store: Store,
    session_id: str,
    subscription_id: str,
    action: str,
    price: str | None = None,
    quantity: Any = None,
) -> JSON:
    """What the hosted portal does: switch_price, set_quantity, cancel_at_period_end,
    cancel_now or resume, if the session's configuration allows it. Returns the
    subscription as the API shows it."""
    session = store.fetch("billing_portal.session", session_id)
    sub = store.fetch("subscription", subscription_id)
    if sub["customer"] != session["customer"]:
        raise missing("subscription", subscription_id)
    config = session_configuration(store, session)
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
        return cancel_subscription(store, {}, subscription_id)
    if "items" in params:
        params["proration_behavior"] = proration
    return update_subscription(store, params, subscription_id)


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
    if features["payment_method_update"]["enabled"]:
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
    }
