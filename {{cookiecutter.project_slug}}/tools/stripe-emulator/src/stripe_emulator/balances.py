"""The customer balance: a ledger of credits (negative amounts) and debits
(positive) that invoices use, and its API (`/v1/customers/{id}/balance_transactions`).

Every entry moves the customer's `balance` (`customer.updated`); setting `balance`
on a customer records the difference too (`initial` on create, `adjustment` on
update). A draft invoice shows the balance it would use (`starting_balance`,
`amount_due`); finalizing applies it: a credit lowers `amount_due` (to zero at most,
the rest stays on the balance), a debit raises it, a negative total (a large
proration credit) adds to the credit. An `applied_to_invoice` entry records the
change and the invoice's `ending_balance`; voiding an invoice that used the balance
gives it back (`unapplied_from_invoice`).
"""

import re
from typing import Any

from . import amounts, money_shapes
from .errors import invalid, missing
from .events import diff, emit
from .listing import list_response
from .params import (
    LIST_PARAMS,
    as_int,
    check_params,
    clone,
    created_filter,
    merge_metadata,
)
from .shapes import JSON
from .store import Store

CREATE_FIELDS = {"amount", "currency", "description", "metadata"}


def record(
    store: Store,
    customer: JSON,
    amount: int,
    currency: str,
    kind: str,
    when: int,
    invoice_id: str | None = None,
    announce: bool = True,
) -> JSON:
    """Add an entry to the customer's ledger and move the balance; returns it.

    Without `announce` the caller sends the `customer.updated` event itself.
    """
    before = clone(customer)
    customer["balance"] += amount
    # A customer without a currency takes that of its first balance entry.
    customer["currency"] = customer["currency"] or currency
    entry = money_shapes.balance_transaction(
        store.new_id("customer_balance_transaction"),
        when,
        customer["id"],
        amount,
        currency,
        customer["balance"],
        kind,
    )
    entry["invoice"] = invoice_id
    store.save(entry)
    if announce:
        emit(store, "customer.updated", customer, diff(before, customer), created=when)
    return entry


def set_balance(store: Store, customer: JSON, value: Any, kind: str) -> None:
    """`balance` given on a customer: record the difference as an entry."""
    target = as_int(value, "balance")
    if target != customer["balance"]:
        currency = customer["currency"] or "usd"
        when = store.now(customer["id"])
        amount = target - customer["balance"]
        record(store, customer, amount, currency, kind, when, announce=False)


def _currency(customer: JSON, value: Any) -> str:
    currency = str(value or "").lower()
    if not re.match(r"^[a-z]{3}$", currency):
        raise invalid(
            f"Invalid currency: {value}.",
            param="currency",
            code="parameter_invalid_string",
        )
    if customer["currency"] and customer["currency"] != currency:
        raise invalid(
            f"The customer's balance is in {customer['currency']}: a transaction in"
            f" {currency} cannot be added to it.",
            param="currency",
        )
    return currency


def create_balance_transaction(store: Store, params: JSON, id: str) -> JSON:
    """`POST /v1/customers/{id}/balance_transactions` (negative amount: a credit)."""
    check_params(params, CREATE_FIELDS, required=["amount", "currency"])
    customer = store.fetch("customer", id, "customer")
    amount = as_int(params["amount"], "amount")
    if amount == 0:
        raise invalid("The amount must not be zero.", param="amount")
    currency = _currency(customer, params["currency"])
    when = store.now(id)
    entry = record(store, customer, amount, currency, "adjustment", when)
    entry["description"] = params.get("description") or None
    entry["metadata"] = merge_metadata({}, params.get("metadata") or {})
    return store.render(entry)


def _entry(store: Store, customer_id: str, entry_id: str) -> JSON:
    store.fetch("customer", customer_id, "customer")
    entry = store.fetch("customer_balance_transaction", entry_id, "transaction")
    if entry["customer"] != customer_id:
        raise missing("customer balance transaction", entry_id, "transaction")
    return entry


def retrieve_balance_transaction(
    store: Store, params: JSON, id: str, transaction: str
) -> JSON:
    check_params(params, set())
    return store.render(_entry(store, id, transaction))


def update_balance_transaction(
    store: Store, params: JSON, id: str, transaction: str
) -> JSON:
    """`POST .../balance_transactions/{id}`: `description` and `metadata` only."""
    check_params(params, {"description", "metadata"})
    entry = _entry(store, id, transaction)
    if "description" in params:
        entry["description"] = params["description"] or None
    if "metadata" in params:
        entry["metadata"] = merge_metadata(entry["metadata"], params["metadata"])
    return store.render(entry)


def list_balance_transactions(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, LIST_PARAMS | {"created", "invoice"})
    store.fetch("customer", id, "customer")
    matches = created_filter(params.get("created"))
    found = [
        e
        for e in store.where("customer_balance_transaction", "customer", id)
        if matches(e["created"])
        and (not params.get("invoice") or e["invoice"] == params["invoice"])
    ]
    url = f"/v1/customers/{id}/balance_transactions"
    return list_response(store, url, found, params)


# -- invoices --------------------------------------------------------------------


def _usable_balance(store: Store, invoice: JSON) -> int:
    customer = store.objects[invoice["customer"]]
    if customer["currency"] not in (None, invoice["currency"]):
        return 0  # a balance in another currency does not meet this invoice
    return customer["balance"]


def preview(store: Store, invoice: JSON) -> None:
    """A draft's `starting_balance` and `amount_due` with the balance as it is now."""
    start = _usable_balance(store, invoice)
    due, _ = amounts.apply_balance(invoice["total"], start)
    invoice["starting_balance"] = start
    invoice["amount_due"] = invoice["amount_remaining"] = due


def apply_to_invoice(store: Store, invoice: JSON, when: int) -> None:
    """Finalization: use the balance and record what the invoice took or left."""
    preview(store, invoice)
    start = invoice["starting_balance"]
    _, ending = amounts.apply_balance(invoice["total"], start)
    invoice["ending_balance"] = ending
    change = ending - start
    if change:
        customer = store.objects[invoice["customer"]]
        record(
            store,
            customer,
            change,
            invoice["currency"],
            "applied_to_invoice",
            when,
            invoice["id"],
        )
        store.private(invoice["id"])["balance_applied"] = change


def give_back(store: Store, invoice: JSON, when: int) -> None:
    """A voided invoice returns the balance it used (or the credit it added)."""
    change = store.private(invoice["id"]).pop("balance_applied", 0)
    if change:
        customer = store.find(invoice["customer"])
        if customer is not None:
            record(
                store,
                customer,
                -change,
                invoice["currency"],
                "unapplied_from_invoice",
                when,
                invoice["id"],
            )
