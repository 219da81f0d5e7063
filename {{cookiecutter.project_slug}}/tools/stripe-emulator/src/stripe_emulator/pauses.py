"""Pausing: `pause_collection` (the subscription stays active, its renewal invoices
are not charged) and resuming a `paused` subscription (one whose trial ended
without a card, with `trial_settings.end_behavior.missing_payment_method=pause`).

While `pause_collection` is set, renewals draft their invoice and keep it as a
draft, mark it uncollectible or void it (its `behavior`); clearing it
(`pause_collection=""`) or reaching `resumes_at` resumes collection, each with
`customer.subscription.updated`. Invoices from before the pause keep their retries.

`POST /v1/subscriptions/{id}/resume` restarts a paused subscription: with
`billing_cycle_anchor=now` (the default) a new period starts and is invoiced at
once; with `unchanged` the period that surrounds now resumes, its remaining part
invoiced at once with `proration_behavior=always_invoice`, on the next renewal with
`create_prorations` (the default), or not at all with `none`. Without an invoice
the subscription is active at once; with one, it is active once that invoice is paid
(or marked uncollectible): a declined charge leaves it paused with the invoice open,
and the invoice is voided if still unpaid 23 hours later, as Stripe does.
"""

from typing import Any

from .catalog import price_amount, price_name
from .errors import invalid
from .events import diff, emit
from .invoices import Line, collect, new_invoice, void_invoice
from .params import as_timestamp, check_nested, check_params
from .shapes import JSON
from .store import Store
from .subscriptions import period_end, sub_items

PAUSE_BEHAVIORS = ("keep_as_draft", "mark_uncollectible", "void")
RESUME_FIELDS = {"billing_cycle_anchor", "proration_behavior", "proration_date"}
# Stripe voids an unpaid resumption invoice after 23 hours.
RESUMPTION_EXPIRES_AFTER = 23 * 3600


def pause_collection_param(raw: Any, now: int) -> JSON | None:
    """`pause_collection[behavior]`, `[resumes_at]`, or "" to clear: the new value."""
    if raw in ("", None):
        return None
    fields = check_nested(raw, {"behavior", "resumes_at"}, "pause_collection")
    behavior = fields.get("behavior")
    if behavior not in PAUSE_BEHAVIORS:
        raise invalid(
            f"Invalid behavior: must be one of {', '.join(PAUSE_BEHAVIORS)}.",
            param="pause_collection[behavior]",
            code="parameter_invalid_string",
        )
    resumes_at = None
    if fields.get("resumes_at") not in (None, ""):
        resumes_at = as_timestamp(fields["resumes_at"], "pause_collection[resumes_at]")
        if resumes_at <= now:
            raise invalid(
                "Invalid timestamp: must be an integer Unix timestamp in the future.",
                param="pause_collection[resumes_at]",
            )
    return {"behavior": behavior, "resumes_at": resumes_at}


def resume_collection(store: Store, sub: JSON, when: int) -> None:
    """`pause_collection[resumes_at]` has come: collect payments again."""
    before = store.render(sub)
    sub["pause_collection"] = None
    emit(
        store,
        "customer.subscription.updated",
        sub,
        diff(before, store.render(sub)),
        created=when,
    )


def expire_resumption(store: Store, invoice: JSON, when: int) -> None:
    """A resumption invoice still unpaid after 23 hours is voided; the subscription
    stays paused."""
    void_invoice(store, {}, invoice["id"])


def resumption_expires_at(invoice: JSON) -> int:
    """When an unpaid resumption invoice is voided."""
    return invoice["created"] + RESUMPTION_EXPIRES_AFTER


def _resume_lines(
    store: Store, sub: JSON, anchor: str, proration: str, now: int
) -> list[Line]:
    """Move the items to the resumed period; the lines to invoice now (maybe none).

    With the cycle unchanged, the rest of the current period is owed as a proration:
    invoiced now with `always_invoice`, on the next renewal with `create_prorations`.
    """
    lines: list[Line] = []
    if anchor == "now":
        sub["billing_cycle_anchor"] = now
    for item in sub_items(store, sub):
        price = store.objects[item["price"]]
        if anchor == "now":
            start, end = now, period_end(now, price, now)
        else:
            start, end = item["current_period_start"], item["current_period_end"]
            while end <= now:
                start, end = end, period_end(end, price, sub["billing_cycle_anchor"])
        item["current_period_start"], item["current_period_end"] = start, end
        amount = price_amount(store, price, item["quantity"])
        quantity = item["quantity"]
        text = f"{quantity} x {price_name(store, price)}"
        if anchor == "now":
            period = {"start": start, "end": end}
            lines.append((item, amount, quantity, period, text, False))
            continue
        rest = round(amount * (end - now) / max(1, end - start))
        period, text = {"start": now, "end": end}, f"Remaining time on {text}"
        if proration == "always_invoice":
            lines.append((item, rest, quantity, period, text, True))
        elif proration == "create_prorations" and rest:
            owed = store.private(sub["id"]).setdefault("pending_prorations", [])
            owed.append([item["id"], rest, text, period])
    return lines


def resume_subscription(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/subscriptions/{id}/resume`."""
    check_params(params, RESUME_FIELDS)
    sub = store.fetch("subscription", id)
    if sub["status"] != "paused":
        raise invalid(
            f"The subscription {id} is not paused: only paused subscriptions can be"
            " resumed.",
            code="subscription_not_paused",
        )
    anchor = params.get("billing_cycle_anchor") or "now"
    if anchor not in ("now", "unchanged"):
        raise invalid(
            "Invalid billing_cycle_anchor: must be one of now, unchanged.",
            param="billing_cycle_anchor",
            code="parameter_invalid_string",
        )
    proration = params.get("proration_behavior") or "create_prorations"
    if proration not in ("always_invoice", "create_prorations", "none"):
        raise invalid(
            "Invalid proration_behavior: must be one of always_invoice,"
            " create_prorations, none.",
            param="proration_behavior",
            code="parameter_invalid_string",
        )
    pending = store.find(sub["latest_invoice"])
    if pending and pending["status"] == "open":
        raise invalid(
            f"The subscription {id} is waiting for its resumption invoice"
            f" {pending['id']} to be paid.",
            code="subscription_not_paused",
        )
    # proration_date is accepted but not applied: prorations use the current time.
    now = store.now(sub["customer"])
    before = store.render(sub)
    lines = _resume_lines(store, sub, anchor, proration, now)
    if not lines:
        sub["status"] = "active"
        emit(store, "customer.subscription.resumed", sub, created=now)
        emit(
            store,
            "customer.subscription.updated",
            sub,
            diff(before, store.render(sub)),
            created=now,
        )
        return store.render(sub)
    invoice = new_invoice(store, sub, "subscription_update", lines, now)
    store.private(invoice["id"])["resumes_subscription"] = True
    if collect(store, sub, invoice, now, retries=False):
        sub["status"] = "active"
        emit(store, "customer.subscription.resumed", sub, created=now)
    # Declined: still paused, with the new period and an open invoice to pay.
    emit(
        store,
        "customer.subscription.updated",
        sub,
        diff(before, store.render(sub)),
        created=now,
    )
    return store.render(sub)
