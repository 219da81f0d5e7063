"""How a subscription's status moves outside its invoices: canceled (asked, failed
payments, deleted customer, a trial that ended without a card), incomplete_expired
(its first invoice went unpaid), paused (a trial that ended without a card), and
the warning Stripe sends before a trial ends.

These transitions live apart because customers, invoices (dunning), subscriptions
and the scheduler all use them, and none of them should import the others.
"""

from . import balances
from .events import diff, emit
from .shapes import JSON
from .store import Store

ENDED = ("canceled", "incomplete_expired")
TRIAL_WILL_END_BEFORE = 3 * 86400
TRIAL_END_BEHAVIORS = ("cancel", "create_invoice", "pause")


def end_subscription(
    store: Store, sub: JSON, when: int, reason: str = "cancellation_requested"
) -> None:
    """Cancel now: status canceled, its open invoices stop retrying."""
    if sub["status"] in ENDED:
        return
    sub["status"] = "canceled"
    sub["ended_at"] = when
    sub["canceled_at"] = sub["canceled_at"] or when
    sub["cancellation_details"]["reason"] = reason
    for invoice in store.where("invoice", "subscription", sub["id"]):
        if invoice["status"] == "open":
            invoice["next_payment_attempt"] = None
    emit(store, "customer.subscription.deleted", sub, created=when)


def expire_incomplete(store: Store, sub: JSON, when: int) -> None:
    """The first invoice was not paid in time: void it and end the subscription."""
    sub["status"] = "incomplete_expired"
    sub["ended_at"] = when
    for invoice in store.oldest_first(
        store.where("invoice", "subscription", sub["id"])
    ):
        if invoice["status"] == "open":
            invoice["status"] = "void"
            invoice["status_transitions"]["voided_at"] = when
            invoice["next_payment_attempt"] = None
            emit(store, "invoice.voided", invoice, created=when)
            balances.give_back(store, invoice, when)
    emit(store, "customer.subscription.deleted", sub, created=when)


# -- trials ------------------------------------------------------------------------


def trial_warning_at(sub: JSON) -> int:
    """When `customer.subscription.trial_will_end` is due: three days before the
    trial ends, or as the trial starts when it is shorter than that (as Stripe)."""
    return max(sub["trial_start"] or 0, sub["trial_end"] - TRIAL_WILL_END_BEFORE)


def trial_warning_due(store: Store, sub: JSON) -> bool:
    """Whether the current trial end has not been warned of yet."""
    return (
        sub["status"] == "trialing"
        and bool(sub["trial_end"])
        and store.private(sub["id"]).get("trial_will_end_for") != sub["trial_end"]
    )


def warn_trial_end(store: Store, sub: JSON, when: int) -> None:
    """Send `customer.subscription.trial_will_end`, once for each trial end."""
    if trial_warning_due(store, sub):
        store.private(sub["id"])["trial_will_end_for"] = sub["trial_end"]
        emit(store, "customer.subscription.trial_will_end", sub, created=when)


def warn_if_trial_ends_soon(store: Store, sub: JSON, now: int) -> None:
    """A trial that starts (or moves) within three days of its end is warned of now."""
    if trial_warning_due(store, sub) and trial_warning_at(sub) <= now:
        warn_trial_end(store, sub, now)


def end_trial_without_payment_method(store: Store, sub: JSON, when: int) -> bool:
    """A trial ends and no card is on file: apply `trial_settings.end_behavior`.

    `cancel` ends the subscription, `pause` makes it `paused` (no invoices until it
    is resumed); returns False for `create_invoice`, which bills as usual (the charge
    fails and dunning starts).
    """
    behavior = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
    if behavior == "cancel":
        end_subscription(store, sub, when)
        return True
    if behavior != "pause":
        return False
    before = store.render(sub)
    sub["status"] = "paused"
    emit(store, "customer.subscription.paused", sub, created=when)
    emit(
        store,
        "customer.subscription.updated",
        sub,
        diff(before, store.render(sub)),
        created=when,
    )
    return True
