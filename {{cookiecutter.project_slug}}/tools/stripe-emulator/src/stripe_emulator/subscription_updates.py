"""Changing a live subscription (`POST /v1/subscriptions/{id}`): its items (price,
quantity, added and removed items) with prorations, trial changes and trial
settings, cancellation fields, `pause_collection` and metadata.

As in Stripe, a change of price within the same billing interval keeps the current
period: the difference for the rest of the period is owed as a proration, billed
now with `always_invoice` or on the next invoice with `create_prorations`. A change
to a price with another interval (monthly to yearly, say) restarts the billing
cycle now and invoices at once: the new period's charges, less a credit for the
unused time of the old prices unless `proration_behavior=none`.
"""

from dataclasses import dataclass, field
from typing import Any

from . import billing_shapes
from .catalog import price_amount, price_name, recurring_price, same_interval
from .discounts import discount_specs, set_subscription_discounts
from .errors import invalid
from .events import diff, emit
from .invoices import Line, collect, new_invoice
from .lifecycle import ENDED, warn_if_trial_ends_soon, warn_trial_end
from .params import (
    as_bool,
    as_int,
    as_list,
    as_string,
    as_timestamp,
    check_params,
    merge_metadata,
)
from .pauses import pause_collection_param
from .shapes import JSON
from .store import Store
from .subscriptions import (
    apply_cancel_fields,
    current_period,
    period_end,
    renew,
    sub_items,
    take_pending_prorations,
    trial_end_behavior_param,
)

SUBSCRIPTION_UPDATE_FIELDS = {
    "cancel_at",
    "cancel_at_period_end",
    "cancellation_details",
    "default_payment_method",
    "description",
    "discounts",
    "items",
    "metadata",
    "off_session",
    "pause_collection",
    "payment_behavior",
    "payment_settings",
    "proration_behavior",
    "proration_date",
    "trial_end",
    "trial_settings",
}
ITEM_CHANGE_FIELDS = {"id", "price", "quantity", "deleted", "metadata", "clear_usage"}
PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")
PRORATION_TEXT = "Proration for the rest of the period"


@dataclass
class ItemChanges:
    """What applying `items[...]` did to a subscription."""

    # Prorations owed for the rest of the period: [item id, amount, text, period].
    owed: list[list[Any]] = field(default_factory=list)
    # A price moved to another billing interval: the cycle restarts now.
    interval_changed: bool = False
    # Each item as it was before the change: (item, price, quantity).
    previous: list[tuple[JSON, JSON, int]] = field(default_factory=list)


def _checked_change(index: int, change: Any) -> JSON:
    if not isinstance(change, dict):
        raise invalid("Invalid object", param=f"items[{index}]")
    unknown = set(change) - ITEM_CHANGE_FIELDS
    if unknown:
        key = sorted(unknown)[0]
        raise invalid(
            f"Received unknown parameter: items[{index}][{key}]",
            param=f"items[{index}][{key}]",
            code="parameter_unknown",
        )
    return change


def _change_item(
    store: Store, sub: JSON, item: JSON, change: JSON, index: int, only_one: bool
) -> tuple[int, bool]:
    """Apply one change to an existing item; (its new amount, interval changed)."""
    if as_bool(change.get("deleted", "false"), f"items[{index}][deleted]"):
        if only_one:
            raise invalid(
                "A subscription must keep at least one item.",
                param=f"items[{index}][deleted]",
            )
        sub["items"]["data"].remove(item["id"])
        store.remove(item["id"])
        return 0, False
    interval_changed = False
    if change.get("price"):
        old = store.objects[item["price"]]
        price = recurring_price(store, change["price"], f"items[{index}][price]")
        interval_changed = not same_interval(old, price)
        item["price"] = item["plan"] = price["id"]
    if "quantity" in change:
        item["quantity"] = as_int(change["quantity"], f"items[{index}][quantity]", 0)
    if "metadata" in change:
        item["metadata"] = merge_metadata(item["metadata"], change["metadata"])
    amount = price_amount(store, store.objects[item["price"]], item["quantity"])
    return amount, interval_changed


def _add_item(
    store: Store, sub: JSON, change: JSON, index: int, now: int, period: tuple[int, int]
) -> JSON:
    if not change.get("price"):
        raise invalid(
            f"Missing required param: items[{index}][price].",
            param=f"items[{index}][price]",
            code="parameter_missing",
        )
    price = recurring_price(store, change["price"], f"items[{index}][price]")
    quantity = as_int(change.get("quantity", 1), f"items[{index}][quantity]", 0)
    start, end = period
    item = billing_shapes.subscription_item(
        store.new_id("subscription_item"),
        now,
        sub["id"],
        price["id"],
        quantity,
        start,
        end,
    )
    store.save(item)
    sub["items"]["data"].append(item["id"])
    return item


def update_items(
    store: Store, sub: JSON, raw: Any, proration: str, now: int
) -> ItemChanges:
    """Apply `items[...]` to a subscription; returns prorations owed and what changed."""
    result = ItemChanges()
    start, end = current_period(store, sub)
    fraction = max(0, end - now) / max(1, end - start)
    current = {item["id"]: item for item in sub_items(store, sub)}
    # Copies: the items themselves change below.
    result.previous = [
        (dict(item), store.objects[item["price"]], item["quantity"])
        for item in current.values()
    ]
    for index, change in enumerate(as_list(raw, "items")):
        change = _checked_change(index, change)
        if change.get("id"):
            if as_string(change["id"], f"items[{index}][id]") not in current:
                raise invalid(
                    f"Subscription item {change['id']} does not belong to this subscription.",
                    param=f"items[{index}][id]",
                    code="resource_missing",
                )
            item = current[change["id"]]
            old_amount = price_amount(
                store, store.objects[item["price"]], item["quantity"]
            )
            new_amount, moved = _change_item(
                store, sub, item, change, index, only_one=len(current) == 1
            )
            result.interval_changed |= moved
            if item["id"] not in sub["items"]["data"]:
                del current[item["id"]]
        else:
            item = _add_item(store, sub, change, index, now, (start, end))
            current[item["id"]] = item
            old_amount = 0
            new_amount = price_amount(
                store, store.objects[item["price"]], item["quantity"]
            )
        net = round((new_amount - old_amount) * fraction)
        if net and proration != "none" and sub["status"] != "trialing":
            result.owed.append(
                [item["id"], net, PRORATION_TEXT, {"start": now, "end": end}]
            )
    return result


def restart_cycle(
    store: Store, sub: JSON, changes: ItemChanges, proration: str, now: int
) -> JSON:
    """Start a new billing period now and invoice it, crediting the old one's unused
    time (unless `proration` is none); returns the invoice."""
    start, end = current_period(store, sub)
    fraction = max(0, end - now) / max(1, end - start)
    lines: list[Line] = []
    if proration != "none":
        for item, price, quantity in changes.previous:
            credit = round(price_amount(store, price, quantity) * fraction)
            if credit:
                text = f"Unused time on {quantity} x {price_name(store, price)}"
                period = {"start": now, "end": end}
                lines.append((item, -credit, quantity, period, text, True))
    sub["billing_cycle_anchor"] = now
    for item in sub_items(store, sub):
        price = store.objects[item["price"]]
        item["current_period_start"] = now
        item["current_period_end"] = period_end(now, price, now)
        period = {"start": now, "end": item["current_period_end"]}
        amount = price_amount(store, price, item["quantity"])
        text = f"{item['quantity']} x {price_name(store, price)}"
        lines.append((item, amount, item["quantity"], period, text, False))
    lines += take_pending_prorations(store, sub)
    invoice = new_invoice(store, sub, "subscription_update", lines, now)
    if not collect(store, sub, invoice, now):
        sub["status"] = "past_due"
    return invoice


def _apply_trial_end(store: Store, sub: JSON, params: JSON, now: int) -> None:
    """A new trial end in the future (trial_end=now is handled after the update)."""
    if params.get("trial_end") in (None, "", "now"):
        return
    trial_end = as_timestamp(params["trial_end"], "trial_end")
    if trial_end <= now:
        raise invalid("Invalid timestamp: must be in the future.", param="trial_end")
    sub["status"] = "trialing"
    sub["trial_start"] = sub["trial_start"] or now
    sub["trial_end"] = trial_end
    for item in sub_items(store, sub):
        item["current_period_end"] = trial_end


def _apply_discounts(store: Store, sub: JSON, raw: Any, now: int) -> None:
    """`discounts=[...]` replaces the subscription's discounts (`""` removes them);
    a promotion code's minimum amount is met by one period of the current items."""
    period = sum(
        price_amount(store, store.objects[i["price"]], i["quantity"])
        for i in sub_items(store, sub)
    )
    specs = discount_specs(
        store,
        raw,
        "discounts",
        sub["customer"],
        (period, sub["currency"]),
        now,
        keep=tuple(sub["discounts"]),
    )
    set_subscription_discounts(store, sub, specs, now)


def update_subscription(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/subscriptions/{id}`."""
    check_params(params, SUBSCRIPTION_UPDATE_FIELDS)
    sub = store.fetch("subscription", id)
    now = store.now(sub["customer"])
    if sub["status"] in ENDED and set(params) - {"metadata", "cancellation_details"}:
        raise invalid(
            "A canceled subscription can only update its cancellation_details and metadata.",
        )
    proration = params.get("proration_behavior", "create_prorations")
    if proration not in PRORATION_BEHAVIORS:
        raise invalid(
            f"Invalid proration_behavior: {proration}", param="proration_behavior"
        )
    before = store.render(sub)
    if "discounts" in params:
        _apply_discounts(store, sub, params["discounts"], now)
    changes = ItemChanges()
    if "items" in params:
        changes = update_items(store, sub, params["items"], proration, now)
    if "metadata" in params:
        sub["metadata"] = merge_metadata(sub["metadata"], params["metadata"])
    if "description" in params:
        sub["description"] = params["description"] or None
    if "default_payment_method" in params:
        pm = params["default_payment_method"] or None
        if pm:
            store.fetch("payment_method", pm, "default_payment_method")
        sub["default_payment_method"] = pm
    apply_cancel_fields(store, sub, params, now)
    if "pause_collection" in params:
        sub["pause_collection"] = pause_collection_param(
            params["pause_collection"], now
        )
    if "trial_settings" in params:
        behavior = trial_end_behavior_param(params["trial_settings"])
        if behavior:
            sub["trial_settings"]["end_behavior"]["missing_payment_method"] = behavior
    _apply_trial_end(store, sub, params, now)
    if changes.interval_changed and sub["status"] != "trialing":
        restart_cycle(store, sub, changes, proration, now)
    elif changes.owed and proration == "always_invoice":
        lines: list[Line] = [
            (store.objects[i], a, store.objects[i]["quantity"], p, t, True)
            for i, a, t, p in changes.owed
            if a > 0
        ]
        invoice = new_invoice(store, sub, "subscription_update", lines, now)
        if not collect(store, sub, invoice, now):
            sub["status"] = "past_due"
    elif changes.owed:
        store.private(sub["id"]).setdefault("pending_prorations", []).extend(
            changes.owed
        )
    updated = diff(before, store.render(sub))
    if updated:
        emit(store, "customer.subscription.updated", sub, updated, created=now)
    warn_if_trial_ends_soon(store, sub, now)
    if params.get("trial_end") == "now" and sub["status"] == "trialing":
        # Stripe warns of a trial ended at once too, then bills (or applies the
        # trial's end behaviour) as at a scheduled trial end.
        sub["trial_end"] = now
        for item in sub_items(store, sub):
            item["current_period_end"] = now
        warn_trial_end(store, sub, now)
        renew(store, sub, now)
    return store.render(sub)
