"""What happens as time passes: renewals and trial ends, trial-end warnings, dunning
retries, expiry of unpaid first and resumption invoices, scheduled cancellations,
the end of a `pause_collection`, the end of repeating discounts and the expiry of
open Checkout Sessions.

Time moves for a test clock's customers when the clock is advanced, and for the
other customers in real time (the HTTP door runs `run_due` every minute).
"""

from collections.abc import Iterable

from .checkout import expire_session
from .discounts import run_out, subscription_discount_steps
from .invoices import retry_invoice
from .lifecycle import (
    ENDED,
    end_subscription,
    expire_incomplete,
    trial_warning_at,
    trial_warning_due,
    warn_trial_end,
)
from .pauses import (
    expire_resumption,
    resume_collection,
    resumption_expires_at,
)
from .shapes import JSON
from .store import Store
from .subscriptions import current_period, renew

# Stripe gives up on an unpaid first invoice after 23 hours.
INCOMPLETE_EXPIRES_AFTER = 23 * 3600
# A bound against a runaway schedule.
MAX_STEPS = 10000

# (when, order among steps due at the same time, kind, object id)
Step = tuple[int, int, str, str]


def _subscription_steps(store: Store, sub: JSON) -> list[Step]:
    """The transitions a live subscription has coming."""
    if sub["status"] == "incomplete":
        return [(sub["created"] + INCOMPLETE_EXPIRES_AFTER, 3, "expire", sub["id"])]
    steps: list[Step] = []
    if trial_warning_due(store, sub):
        steps.append((trial_warning_at(sub), 1, "trial_will_end", sub["id"]))
    _, period_end = current_period(store, sub)
    if sub["status"] != "paused":
        # A paused subscription makes no invoices until it is resumed.
        steps.append((period_end, 2, "renew", sub["id"]))
    if sub["cancel_at"] and (
        sub["cancel_at"] < period_end or sub["status"] == "paused"
    ):
        steps.append((sub["cancel_at"], 0, "cancel", sub["id"]))
    paused = sub["pause_collection"]
    if paused and paused["resumes_at"]:
        steps.append((paused["resumes_at"], 0, "resume_collection", sub["id"]))
    # A discount that ends as a period does is gone before that renewal bills.
    for end, discount_id in subscription_discount_steps(store, sub):
        steps.append((end, 0, "end_discount", discount_id))
    return steps


def _due_steps(
    store: Store, customer_ids: Iterable[str | None], until: int
) -> list[Step]:
    """Every scheduled transition at or before `until`, for these customers."""
    steps: list[Step] = []
    for customer_id in customer_ids:
        for sub in store.where("subscription", "customer", customer_id):
            if sub["status"] not in ENDED:
                steps += _subscription_steps(store, sub)
        for invoice in store.where("invoice", "customer", customer_id):
            if invoice["status"] != "open":
                continue
            if invoice["next_payment_attempt"]:
                steps.append(
                    (invoice["next_payment_attempt"], 4, "retry", invoice["id"])
                )
            if store.private(invoice["id"]).get("resumes_subscription"):
                expires = resumption_expires_at(invoice)
                steps.append((expires, 3, "expire_resumption", invoice["id"]))
        for session in store.where("checkout.session", "customer", customer_id):
            if session["status"] == "open":
                steps.append(
                    (session["expires_at"], 5, "expire_checkout", session["id"])
                )
    return sorted(step for step in steps if step[0] <= until)


def _apply_step(store: Store, kind: str, obj: JSON, when: int) -> None:
    if kind == "renew":
        renew(store, obj, when)
    elif kind == "retry":
        retry_invoice(store, obj, when)
    elif kind == "expire":
        expire_incomplete(store, obj, when)
    elif kind == "expire_resumption":
        expire_resumption(store, obj, when)
    elif kind == "cancel":
        end_subscription(store, obj, when)
    elif kind == "resume_collection":
        resume_collection(store, obj, when)
    elif kind == "trial_will_end":
        warn_trial_end(store, obj, when)
    elif kind == "end_discount":
        run_out(store, obj, when)
    elif kind == "expire_checkout":
        expire_session(store, obj, when)


def run_steps(
    store: Store,
    customer_ids: set[str | None],
    target: int,
    clock: JSON | None = None,
) -> int:
    """Apply, in time order, every transition due by `target`; returns how many.

    With a test clock, its frozen time follows each step, so events and invoices
    carry the time they happened at.
    """
    done = 0
    while done < MAX_STEPS:
        steps = _due_steps(store, customer_ids, target)
        if not steps:
            break
        done += 1
        when, _, kind, object_id = steps[0]
        if clock is not None:
            clock["frozen_time"] = max(clock["frozen_time"], when)
        _apply_step(store, kind, store.objects[object_id], when)
    if clock is not None:
        clock["frozen_time"] = target
    return done


def run_due(store: Store) -> int:
    """Run what is due in real time for customers without a test clock."""
    ids: set[str | None] = {
        c["id"] for c in store.where("customer", "test_clock", None)
    }
    # Checkout Sessions without a customer yet expire in real time too.
    ids.add(None)
    return run_steps(store, ids, int(store.clock()))
