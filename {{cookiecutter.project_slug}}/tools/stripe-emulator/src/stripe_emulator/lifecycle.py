"""How a subscription ends: canceled (asked, failed payments, deleted customer) or
incomplete_expired (its first invoice went unpaid).

These transitions live apart because customers, invoices (dunning), subscriptions
and the scheduler all end subscriptions, and none of them should import the others.
"""

from .events import emit
from .shapes import JSON
from .store import Store

ENDED = ("canceled", "incomplete_expired")


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
    emit(store, "customer.subscription.deleted", sub, created=when)
