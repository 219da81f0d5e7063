"""Coupons and promotion codes: the API, and whether one may be redeemed now.

A coupon takes `percent_off`, or `amount_off` in its `currency`, off invoices for a
`duration`: `once`, `repeating` (`duration_in_months`) or `forever`, optionally
only on the products of `applies_to`. It stops being `valid` once `redeem_by` has
passed or it has been redeemed `max_redemptions` times; discounts made from it
before keep applying, even after the coupon is deleted.

A promotion code is a customer-facing code for a coupon (`promotion.coupon` in this
API version) with its own `active`, `expires_at`, `max_redemptions`, an optional
`customer` who alone may use it, and `restrictions`: `first_time_transaction` (the
customer has never paid anything) and `minimum_amount` (in
`minimum_amount_currency`) of the purchase before discounts.

Refusals are Stripe's 400 invalid_request_error naming the parameter, with a
message the hosted Checkout page shows as it is.
"""

import re
from typing import Any

from . import money_shapes
from .errors import StripeError, invalid
from .events import diff, emit
from .listing import list_response
from .params import (
    LIST_PARAMS,
    as_bool,
    as_int,
    as_list,
    as_string,
    as_timestamp,
    check_nested,
    check_params,
    clone,
    created_filter,
    merge_metadata,
)
from .shapes import JSON, deleted
from .store import Store, random_suffix

COUPON_CREATE_FIELDS = {
    "amount_off",
    "applies_to",
    "currency",
    "duration",
    "duration_in_months",
    "id",
    "max_redemptions",
    "metadata",
    "name",
    "percent_off",
    "redeem_by",
}
PROMOTION_CODE_CREATE_FIELDS = {
    "active",
    "code",
    "customer",
    "expires_at",
    "max_redemptions",
    "metadata",
    "promotion",
    "restrictions",
}
RESTRICTION_FIELDS = {
    "first_time_transaction",
    "minimum_amount",
    "minimum_amount_currency",
}
DURATIONS = ("once", "repeating", "forever")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,500}$")
CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


def display_amount(amount: int, currency: str) -> str:
    """An amount as Stripe's messages write it: $10.00, or 10.00 SEK."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    figure = f"{amount / 100:,.2f}"
    return f"{symbol}{figure}" if symbol else f"{figure} {currency.upper()}"


def _future(store: Store, value: Any, param: str) -> int:
    moment = as_timestamp(value, param)
    if moment <= store.now():
        raise invalid(
            "Invalid timestamp: must be an integer Unix timestamp in the future.",
            param=param,
            code="parameter_invalid_integer",
        )
    return moment


# -- coupons ---------------------------------------------------------------------


def coupon_problem(coupon: JSON, when: int) -> str | None:
    """Why a coupon cannot be redeemed at `when`, or None."""
    if coupon["redeem_by"] is not None and when >= coupon["redeem_by"]:
        return f"The coupon {coupon['id']} has expired."
    limit = coupon["max_redemptions"]
    if limit is not None and coupon["times_redeemed"] >= limit:
        return (
            f"The coupon {coupon['id']} has been redeemed the maximum number of times."
        )
    return None


def _refresh(store: Store, coupon: JSON) -> JSON:
    # `valid` depends on the time: worked out whenever the coupon is shown.
    coupon["valid"] = coupon_problem(coupon, store.now()) is None
    return coupon


def _discount_terms(params: JSON) -> JSON:
    """The checked percent_off / amount_off + currency of a new coupon."""
    has_percent = params.get("percent_off") not in (None, "")
    has_amount = params.get("amount_off") not in (None, "")
    if has_percent == has_amount:
        raise invalid(
            "You must pass exactly one of percent_off or amount_off.",
            param="percent_off" if not has_percent else "amount_off",
        )
    if has_percent:
        try:
            percent = float(as_string(params["percent_off"], "percent_off"))
        except ValueError:
            percent = -1.0
        if not 0 < percent <= 100:
            raise invalid(
                "Invalid percent_off: must be greater than 0 and at most 100.",
                param="percent_off",
                code="parameter_invalid_decimal",
            )
        if params.get("currency"):
            raise invalid("currency can only be set with amount_off.", param="currency")
        return {"percent_off": percent}
    amount = as_int(params["amount_off"], "amount_off", minimum=1)
    currency = str(params.get("currency") or "").lower()
    if not re.match(r"^[a-z]{3}$", currency):
        raise invalid(
            "You must pass a currency when you pass amount_off.",
            param="currency",
            code="parameter_missing",
        )
    return {"amount_off": amount, "currency": currency}


def create_coupon(store: Store, params: JSON) -> JSON:
    """`POST /v1/coupons`."""
    check_params(params, COUPON_CREATE_FIELDS)
    coupon_id = str(params.get("id") or random_suffix(8).upper())
    if store.find(coupon_id) is not None:
        raise StripeError(
            400,
            f"Coupon already exists: {coupon_id}",
            code="resource_already_exists",
            param="id",
        )
    coupon = money_shapes.coupon(coupon_id, store.now())
    coupon.update(_discount_terms(params))
    duration = params.get("duration") or "once"
    if duration not in DURATIONS:
        raise invalid(
            "Invalid duration: must be one of once, repeating, forever.",
            param="duration",
            code="parameter_invalid_string",
        )
    coupon["duration"] = duration
    if duration == "repeating":
        if params.get("duration_in_months") in (None, ""):
            raise invalid(
                "Missing required param: duration_in_months (duration=repeating).",
                param="duration_in_months",
                code="parameter_missing",
            )
        coupon["duration_in_months"] = as_int(
            params["duration_in_months"], "duration_in_months", minimum=1
        )
    elif params.get("duration_in_months") not in (None, ""):
        raise invalid(
            "duration_in_months can only be set with duration=repeating.",
            param="duration_in_months",
        )
    if params.get("max_redemptions") not in (None, ""):
        coupon["max_redemptions"] = as_int(
            params["max_redemptions"], "max_redemptions", minimum=1
        )
    if params.get("redeem_by") not in (None, ""):
        coupon["redeem_by"] = _future(store, params["redeem_by"], "redeem_by")
    coupon["name"] = params.get("name") or None
    coupon["metadata"] = merge_metadata({}, params.get("metadata") or {})
    products: list[str] = []
    applies = check_nested(params.get("applies_to"), {"products"}, "applies_to")
    for index, product_id in enumerate(as_list(applies.get("products"), "products")):
        products.append(
            store.fetch("product", product_id, f"applies_to[products][{index}]")["id"]
        )
    store.save(coupon)
    # `applies_to` is shown only when expanded; the products limit what it discounts.
    store.private(coupon_id)["applies_to"] = {"products": products}
    emit(store, "coupon.created", coupon)
    return store.render(coupon)


def retrieve_coupon(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(_refresh(store, store.fetch("coupon", id)))


def update_coupon(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/coupons/{id}`: only `name` and `metadata` change."""
    check_params(params, {"metadata", "name"})
    coupon = _refresh(store, store.fetch("coupon", id))
    before = clone(coupon)
    if "name" in params:
        coupon["name"] = params["name"] or None
    if "metadata" in params:
        coupon["metadata"] = merge_metadata(coupon["metadata"], params["metadata"])
    changes = diff(before, coupon)
    if changes:
        emit(store, "coupon.updated", coupon, changes)
    return store.render(coupon)


def delete_coupon(store: Store, params: JSON, id: str) -> JSON:
    """`DELETE /v1/coupons/{id}`: no new redemptions; discounts made keep applying."""
    check_params(params, set())
    coupon = _refresh(store, store.fetch("coupon", id))
    store.remove(id)
    emit(store, "coupon.deleted", coupon)
    return deleted("coupon", id)


def list_coupons(store: Store, params: JSON) -> JSON:
    check_params(params, LIST_PARAMS | {"created"})
    matches = created_filter(params.get("created"))
    found = [
        _refresh(store, c) for c in store.of_type("coupon") if matches(c["created"])
    ]
    return list_response(store, "/v1/coupons", found, params)


# -- promotion codes -------------------------------------------------------------


def _restrictions(raw: Any) -> JSON:
    fields = check_nested(raw, RESTRICTION_FIELDS, "restrictions")
    out = {
        "first_time_transaction": as_bool(
            fields.get("first_time_transaction", False),
            "restrictions[first_time_transaction]",
        ),
        "minimum_amount": None,
        "minimum_amount_currency": None,
    }
    if fields.get("minimum_amount") not in (None, ""):
        out["minimum_amount"] = as_int(
            fields["minimum_amount"], "restrictions[minimum_amount]", 0
        )
        currency = str(fields.get("minimum_amount_currency") or "").lower()
        if not re.match(r"^[a-z]{3}$", currency):
            raise invalid(
                "Missing required param: restrictions[minimum_amount_currency].",
                param="restrictions[minimum_amount_currency]",
                code="parameter_missing",
            )
        out["minimum_amount_currency"] = currency
    return out


def _active_holder(
    store: Store, code: str, customer: str | None, other_than: str | None = None
) -> JSON | None:
    """The active promotion code with this code (any case) for this customer."""
    wanted = code.lower()
    for promo in store.of_type("promotion_code"):
        if (
            promo["active"]
            and promo["id"] != other_than
            and promo["code"].lower() == wanted
            and promo["customer"] == customer
        ):
            return promo
    return None


def _refuse_taken_code(store: Store, promo: JSON) -> None:
    if _active_holder(store, promo["code"], promo["customer"], promo["id"]):
        raise invalid(
            f"An active promotion code with `code: {promo['code']}` already exists.",
            param="code",
            code="resource_already_exists",
        )


def create_promotion_code(store: Store, params: JSON) -> JSON:
    """`POST /v1/promotion_codes` (`promotion[type]=coupon`, `promotion[coupon]`)."""
    check_params(params, PROMOTION_CODE_CREATE_FIELDS, required=["promotion"])
    promotion = check_nested(params["promotion"], {"type", "coupon"}, "promotion")
    if promotion.get("type") != "coupon":
        raise invalid(
            "Invalid promotion[type]: must be coupon.",
            param="promotion[type]",
            code="parameter_invalid_string",
        )
    if not promotion.get("coupon"):
        raise invalid(
            "Missing required param: promotion[coupon].",
            param="promotion[coupon]",
            code="parameter_missing",
        )
    coupon = store.fetch("coupon", promotion["coupon"], "promotion[coupon]")
    problem = coupon_problem(coupon, store.now())
    if problem:
        raise invalid(problem, param="promotion[coupon]", code="coupon_expired")
    code = str(params.get("code") or random_suffix(8).upper())
    if not CODE_PATTERN.match(code):
        raise invalid(
            "Invalid code: use letters, digits and dashes only.",
            param="code",
            code="parameter_invalid_string",
        )
    promo = money_shapes.promotion_code(
        store.new_id("promotion_code"), store.now(), code, coupon["id"]
    )
    if params.get("customer"):
        promo["customer"] = store.fetch("customer", params["customer"], "customer")[
            "id"
        ]
    if "active" in params:
        promo["active"] = as_bool(params["active"], "active")
    if params.get("expires_at") not in (None, ""):
        promo["expires_at"] = _future(store, params["expires_at"], "expires_at")
        if coupon["redeem_by"] and promo["expires_at"] > coupon["redeem_by"]:
            raise invalid(
                "expires_at cannot be later than the coupon's redeem_by.",
                param="expires_at",
            )
    if params.get("max_redemptions") not in (None, ""):
        promo["max_redemptions"] = as_int(
            params["max_redemptions"], "max_redemptions", minimum=1
        )
    promo["restrictions"] = _restrictions(params.get("restrictions"))
    promo["metadata"] = merge_metadata({}, params.get("metadata") or {})
    if promo["active"]:
        _refuse_taken_code(store, promo)
    store.save(promo)
    emit(store, "promotion_code.created", promo)
    return store.render(promo)


def retrieve_promotion_code(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(store.fetch("promotion_code", id))


def update_promotion_code(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/promotion_codes/{id}`: `active` and `metadata`."""
    check_params(params, {"active", "metadata", "restrictions"})
    promo = store.fetch("promotion_code", id)
    before = clone(promo)
    if "active" in params:
        promo["active"] = as_bool(params["active"], "active")
        if promo["active"] and not before["active"]:
            _refuse_taken_code(store, promo)
    if "metadata" in params:
        promo["metadata"] = merge_metadata(promo["metadata"], params["metadata"])
    # restrictions[currency_options] is accepted; other currencies are not modelled.
    check_nested(params.get("restrictions"), {"currency_options"}, "restrictions")
    changes = diff(before, promo)
    if changes:
        emit(store, "promotion_code.updated", promo, changes)
    return store.render(promo)


def list_promotion_codes(store: Store, params: JSON) -> JSON:
    check_params(
        params, LIST_PARAMS | {"active", "code", "coupon", "created", "customer"}
    )
    matches = created_filter(params.get("created"))
    found = [p for p in store.of_type("promotion_code") if matches(p["created"])]
    if "active" in params:
        active = as_bool(params["active"], "active")
        found = [p for p in found if p["active"] == active]
    if params.get("code"):
        wanted = str(params["code"]).lower()
        found = [p for p in found if p["code"].lower() == wanted]
    if params.get("coupon"):
        found = [p for p in found if p["promotion"]["coupon"] == params["coupon"]]
    if params.get("customer"):
        found = [p for p in found if p["customer"] == params["customer"]]
    return list_response(store, "/v1/promotion_codes", found, params)


# -- redeeming -------------------------------------------------------------------


def has_paid_before(store: Store, customer_id: str | None) -> bool:
    """Whether the customer has any successful payment (what first-time
    promotion codes look at)."""
    if not customer_id:
        return False
    charges = store.where("charge", "customer", customer_id)
    if any(c["status"] == "succeeded" for c in charges):
        return True
    return any(
        i["status"] == "paid" and i["amount_paid"] > 0
        for i in store.where("invoice", "customer", customer_id)
    )


def usable_coupon(
    store: Store, coupon_id: str, param: str, currency: str, when: int
) -> JSON:
    """A coupon that may be redeemed now on a purchase in `currency`, else 400."""
    coupon = store.fetch("coupon", coupon_id, param)
    problem = coupon_problem(coupon, when)
    if problem:
        raise invalid(problem, param=param, code="coupon_expired")
    if coupon["currency"] and coupon["currency"] != currency:
        raise invalid(
            f"The coupon {coupon['id']} is in {coupon['currency'].upper()} and cannot"
            f" be applied to a purchase in {currency.upper()}.",
            param=param,
        )
    return coupon


def find_promotion_code(
    store: Store, code: str, customer_id: str | None, param: str
) -> JSON:
    """The active promotion code a customer typed (any case), else 400."""
    found = _active_holder(store, code, customer_id) or _active_holder(
        store, code, None
    )
    if found is None:
        raise invalid(f"The promotion code {code} is not valid.", param=param)
    return found


def usable_promotion_code(
    store: Store,
    promo: JSON,
    param: str,
    customer_id: str | None,
    purchase: tuple[int, str],
    when: int,
) -> JSON:
    """Check every rule of a promotion code for this customer and purchase
    (amount before discounts, currency); returns its coupon, or raises 400."""
    code = promo["code"]
    if not promo["active"]:
        raise invalid(f"The promotion code {code} is inactive.", param=param)
    if promo["expires_at"] is not None and when >= promo["expires_at"]:
        raise invalid(f"The promotion code {code} has expired.", param=param)
    limit = promo["max_redemptions"]
    if limit is not None and promo["times_redeemed"] >= limit:
        raise invalid(
            f"The promotion code {code} has been redeemed the maximum number of times.",
            param=param,
        )
    if promo["customer"] and promo["customer"] != customer_id:
        raise invalid(
            f"The promotion code {code} cannot be redeemed by this customer.",
            param=param,
        )
    rules = promo["restrictions"]
    if rules["first_time_transaction"] and has_paid_before(store, customer_id):
        raise invalid(
            "This promotion code cannot be redeemed because the associated customer"
            " has prior transactions.",
            param=param,
        )
    amount, currency = purchase
    minimum = rules["minimum_amount"]
    if minimum is not None and (
        currency != rules["minimum_amount_currency"] or amount < minimum
    ):
        shown = display_amount(minimum, rules["minimum_amount_currency"])
        raise invalid(
            f"The promotion code {code} needs a purchase of at least {shown}.",
            param=param,
        )
    return usable_coupon(store, promo["promotion"]["coupon"], param, currency, when)


def record_redemption(store: Store, coupon_id: str, promo_id: str | None) -> None:
    """Count one redemption of the coupon (and of the promotion code used)."""
    coupon = store.find(coupon_id)
    if coupon is not None:
        coupon["times_redeemed"] += 1
        _refresh(store, coupon)
    promo = store.find(promo_id)
    if promo is not None:
        promo["times_redeemed"] += 1
