"""The catalogue: products and prices, and what a quantity of a price costs."""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from . import amounts, shapes
from .errors import StripeError, invalid
from .events import diff, emit
from .listing import list_response
from .params import (
    LIST_PARAMS,
    as_bool,
    as_int,
    as_list,
    as_strings,
    check_nested,
    check_params,
    clone,
    created_filter,
    merge_metadata,
)
from .shapes import JSON
from .store import Store

PRODUCT_FIELDS = {
    "active",
    "default_price_data",
    "description",
    "id",
    "images",
    "marketing_features",
    "metadata",
    "name",
    "package_dimensions",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "type",
    "unit_label",
    "url",
}
PRODUCT_DATA_FIELDS = {
    "name",
    "active",
    "metadata",
    "statement_descriptor",
    "tax_code",
    "unit_label",
    "id",
}
PRICE_CREATE_FIELDS = {
    "active",
    "billing_scheme",
    "currency",
    "custom_unit_amount",
    "lookup_key",
    "metadata",
    "nickname",
    "product",
    "product_data",
    "recurring",
    "tax_behavior",
    "tiers",
    "tiers_mode",
    "transfer_lookup_key",
    "transform_quantity",
    "unit_amount",
    "unit_amount_decimal",
}
PRICE_UPDATE_FIELDS = {
    "active",
    "metadata",
    "lookup_key",
    "nickname",
    "tax_behavior",
    "transfer_lookup_key",
}
CURRENCY = re.compile(r"^[a-z]{3}$")
# The most intervals of each unit a price may span: Stripe's limit is three years.
INTERVALS = {"day": 365 * 3, "week": 52 * 3, "month": 36, "year": 3}


# -- products --------------------------------------------------------------------


def _marketing_features(value: Any) -> list[dict[str, str]]:
    features = []
    for index, feature in enumerate(as_list(value, "marketing_features")):
        if not isinstance(feature, dict) or not feature.get("name"):
            raise invalid(
                "Each marketing feature needs a name.",
                param=f"marketing_features[{index}][name]",
                code="parameter_missing",
            )
        features.append({"name": str(feature["name"])})
    return features


def _apply_product_fields(store: Store, product: JSON, params: JSON) -> None:
    texts = ("name", "description", "statement_descriptor", "tax_code", "unit_label")
    for field in (*texts, "url"):
        if field in params:
            product[field] = params[field] or None
    if "active" in params:
        product["active"] = as_bool(params["active"], "active")
    if "shippable" in params:
        product["shippable"] = as_bool(params["shippable"], "shippable")
    if "images" in params:
        product["images"] = as_strings(params["images"], "images")
    if "metadata" in params:
        product["metadata"] = merge_metadata(product["metadata"], params["metadata"])
    if "marketing_features" in params:
        product["marketing_features"] = _marketing_features(
            params["marketing_features"]
        )
    if "default_price" in params:
        price = store.fetch("price", params["default_price"], "default_price")
        if price["product"] != product["id"]:
            raise invalid(
                "The default price must belong to this product.",
                param="default_price",
            )
        product["default_price"] = price["id"]


def create_product(store: Store, params: JSON) -> JSON:
    check_params(params, PRODUCT_FIELDS, required=["name"])
    product_id = params.get("id") or store.new_id("product")
    if store.find(product_id) is not None:
        raise StripeError(
            400,
            f"Product already exists: {product_id}",
            code="resource_already_exists",
            param="id",
        )
    product = shapes.product(product_id, store.now(), params)
    _apply_product_fields(store, product, params)
    if params.get("type") in ("service", "good"):
        product["type"] = params["type"]
    store.save(product)
    emit(store, "product.created", product)
    if params.get("default_price_data"):
        price_params = dict(params["default_price_data"], product=product_id)
        price = new_price(store, price_params)
        before = clone(product)
        product["default_price"] = price["id"]
        emit(store, "product.updated", product, diff(before, product))
    return store.render(product)


def retrieve_product(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(store.fetch("product", id))


def update_product(store: Store, params: JSON, id: str) -> JSON:
    check_params(
        params,
        PRODUCT_FIELDS - {"id", "type", "default_price_data"} | {"default_price"},
    )
    product = store.fetch("product", id)
    before = clone(product)
    _apply_product_fields(store, product, params)
    changes = diff(before, product)
    if changes:
        product["updated"] = store.now()
        emit(store, "product.updated", product, changes)
    return store.render(product)


def delete_product(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    product = store.fetch("product", id)
    if store.where("price", "product", id):
        raise invalid(
            "This product cannot be deleted because it has one or more user-created"
            " prices.",
            code="resource_already_exists",
        )
    store.remove(id)
    emit(store, "product.deleted", product)
    return shapes.deleted("product", id)


def list_products(store: Store, params: JSON) -> JSON:
    check_params(params, LIST_PARAMS | {"active", "created", "ids", "shippable", "url"})
    products = store.of_type("product")
    if "active" in params:
        active = as_bool(params["active"], "active")
        products = [p for p in products if p["active"] == active]
    if params.get("ids"):
        ids = set(as_strings(params["ids"], "ids"))
        products = [p for p in products if p["id"] in ids]
    matches = created_filter(params.get("created"))
    products = [p for p in products if matches(p["created"])]
    return list_response(store, "/v1/products", products, params)


def list_product_features(store: Store, params: JSON, id: str) -> JSON:
    # Entitlement features are not emulated: every product has none.
    check_params(params, LIST_PARAMS)
    store.fetch("product", id)
    return shapes.empty_list(f"/v1/products/{id}/features")


# -- prices ----------------------------------------------------------------------


def _tier_amount(tier: JSON, field: str, index: int) -> tuple[int | None, str]:
    """A tier's `unit_amount` or `flat_amount` (or its `*_decimal`): (integer, text)."""
    param = f"tiers[{index}][{field}]"
    if tier.get(f"{field}_decimal") not in (None, ""):
        exact = _decimal(tier[f"{field}_decimal"], f"{param}_decimal")
        whole = int(exact) if exact == int(exact) else None
        return whole, _decimal_text(exact)
    amount = as_int(tier.get(field, 0) or 0, param, 0)
    return amount, str(amount)


def _tiers(raw: Any, mode: Any) -> list[JSON]:
    if mode not in ("graduated", "volume"):
        raise invalid("tiers_mode must be graduated or volume.", param="tiers_mode")
    tiers: list[JSON] = []
    for index, tier in enumerate(as_list(raw, "tiers")):
        if not isinstance(tier, dict) or "up_to" not in tier:
            raise invalid("Each tier needs up_to.", param=f"tiers[{index}][up_to]")
        if tiers and tiers[-1]["up_to"] is None:
            raise invalid("Only the last tier may have up_to=inf.", param="tiers")
        up_to = None
        if tier["up_to"] != "inf":
            up_to = as_int(tier["up_to"], f"tiers[{index}][up_to]", 1)
            if tiers and up_to <= tiers[-1]["up_to"]:
                raise invalid(
                    "Tiers must be in ascending order of up_to.",
                    param=f"tiers[{index}][up_to]",
                )
        unit, unit_text = _tier_amount(tier, "unit_amount", index)
        flat, flat_text = _tier_amount(tier, "flat_amount", index)
        tiers.append(
            {
                "up_to": up_to,
                "unit_amount": unit,
                "unit_amount_decimal": unit_text,
                "flat_amount": flat,
                "flat_amount_decimal": flat_text,
            }
        )
    if not tiers or tiers[-1]["up_to"] is not None:
        raise invalid("The last tier must have up_to=inf.", param="tiers")
    return tiers


def _decimal(value: Any, param: str) -> Decimal:
    try:
        exact = Decimal(str(value))
    except InvalidOperation:
        exact = Decimal(-1)
    if not exact.is_finite() or exact < 0:
        raise invalid(
            f"Invalid decimal: {value}", param=param, code="parameter_invalid_decimal"
        )
    return exact


def _decimal_text(exact: Decimal) -> str:
    """Stripe's text for a decimal amount: no exponent, no trailing zeros."""
    text = format(exact, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _transform_quantity(raw: Any) -> JSON:
    fields = check_nested(raw, {"divide_by", "round"}, "transform_quantity")
    divide_by = as_int(fields.get("divide_by"), "transform_quantity[divide_by]", 1)
    if fields.get("round") not in ("up", "down"):
        raise invalid(
            "transform_quantity[round] must be up or down.",
            param="transform_quantity[round]",
            code="parameter_invalid_string",
        )
    return {"divide_by": divide_by, "round": fields["round"]}


def _price_product(store: Store, params: JSON) -> str:
    """The product id of a new price: `product`, or one made from `product_data`."""
    if "product" in params and "product_data" in params:
        raise invalid(
            "You may only specify one of these parameters: product, product_data.",
            param="product",
        )
    if params.get("product_data"):
        data = params["product_data"]
        if not isinstance(data, dict) or not data.get("name"):
            raise invalid(
                "Missing required param: product_data[name].",
                param="product_data[name]",
                code="parameter_missing",
            )
        for key in data:
            if key not in PRODUCT_DATA_FIELDS:
                raise invalid(
                    f"Received unknown parameter: product_data[{key}]",
                    param=f"product_data[{key}]",
                    code="parameter_unknown",
                )
        return create_product(store, dict(data))["id"]
    if params.get("product"):
        return store.fetch("product", params["product"], "product")["id"]
    raise invalid(
        "Missing required param: product.", param="product", code="parameter_missing"
    )


def _recurring(raw: Any) -> JSON:
    interval = raw.get("interval") if isinstance(raw, dict) else None
    if not isinstance(interval, str) or interval not in INTERVALS:
        raise invalid(
            "recurring[interval] must be day, week, month or year.",
            param="recurring[interval]",
        )
    count = as_int(raw.get("interval_count", 1), "recurring[interval_count]", 1)
    if count > INTERVALS[raw["interval"]]:
        raise invalid(
            "The billing interval is too long (at most three years).",
            param="recurring[interval_count]",
        )
    trial = raw.get("trial_period_days")
    return {
        "interval": raw["interval"],
        "interval_count": count,
        "meter": None,
        "trial_period_days": as_int(trial, "trial_period_days", 0) if trial else None,
        "usage_type": raw.get("usage_type", "licensed"),
    }


def new_price(store: Store, params: JSON) -> JSON:
    """Create a price from checked parameters; returns the stored price."""
    product_id = _price_product(store, params)
    currency = str(params["currency"]).lower()
    if not CURRENCY.match(currency):
        raise invalid(
            f"Invalid currency: {params['currency']}.",
            param="currency",
            code="parameter_invalid_string",
        )
    price = shapes.price(store.new_id("price"), store.now(), product_id)
    price["currency"] = currency
    scheme = params.get("billing_scheme", "per_unit")
    if scheme == "tiered":
        if params.get("transform_quantity"):
            raise invalid(
                "transform_quantity cannot be used with billing_scheme=tiered.",
                param="transform_quantity",
            )
        mode = params.get("tiers_mode")
        store.private(price["id"])["tiers"] = _tiers(params.get("tiers"), mode)
        price["billing_scheme"] = "tiered"
        price["tiers_mode"] = mode
    elif scheme == "per_unit":
        if "unit_amount" in params:
            amount = as_int(params["unit_amount"], "unit_amount", minimum=0)
            price["unit_amount"] = amount
            price["unit_amount_decimal"] = str(amount)
        elif "unit_amount_decimal" in params:
            exact = _decimal(params["unit_amount_decimal"], "unit_amount_decimal")
            # A fraction of the minor unit has no integer form: unit_amount is null.
            price["unit_amount"] = int(exact) if exact == int(exact) else None
            price["unit_amount_decimal"] = _decimal_text(exact)
        else:
            raise invalid(
                "Missing required param: unit_amount.",
                param="unit_amount",
                code="parameter_missing",
            )
        if params.get("transform_quantity"):
            price["transform_quantity"] = _transform_quantity(
                params["transform_quantity"]
            )
    else:
        raise invalid(f"Invalid billing_scheme: {scheme}", param="billing_scheme")
    if params.get("recurring"):
        price["recurring"] = _recurring(params["recurring"])
        price["type"] = "recurring"
    _apply_price_fields(store, price, params)
    store.save(price)
    emit(store, "price.created", price)
    return price


def _apply_price_fields(store: Store, price: JSON, params: JSON) -> None:
    if "active" in params:
        price["active"] = as_bool(params["active"], "active")
    if "nickname" in params:
        price["nickname"] = params["nickname"] or None
    if "tax_behavior" in params:
        price["tax_behavior"] = params["tax_behavior"]
    if "metadata" in params:
        price["metadata"] = merge_metadata(price["metadata"], params["metadata"])
    if "lookup_key" in params:
        key = params["lookup_key"] or None
        holder = next(
            (
                p
                for p in store.of_type("price")
                if key and p["lookup_key"] == key and p["id"] != price["id"]
            ),
            None,
        )
        if holder is not None:
            if not as_bool(
                params.get("transfer_lookup_key", "false"), "transfer_lookup_key"
            ):
                raise invalid(
                    f"A price (`{holder['id']}`) already uses that lookup key.",
                    param="lookup_key",
                    code="parameter_invalid_string",
                )
            before = clone(holder)
            holder["lookup_key"] = None
            emit(store, "price.updated", holder, diff(before, holder))
        price["lookup_key"] = key


def create_price(store: Store, params: JSON) -> JSON:
    check_params(params, PRICE_CREATE_FIELDS, required=["currency"])
    # Stripe checks values before it looks objects up: a bad amount is a 400 even
    # for an unknown product.
    if "unit_amount" in params:
        as_int(params["unit_amount"], "unit_amount", minimum=0)
    return store.render(new_price(store, params))


def retrieve_price(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(store.fetch("price", id))


def update_price(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, PRICE_UPDATE_FIELDS)
    price = store.fetch("price", id)
    before = clone(price)
    _apply_price_fields(store, price, params)
    changes = diff(before, price)
    if changes:
        emit(store, "price.updated", price, changes)
    return store.render(price)


def list_prices(store: Store, params: JSON) -> JSON:
    check_params(
        params,
        LIST_PARAMS
        | {
            "active",
            "currency",
            "product",
            "type",
            "lookup_keys",
            "created",
            "recurring",
        },
    )
    if params.get("product"):
        prices = store.where("price", "product", params["product"])
    else:
        prices = store.of_type("price")
    if "active" in params:
        active = as_bool(params["active"], "active")
        prices = [p for p in prices if p["active"] == active]
    for field in ("type", "currency"):
        if params.get(field):
            prices = [p for p in prices if p[field] == params[field]]
    if params.get("lookup_keys"):
        keys = set(as_strings(params["lookup_keys"], "lookup_keys"))
        prices = [p for p in prices if p["lookup_key"] in keys]
    recurring = params.get("recurring")
    if isinstance(recurring, dict) and recurring.get("interval"):
        interval = recurring["interval"]
        prices = [
            p for p in prices if (p["recurring"] or {}).get("interval") == interval
        ]
    matches = created_filter(params.get("created"))
    prices = [p for p in prices if matches(p["created"])]
    return list_response(store, "/v1/prices", prices, params)


# -- helpers for billing ---------------------------------------------------------


def recurring_price(store: Store, price_id: str, param: str) -> JSON:
    """An active recurring price, or the 400 Stripe answers for anything else."""
    price = store.fetch("price", price_id, param)
    if not price["active"]:
        raise invalid(f"The price specified is inactive: {price_id}", param=param)
    if price["type"] != "recurring":
        raise invalid(
            f"The price specified is set to `type=one_time` but this field only accepts"
            f" prices with `type=recurring`: {price_id}",
            param=param,
        )
    return price


def one_time_price(store: Store, price_id: str, param: str) -> JSON:
    """An active one-time price (Checkout in payment mode), or Stripe's 400."""
    price = store.fetch("price", price_id, param)
    if not price["active"]:
        raise invalid(f"The price specified is inactive: {price_id}", param=param)
    if price["type"] != "one_time":
        raise invalid(
            "You specified `payment` mode but passed a recurring price. Either switch"
            " to `subscription` mode or use only one-time prices.",
            param=param,
        )
    return price


def price_name(store: Store, price: JSON) -> str:
    """The price's product name (what invoice lines and pages show)."""
    product = store.find(price["product"])
    return product["name"] if product else price["id"]


def same_interval(old: JSON, new: JSON) -> bool:
    """Whether two recurring prices bill over the same period length."""
    a, b = old["recurring"] or {}, new["recurring"] or {}
    return (a.get("interval"), a.get("interval_count")) == (
        b.get("interval"),
        b.get("interval_count"),
    )


def price_amount(store: Store, price: JSON, quantity: int) -> int:
    """What `quantity` units of `price` cost for one period, in minor units."""
    tiers = store.private(price["id"]).get("tiers") if price["tiers_mode"] else None
    return amounts.price_amount(price, tiers, quantity)
