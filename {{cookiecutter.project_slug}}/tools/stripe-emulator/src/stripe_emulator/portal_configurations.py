"""Billing portal configurations: the API, and the account's default configuration.

When there is no default yet, the first portal session creates one that allows
everything: plan switches among every product's active recurring prices at that
moment, quantity changes, cancelling now or at the period end, the invoice history
and card updates.
"""

from typing import Any

from . import billing_shapes
from .errors import invalid, parameter_missing
from .events import diff, emit
from .listing import list_response
from .params import (
    LIST_PARAMS,
    as_bool,
    as_int,
    as_list,
    as_string,
    as_strings,
    as_url,
    check_nested,
    check_params,
    clone,
    merge_metadata,
)
from .shapes import JSON
from .store import Store

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
    chosen = as_strings(value, param)
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
        prices = as_strings(entry.get("prices"), f"{where}[prices]")
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
                "options": as_strings(reason.get("options"), key),
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
            value = as_string(value, f"business_profile[{key}]")
            if key.endswith("_url") and value:
                as_url(value, f"business_profile[{key}]")
            config["business_profile"][key] = value or None
    if "default_return_url" in params:
        url = params["default_return_url"]
        config["default_return_url"] = (
            as_url(url, "default_return_url") if url else None
        )
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
