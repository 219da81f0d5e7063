"""The wallet: the customer's balance in Stripe, which the next invoices use first.

Money goes in by a paid top-up (`purchases.fulfil_purchase` calls
`credit_top_up`) or by an admin's credit; an admin's debit takes some out. Each is
one Stripe balance transaction (negative: a credit, as Stripe counts) made with an
idempotency key, then mirrored as a `CustomerBalanceTransaction` row. Stripe's own
entries (what an invoice used, a credit made in the dashboard) are mirrored when
`customer.updated` says the balance changed (`sync_balance_transactions`).

Whoever makes a row first sends its signal (`wallet_credited`, `wallet_debited`),
once: entries of invoices (`applied_to_invoice`, ...) send none.
"""

import logging
from dataclasses import dataclass

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from djstripe.models import Customer

from . import signals
from .models import CustomerBalanceTransaction
from .money import format_amount
from .stripe_client import api_key, stripe_options
from .subscribers import find_subscriber
from .transitions import timestamp_to_datetime

logger = logging.getLogger(__name__)

# Stripe's types of the entries someone made on purpose (the rest are invoices').
ADJUSTMENT_TYPES = ("adjustment", "initial")
DEFAULT_CURRENCY = "usd"


class WalletError(Exception):
    """A credit or debit was refused; the message says why."""


@dataclass(frozen=True)
class TopUpLimits:
    """The smallest and largest top-up, in the currency's smallest unit."""

    minimum: int
    maximum: int
    currency: str

    @classmethod
    def for_currency(cls, currency: str) -> "TopUpLimits":
        return cls(
            settings.SUBSCRIPTIONS_WALLET_TOP_UP_MIN,
            settings.SUBSCRIPTIONS_WALLET_TOP_UP_MAX,
            currency,
        )

    @property
    def label(self) -> str:
        low = format_amount(self.minimum, self.currency)
        return f"{low} to {format_amount(self.maximum, self.currency)}"


def wallet_currency(customer) -> str:
    """The currency of the customer's balance: Stripe's, once it has one."""
    if customer is None:
        return DEFAULT_CURRENCY
    return customer.stripe_data.get("currency") or DEFAULT_CURRENCY


def credit_top_up(customer_id: str, amount: int, currency: str, session_id: str):
    """Credit a paid top-up to the customer's balance in Stripe (once per session:
    its id is the idempotency key); Stripe's balance transaction."""
    return stripe.Customer.create_balance_transaction(
        customer_id,
        amount=-amount,
        currency=currency,
        description="Wallet top-up",
        metadata={"checkout_session": session_id},
        **stripe_options(idempotency_key=f"wallet-top-up-{session_id}"),
    )


def _signal_of(entry: CustomerBalanceTransaction):
    if entry.type not in ADJUSTMENT_TYPES or not entry.amount:
        return None
    return signals.wallet_credited if entry.amount < 0 else signals.wallet_debited


def record_balance_transaction(data, customer, subscriber=None):
    """The local row of a Stripe balance transaction, made (and signalled) once."""
    fields = {
        "customer": customer,
        "amount": data["amount"],
        "currency": data["currency"],
        "type": data.get("type") or "",
        "description": data.get("description") or "",
        "invoice_id": data.get("invoice") or "",
        "ending_balance": data.get("ending_balance") or 0,
        "created": timestamp_to_datetime(data["created"]),
    }
    try:
        with transaction.atomic():
            entry, created = CustomerBalanceTransaction.objects.get_or_create(
                stripe_id=data["id"], defaults=fields
            )
    except IntegrityError:
        return CustomerBalanceTransaction.objects.get(stripe_id=data["id"])
    signal = _signal_of(entry) if created else None
    if subscriber is None and signal is not None:
        subscriber = find_subscriber(None, customer.id)
    if signal is not None and subscriber is not None:
        signals.send_after_commit(
            signal,
            subscriber,
            None,
            amount=abs(entry.amount),
            currency=entry.currency,
            description=entry.description,
            balance_transaction=entry,
        )
    return entry


def _refresh_customer(customer_id: str) -> Customer:
    """dj-stripe's row of the customer, re-read so that it shows the new balance."""
    data = stripe.Customer.retrieve(customer_id, **stripe_options())
    return Customer.sync_from_stripe_data(data, api_key=api_key())


def adjust_wallet(
    subscriber, amount: int, reason: str, *, debit: bool = False, key: str
) -> CustomerBalanceTransaction:
    """Credit (or debit) the subscriber's wallet by `amount` (positive, in the
    smallest unit), with a reason; `key` makes a repeated request one change."""
    customer = subscriber.customer
    if customer is None:
        raise WalletError("There is no Stripe customer to credit: nothing was paid.")
    if amount <= 0:
        raise WalletError("The amount must be more than zero.")
    if not reason.strip():
        raise WalletError("Say why: the reason shows on the customer's balance.")
    currency = wallet_currency(customer)
    data = stripe.Customer.create_balance_transaction(
        customer.id,
        amount=amount if debit else -amount,
        currency=currency,
        description=reason.strip(),
        metadata={"source": "admin"},
        **stripe_options(idempotency_key=f"wallet-adjust-{customer.id}-{key}"),
    )
    customer = _refresh_customer(customer.id)
    return record_balance_transaction(data, customer, subscriber)


def sync_balance_transactions(customer_id: str) -> int:
    """Mirror the customer's newest Stripe balance transactions; how many were new."""
    customer = Customer.objects.filter(id=customer_id).first()
    if customer is None:
        return 0
    listing = stripe.Customer.list_balance_transactions(
        customer_id, limit=100, **stripe_options()
    )
    known = set(
        CustomerBalanceTransaction.objects.filter(
            stripe_id__in=[entry["id"] for entry in listing.data]
        ).values_list("stripe_id", flat=True)
    )
    new = [entry for entry in listing.data if entry["id"] not in known]
    # Oldest first, so that signals go out in the order the money moved.
    for entry in reversed(new):
        record_balance_transaction(entry, customer)
    return len(new)


@dataclass(frozen=True)
class Wallet:
    """The wallet as the subscription page shows it: `balance` is what the customer
    has to spend (Stripe's balance with the sign turned), and its newest entries."""

    balance: int
    currency: str
    transactions: list

    @property
    def balance_display(self) -> str:
        return format_amount(self.balance, self.currency)

    @property
    def owes(self) -> bool:
        return self.balance < 0


def get_wallet(subscriber, limit: int = 10) -> Wallet | None:
    """The subscriber's wallet from local rows (two queries), or None without a
    customer or any balance ever."""
    customer = subscriber.customer
    if customer is None:
        return None
    entries = list(
        CustomerBalanceTransaction.objects.filter(customer=customer).order_by(
            "-created", "-pk"
        )[:limit]
    )
    balance = customer.stripe_data.get("balance") or 0
    if not entries and not balance:
        return None
    return Wallet(-balance, wallet_currency(customer), entries)
