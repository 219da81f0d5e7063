"""Subscriptions and their items: starting one (with its first invoice), renewing it
at the end of each period, cancelling, and the create/retrieve/cancel/list API.

Changes to a live subscription (`POST /v1/subscriptions/{id}`) are in
`subscription_updates.py`; what happens as time passes is in `schedule.py`.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from . import billing_shapes
from . import discounts as discount_rules
from .catalog import price_amount, price_name, recurring_price
from .customers import charge_succeeds, default_payment_method
from .errors import card_declined, invalid
from .events import diff, emit
from .invoices import DAY, Line, bill_paused_collection, collect, finalize, new_invoice
from .lifecycle import (
    ENDED,
    TRIAL_END_BEHAVIORS,
    end_subscription,
    end_trial_without_payment_method,
    warn_if_trial_ends_soon,
)
from .listing import list_ordered, list_response
from .params import (
    LIST_PARAMS,
    MAX_TRIAL_DAYS,
    as_bool,
    as_int,
    as_list,
    as_timestamp,
    check_nested,
    check_params,
    created_filter,
    merge_metadata,
)
from .periods import add_interval
from .shapes import JSON
from .store import Store

LIVE_STATUSES = ("trialing", "active", "past_due", "unpaid", "incomplete", "paused")
PAYMENT_BEHAVIORS = (
    "allow_incomplete",
    "default_incomplete",
    "error_if_incomplete",
    "pending_if_incomplete",
)
SUBSCRIPTION_CREATE_FIELDS = {
    "cancel_at",
    "cancel_at_period_end",
    "collection_method",
    "customer",
    "default_payment_method",
    "description",
    "discounts",
    "items",
    "metadata",
    "off_session",
    "payment_behavior",
    "payment_settings",
    "proration_behavior",
    "trial_end",
    "trial_period_days",
    "trial_settings",
}
SUBSCRIPTION_LIST_FIELDS = LIST_PARAMS | {
    "customer",
    "status",
    "price",
    "created",
    "test_clock",
    "collection_method",
    "current_period_end",
    "current_period_start",
}
ITEM_SPEC_FIELDS = ("price", "quantity", "metadata", "adjustable_quantity")
# (price, quantity, metadata) of an item to create.
ItemSpec = tuple[JSON, int, dict[str, Any]]


def period_end(start: int, price: JSON, anchor: int) -> int:
    """The end of a period of `price` starting at `start`, on the anchor's day."""
    recurring = price["recurring"]
    anchor_day = datetime.fromtimestamp(anchor, UTC).day
    return add_interval(
        start, recurring["interval"], recurring["interval_count"], anchor_day
    )


def sub_items(store: Store, sub: JSON) -> list[JSON]:
    return [store.objects[i] for i in sub["items"]["data"]]


def current_period(store: Store, sub: JSON) -> tuple[int, int]:
    """(start, end) of the subscription's current period (its first item's)."""
    first = store.objects[sub["items"]["data"][0]]
    return first["current_period_start"], first["current_period_end"]


def items_spec(store: Store, raw: Any, param: str = "items") -> list[ItemSpec]:
    """Checked `items[...]` (or Checkout's `line_items[...]`) of a new subscription."""
    specs = []
    for index, item in enumerate(as_list(raw, param)):
        if not isinstance(item, dict) or not item.get("price"):
            raise invalid(
                f"Missing required param: {param}[{index}][price].",
                param=f"{param}[{index}][price]",
                code="parameter_missing",
            )
        for key in item:
            if key not in ITEM_SPEC_FIELDS:
                raise invalid(
                    f"Received unknown parameter: {param}[{index}][{key}]",
                    param=f"{param}[{index}][{key}]",
                    code="parameter_unknown",
                )
        price = recurring_price(store, item["price"], f"{param}[{index}][price]")
        quantity = as_int(item.get("quantity", 1), f"{param}[{index}][quantity]", 0)
        specs.append((price, quantity, item.get("metadata") or {}))
    if not specs:
        raise invalid(
            f"Missing required param: {param}.", param=param, code="parameter_missing"
        )
    return specs


# -- lifecycle -------------------------------------------------------------------


def start_subscription(
    store: Store,
    customer: JSON,
    specs: list[ItemSpec],
    trial_end: int | None = None,
    metadata: Any = None,
    default_payment_method: str | None = None,
    payment_behavior: str = "allow_incomplete",
    description: str | None = None,
    trial_end_behavior: str | None = None,
    discounts: list[discount_rules.Spec] | None = None,
) -> JSON:
    """Create a subscription, its first invoice and their events; returns it.

    `discounts` (checked by `discounts.discount_specs`) apply from the first invoice.
    """
    now = store.now(customer["id"])
    if trial_end is not None and trial_end <= now:
        raise invalid(
            "Invalid timestamp: must be an integer Unix timestamp in the future.",
            param="trial_end",
        )
    probe = {"default_payment_method": default_payment_method}
    first_amount = sum(price_amount(store, p, q) for p, q, _ in specs)
    if (
        trial_end is None
        and first_amount > 0
        and payment_behavior != "default_incomplete"
    ):
        succeeded, reason = charge_succeeds(store, customer["id"], probe)
        if reason == "no_payment_method":
            raise invalid(
                "This customer has no attached payment source or default payment method."
                " Please consider adding a default payment method.",
                code="resource_missing",
            )
        if not succeeded and payment_behavior == "error_if_incomplete":
            raise card_declined()
    sub = billing_shapes.subscription(store.new_id("subscription"), now, customer)
    sub["metadata"] = merge_metadata({}, metadata or {})
    sub["description"] = description
    sub["default_payment_method"] = default_payment_method
    sub["currency"] = specs[0][0]["currency"]
    if trial_end is not None:
        sub["status"] = "trialing"
        sub["trial_start"], sub["trial_end"] = now, trial_end
    if trial_end_behavior:
        sub["trial_settings"]["end_behavior"]["missing_payment_method"] = (
            trial_end_behavior
        )
    sub["billing_cycle_anchor"] = trial_end or now
    lines: list[Line] = []
    for price, quantity, item_metadata in specs:
        end = trial_end or period_end(now, price, now)
        item = billing_shapes.subscription_item(
            store.new_id("subscription_item"),
            now,
            sub["id"],
            price["id"],
            quantity,
            now,
            end,
        )
        item["metadata"] = merge_metadata({}, item_metadata)
        store.save(item)
        sub["items"]["data"].append(item["id"])
        amount = 0 if trial_end else price_amount(store, price, quantity)
        text = (
            f"Trial period for {price_name(store, price)}"
            if trial_end
            else f"{quantity} x {price_name(store, price)}"
        )
        lines.append((item, amount, quantity, {"start": now, "end": end}, text, False))
    store.save(sub)
    if discounts:
        discount_rules.set_subscription_discounts(store, sub, discounts, now)
    invoice = new_invoice(store, sub, "subscription_create", lines, now)
    if trial_end is not None:
        sub_status = "trialing"
    elif payment_behavior == "default_incomplete" and invoice["amount_due"] > 0:
        sub_status = "incomplete"
    else:
        sub_status = None
    emit(store, "customer.subscription.created", sub, created=now)
    warn_if_trial_ends_soon(store, sub, now)
    if sub_status == "incomplete":
        finalize(store, invoice, now)
        return sub
    # A first invoice is not retried: the customer must act within 23 hours.
    paid = collect(store, sub, invoice, now, retries=False)
    before = store.render(sub)
    if sub_status is None:
        sub["status"] = "active" if paid else "incomplete"
    changes = diff(before, store.render(sub))
    if changes:
        emit(store, "customer.subscription.updated", sub, changes, created=now)
    return sub


def renew(store: Store, sub: JSON, when: int) -> None:
    """The period (or trial) ended: cancel if asked, apply the trial's end behaviour
    when no card is on file, else start the next period and bill it."""
    if sub["cancel_at_period_end"] or (sub["cancel_at"] and sub["cancel_at"] <= when):
        end_subscription(store, sub, when)
        return
    if (
        sub["status"] == "trialing"
        and default_payment_method(store, sub["customer"], sub) is None
        and end_trial_without_payment_method(store, sub, when)
    ):
        return
    before = store.render(sub)
    lines: list[Line] = []
    for item in sub_items(store, sub):
        price = store.objects[item["price"]]
        start = item["current_period_start"] = item["current_period_end"]
        end = period_end(start, price, sub["billing_cycle_anchor"])
        amount = price_amount(store, price, item["quantity"])
        if sub["cancel_at"] and sub["cancel_at"] < end:
            # The last period stops at cancel_at and is billed for that part only.
            amount = round(amount * (sub["cancel_at"] - start) / max(1, end - start))
            end = sub["cancel_at"]
        item["current_period_end"] = end
        text = f"{item['quantity']} x {price_name(store, price)}"
        lines.append(
            (item, amount, item["quantity"], {"start": start, "end": end}, text, False)
        )
    lines += take_pending_prorations(store, sub)
    if sub["status"] == "trialing":
        sub["status"] = "active"
    invoice = new_invoice(store, sub, "subscription_cycle", lines, when)
    if sub["pause_collection"]:
        # Collection is paused: the invoice is not charged and the status stays.
        bill_paused_collection(
            store, invoice, sub["pause_collection"]["behavior"], when
        )
    elif sub["status"] == "unpaid":
        # Stripe keeps invoicing an unpaid subscription but stops charging it.
        finalize(store, invoice, when)
        invoice["auto_advance"] = False
    elif collect(store, sub, invoice, when):
        sub["status"] = "active"
    else:
        sub["status"] = "past_due"
    emit(
        store,
        "customer.subscription.updated",
        sub,
        diff(before, store.render(sub)),
        created=when,
    )


def take_pending_prorations(store: Store, sub: JSON) -> list[Line]:
    """Invoice lines for the prorations owed since the last invoice (and forget them)."""
    lines: list[Line] = []
    for item_id, amount, text, period in store.private(sub["id"]).pop(
        "pending_prorations", []
    ):
        item = store.find(item_id)
        if item is not None:
            lines.append((item, amount, item["quantity"], period, text, True))
    return lines


def apply_cancel_fields(store: Store, sub: JSON, params: JSON, now: int) -> None:
    """`cancel_at_period_end`, `cancel_at` and `cancellation_details` of a request."""
    if "cancel_at_period_end" in params:
        flag = as_bool(params["cancel_at_period_end"], "cancel_at_period_end")
        sub["cancel_at_period_end"] = flag
        sub["cancel_at"] = current_period(store, sub)[1] if flag else None
        sub["canceled_at"] = now if flag else None
        sub["cancellation_details"]["reason"] = (
            "cancellation_requested" if flag else None
        )
    if "cancel_at" in params:
        value = params["cancel_at"]
        cancel_at = (
            as_timestamp(value, "cancel_at") if value not in ("", None) else None
        )
        if cancel_at is not None and cancel_at <= now:
            raise invalid(
                "Invalid timestamp: must be an integer Unix timestamp in the future.",
                param="cancel_at",
            )
        sub["cancel_at"] = cancel_at
        sub["cancel_at_period_end"] = False
        sub["canceled_at"] = now if cancel_at else None
        sub["cancellation_details"]["reason"] = (
            "cancellation_requested" if cancel_at else None
        )
    details = params.get("cancellation_details")
    if isinstance(details, dict):
        for key in ("comment", "feedback"):
            if key in details:
                sub["cancellation_details"][key] = details[key] or None


# -- the subscriptions API -------------------------------------------------------


def trial_end_behavior_param(raw: Any, param: str = "trial_settings") -> str | None:
    """`trial_settings[end_behavior][missing_payment_method]`, checked (or None)."""
    settings = check_nested(raw, {"end_behavior"}, param)
    if not settings:
        return None
    where = f"{param}[end_behavior]"
    end = check_nested(settings.get("end_behavior"), {"missing_payment_method"}, where)
    behavior = end.get("missing_payment_method")
    if behavior not in TRIAL_END_BEHAVIORS:
        raise invalid(
            f"Invalid missing_payment_method: must be one of {', '.join(TRIAL_END_BEHAVIORS)}.",
            param=f"{where}[missing_payment_method]",
            code="parameter_invalid_string",
        )
    return behavior


def _trial_end_param(params: JSON, now: int) -> int | None:
    if params.get("trial_end") not in (None, ""):
        if params["trial_end"] == "now":
            return None
        return as_timestamp(params["trial_end"], "trial_end")
    if params.get("trial_period_days") not in (None, ""):
        days = as_int(
            params["trial_period_days"], "trial_period_days", 0, MAX_TRIAL_DAYS
        )
        return now + days * DAY if days else None
    return None


def create_subscription(store: Store, params: JSON) -> JSON:
    check_params(params, SUBSCRIPTION_CREATE_FIELDS, required=["customer"])
    # Bad items are a 400 even for an unknown customer, as on Stripe.
    specs = items_spec(store, params.get("items"))
    customer = store.fetch("customer", params["customer"], "customer")
    behavior = params.get("payment_behavior", "allow_incomplete")
    if behavior not in PAYMENT_BEHAVIORS:
        raise invalid(f"Invalid payment_behavior: {behavior}", param="payment_behavior")
    pm = params.get("default_payment_method") or None
    if pm:
        store.fetch("payment_method", pm, "default_payment_method")
    now = store.now(customer["id"])
    applied = None
    if params.get("discounts"):
        first = sum(price_amount(store, p, q) for p, q, _ in specs)
        applied = discount_rules.discount_specs(
            store,
            params["discounts"],
            "discounts",
            customer["id"],
            (first, specs[0][0]["currency"]),
            now,
        )
    sub = start_subscription(
        store,
        customer,
        specs,
        discounts=applied,
        trial_end=_trial_end_param(params, now),
        metadata=params.get("metadata"),
        default_payment_method=pm,
        payment_behavior=behavior,
        description=params.get("description") or None,
        trial_end_behavior=trial_end_behavior_param(params.get("trial_settings")),
    )
    if params.get("cancel_at_period_end") or params.get("cancel_at"):
        apply_cancel_fields(store, sub, params, now)
    return store.render(sub)


def retrieve_subscription(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(store.fetch("subscription", id))


def cancel_subscription(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, {"invoice_now", "prorate", "cancellation_details"})
    sub = store.fetch("subscription", id)
    if sub["status"] in ENDED:
        raise invalid(
            f"No such subscription: '{id}' (it is already canceled).",
            code="resource_missing",
            param="id",
        )
    now = store.now(sub["customer"])
    details = {k: v for k, v in params.items() if k == "cancellation_details"}
    apply_cancel_fields(store, sub, details, now)
    end_subscription(store, sub, now)
    return store.render(sub)


def list_subscriptions(store: Store, params: JSON) -> JSON:
    """`GET /v1/subscriptions`: newest first; `status=all` includes ended ones.

    Without a customer it walks the account's subscriptions in order and stops at
    the end of the page, so paging through all of them (reconciliation) stays cheap.
    """
    check_params(params, SUBSCRIPTION_LIST_FIELDS)
    status = params.get("status")
    if status not in (None, "", "all", "ended", *LIVE_STATUSES, *ENDED):
        raise invalid(f"Invalid status: {status}", param="status")
    checks: list[Callable[[JSON], bool]] = []
    if status in (None, ""):
        checks.append(lambda s: s["status"] not in ENDED)
    elif status == "ended":
        checks.append(lambda s: s["status"] in ENDED)
    elif status != "all":
        checks.append(lambda s: s["status"] == status)
    for field in ("test_clock", "collection_method"):
        if params.get(field):
            value = params[field]
            checks.append(lambda s, f=field, v=value: s[f] == v)
    if params.get("price"):
        price_id = params["price"]
        checks.append(
            lambda s: any(i["price"] == price_id for i in sub_items(store, s))
        )

    def keep(sub: JSON) -> bool:
        return all(check(sub) for check in checks)

    if not params.get("customer"):
        return list_ordered(store, "subscription", "/v1/subscriptions", params, keep)
    subs = store.where("subscription", "customer", params["customer"])
    matches = created_filter(params.get("created"))
    subs = [s for s in subs if keep(s) and matches(s["created"])]
    return list_response(store, "/v1/subscriptions", subs, params)


def list_subscription_items(store: Store, params: JSON) -> JSON:
    check_params(params, LIST_PARAMS | {"subscription"}, required=["subscription"])
    sub = store.fetch("subscription", params["subscription"], "subscription")
    return list_response(
        store,
        f"/v1/subscription_items?subscription={sub['id']}",
        sub_items(store, sub),
        params,
    )


def retrieve_subscription_item(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(store.fetch("subscription_item", id))
