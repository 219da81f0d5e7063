"""What happens as time passes: renewals, trial-end warnings, dunning retries,
expiry of unpaid first invoices and scheduled cancellations.

Time moves for a test clock's customers when the clock is advanced, and for the
other customers in real time (the HTTP door runs `run_due` every minute).
"""

from collections.abc import Iterable

from .events import emit
from .invoices import retry_invoice
from .lifecycle import ENDED, end_subscription, expire_incomplete
from .shapes import JSON
from .store import Store
from .subscriptions import current_period, renew

# Stripe gives up on an unpaid first invoice after 23 hours.
INCOMPLETE_EXPIRES_AFTER = 23 * 3600
TRIAL_WILL_END_BEFORE = 3 * 86400
# A bound against a runaway schedule.
MAX_STEPS = 10000

# (when, order among steps due at the same time, kind, object id)
Step = tuple[int, int, str, str]


def _due_steps(store: Store, customer_ids: Iterable[str], until: int) -> list[Step]:
    """Every scheduled transition at or before `until`, for these customers."""
    steps: list[Step] = []
    for customer_id in customer_ids:
        for sub in store.where("subscription", "customer", customer_id):
            if sub["status"] in ENDED:
                continue
            if sub["status"] == "incomplete":
                expires = sub["created"] + INCOMPLETE_EXPIRES_AFTER
                steps.append((expires, 3, "expire", sub["id"]))
                continue
            flags = store.private(sub["id"])
            if sub["status"] == "trialing" and not flags.get("trial_will_end_sent"):
                warn_at = sub["trial_end"] - TRIAL_WILL_END_BEFORE
                if warn_at > sub["trial_start"]:
                    steps.append((warn_at, 1, "trial_will_end", sub["id"]))
            _, period_end = current_period(store, sub)
            steps.append((period_end, 2, "renew", sub["id"]))
            if sub["cancel_at"] and sub["cancel_at"] < period_end:
                steps.append((sub["cancel_at"], 0, "cancel", sub["id"]))
        for invoice in store.where("invoice", "customer", customer_id):
            if invoice["status"] == "open" and invoice["next_payment_attempt"]:
                steps.append(
                    (invoice["next_payment_attempt"], 4, "retry", invoice["id"])
                )
    return sorted(step for step in steps if step[0] <= until)


def _apply_step(store: Store, kind: str, obj: JSON, when: int) -> None:
    if kind == "renew":
        renew(store, obj, when)
    elif kind == "retry":
        retry_invoice(store, obj, when)
    elif kind == "expire":
        expire_incomplete(store, obj, when)
    elif kind == "cancel":
        end_subscription(store, obj, when)
    elif kind == "trial_will_end":
        store.private(obj["id"])["trial_will_end_sent"] = True
        emit(store, "customer.subscription.trial_will_end", obj, created=when)


def run_steps(
    store: Store, customer_ids: set[str], target: int, clock: JSON | None = None
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
    ids = {c["id"] for c in store.where("customer", "test_clock", None)}
    return run_steps(store, ids, int(store.clock()))
