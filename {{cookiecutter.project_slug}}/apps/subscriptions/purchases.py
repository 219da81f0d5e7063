"""One-off purchases: Checkout in payment mode, and fulfilment once it is paid.

`start_purchase` opens a Checkout session for a one-time price of a product in
`ACTIVE_PRODUCTS` of kind `one_time` or `top_up`. Checkout's return page and the
`checkout.session.completed` webhook both call `fulfil_purchase`; the session is
re-read from Stripe, and the `Purchase` row (unique per session) is made by
whichever of them commits first: that one sends the signals, the other finds the
row and sends nothing. A top-up first credits the customer's balance in Stripe with
an idempotency key of the session, so two callers at once make one credit.
"""

import logging
from dataclasses import dataclass
from enum import StrEnum

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from djstripe.models import Customer, Price

from . import signals
from .checkout import CheckoutSessionNotFound, get_or_create_customer
from .metadata import ProductKind, get_one_off_metadata, get_one_off_products
from .models import Purchase
from .money import format_amount
from .stripe_client import stripe_options
from .stripe_data import stripe_id
from .subscribers import subscriber_from_reference, subscriber_reference
from .transitions import _process_lock, timestamp_to_datetime
from .wallet import TopUpLimits, credit_top_up, record_balance_transaction

logger = logging.getLogger(__name__)


class InvalidPurchase(Exception):
    """The price is not for sale once, or the amount or quantity is out of bounds;
    the message says why, for the customer."""


class PurchaseOutcome(StrEnum):
    FULFILLED = "fulfilled"
    ALREADY_FULFILLED = "already_fulfilled"
    NOT_PAID = "not_paid"


@dataclass
class PurchaseResult:
    outcome: PurchaseOutcome
    subscriber: object
    purchase: Purchase | None = None


@dataclass(frozen=True)
class OneOffOffer:
    """A product bought once, as the pricing page shows it."""

    product: object  # ProductMetadata
    price_id: str
    amount: str  # "$25.00", or "$1.00" the unit of a top-up
    unit_amount: int
    currency: str
    is_top_up: bool
    limits: TopUpLimits | None = None

    @property
    def max_quantity(self) -> int:
        return settings.SUBSCRIPTIONS_ONE_OFF_MAX_QUANTITY


def one_off_prices():
    """Active one-time prices of the `one_time` and `top_up` products, one query."""
    ids = [product.stripe_id for product in get_one_off_products()]
    return (
        Price.objects.filter(active=True, product__id__in=ids)
        .select_related("product")
        .order_by("-created", "-djstripe_id")
    )


def _is_one_time(price) -> bool:
    return price.stripe_data.get("type") == "one_time"


def get_one_off_offers() -> list[OneOffOffer]:
    """The products bought once, in `ACTIVE_PRODUCTS` order, each with its newest
    active one-time price (local rows only)."""
    newest = {}
    for price in one_off_prices():
        if _is_one_time(price) and price.stripe_data.get("unit_amount"):
            newest.setdefault(price.product_id, price)
    offers = []
    for product in get_one_off_products():
        price = newest.get(product.stripe_id)
        if price is None:
            continue
        top_up = product.kind == ProductKind.top_up
        unit = price.stripe_data["unit_amount"]
        offers.append(
            OneOffOffer(
                product=product,
                price_id=price.id,
                amount=format_amount(unit, price.currency),
                unit_amount=unit,
                currency=price.currency,
                is_top_up=top_up,
                limits=TopUpLimits.for_currency(price.currency) if top_up else None,
            )
        )
    return offers


def get_one_off_price(price_id) -> Price | None:
    """The active one-time price of a one-off product with this id, or None."""
    if not price_id or not isinstance(price_id, str):
        return None
    price = one_off_prices().filter(id=price_id).first()
    if price is None or not _is_one_time(price):
        return None
    if not price.stripe_data.get("unit_amount"):
        return None
    return price


def purchase_quantity(price, amount: int | None, quantity: int = 1) -> int:
    """How many units of `price` to buy: `quantity` of a one-off product; for a
    top-up, `amount` (in the smallest unit) over the price's unit, within the
    wallet's limits. Raises `InvalidPurchase`."""
    product = get_one_off_metadata(price.product_id)
    unit = price.stripe_data["unit_amount"]
    if product.kind != ProductKind.top_up:
        if not 1 <= quantity <= settings.SUBSCRIPTIONS_ONE_OFF_MAX_QUANTITY:
            raise InvalidPurchase(
                "Choose a quantity from 1 to "
                f"{settings.SUBSCRIPTIONS_ONE_OFF_MAX_QUANTITY}."
            )
        return quantity
    limits = TopUpLimits.for_currency(price.currency)
    if amount is None or not limits.minimum <= amount <= limits.maximum:
        raise InvalidPurchase(f"Choose an amount from {limits.label}.")
    if amount % unit:
        raise InvalidPurchase(
            f"Choose a multiple of {format_amount(unit, price.currency)}."
        )
    return amount // unit


def start_purchase(
    subscriber,
    price_id,
    *,
    email: str,
    success_url: str,
    cancel_url: str,
    amount: int | None = None,
    quantity: int = 1,
) -> str:
    """The URL of a Checkout session (payment mode) for a one-off price.

    `success_url` must contain `{CHECKOUT_SESSION_ID}`. Raises `InvalidPurchase`
    for a price not sold once, or a quantity or top-up amount out of bounds.
    """
    price = get_one_off_price(price_id)
    if price is None:
        raise InvalidPurchase("That product is not for sale here.")
    count = purchase_quantity(price, amount, quantity)
    product = get_one_off_metadata(price.product_id)
    customer = get_or_create_customer(subscriber, email)
    reference = subscriber_reference(subscriber)
    metadata = {"subscriber": reference, "purchase_kind": str(product.kind)}
    session = stripe.checkout.Session.create(
        mode="payment",
        customer=customer.id,
        client_reference_id=reference,
        line_items=[{"price": price.id, "quantity": count}],
        metadata=metadata,
        payment_intent_data={"metadata": metadata, "description": product.name},
        success_url=success_url,
        cancel_url=cancel_url,
        **stripe_options(),
    )
    return session.url


def session_is_paid(session) -> bool:
    return (
        session.get("mode") == "payment"
        and session.get("status") == "complete"
        and session.get("payment_status") == "paid"
    )


def _retrieve_session(session_id):
    if not isinstance(session_id, str) or not session_id.startswith("cs_"):
        raise CheckoutSessionNotFound(session_id)
    try:
        return stripe.checkout.Session.retrieve(
            session_id,
            expand=["line_items", "payment_intent.latest_charge"],
            **stripe_options(),
        )
    except stripe.InvalidRequestError as error:
        raise CheckoutSessionNotFound(session_id) from error


def _purchase_fields(session) -> dict:
    """The `Purchase` columns of a paid session (expanded as `_retrieve_session`)."""
    [item] = session["line_items"]["data"][:1] or [None]
    price = (item or {}).get("price") or {}
    intent = session.get("payment_intent") or {}
    charge = intent.get("latest_charge") if hasattr(intent, "get") else None
    charge = charge if hasattr(charge, "get") else {}
    totals = session.get("total_details") or {}
    product_id = stripe_id(price.get("product")) or ""
    product = get_one_off_metadata(product_id)
    kind = (session.get("metadata") or {}).get("purchase_kind")
    if product is not None:
        kind = product.kind
    return {
        "kind": Purchase.Kind.TOP_UP if kind == "top_up" else Purchase.Kind.ONE_TIME,
        "product_id": product_id,
        "price_id": stripe_id(price) or "",
        "quantity": (item or {}).get("quantity") or 1,
        "description": (product.name if product else "")
        or (item or {}).get("description")
        or "",
        "amount": session.get("amount_total") or 0,
        "amount_subtotal": session.get("amount_subtotal") or 0,
        "amount_discount": totals.get("amount_discount") or 0,
        "currency": session.get("currency") or "",
        "payment_intent_id": stripe_id(intent) or "",
        "charge_id": stripe_id(charge) or "",
        "receipt_url": charge.get("receipt_url") or "",
        "created": timestamp_to_datetime(charge.get("created") or session["created"]),
    }


def subscriber_from_session(session):
    reference = session.get("client_reference_id") or (
        session.get("metadata") or {}
    ).get("subscriber")
    return subscriber_from_reference(reference)


def fulfil_purchase(session_id, subscriber=None) -> PurchaseResult:
    """Record a paid one-off Checkout session and send its signals, once.

    Raises `CheckoutSessionNotFound` when the session does not exist, is not a
    payment-mode session or, with `subscriber`, belongs to someone else. A session
    not paid (declined, abandoned, expired) fulfils nothing.
    """
    session = _retrieve_session(session_id)
    owner = subscriber_from_session(session)
    if (
        session.get("mode") != "payment"
        or owner is None
        or (subscriber is not None and owner.pk != subscriber.pk)
    ):
        raise CheckoutSessionNotFound(session_id)
    # Read under the same lock as the write below (see `_process_lock`), and before
    # a top-up's credit: Stripe forgets idempotency keys after a day, a webhook
    # redelivered later must find the purchase made.
    with _process_lock(owner):
        existing = Purchase.objects.filter(checkout_session_id=session_id).first()
    if existing is not None:
        return PurchaseResult(PurchaseOutcome.ALREADY_FULFILLED, owner, existing)
    if not session_is_paid(session):
        return PurchaseResult(PurchaseOutcome.NOT_PAID, owner)
    fields = _purchase_fields(session)
    customer_id = stripe_id(session.get("customer"))
    balance_data = None
    if fields["kind"] == Purchase.Kind.TOP_UP:
        # Before any row is locked: idempotent by the session, so a second caller
        # gets the same balance transaction back, not a second credit.
        balance_data = credit_top_up(
            customer_id, fields["amount"], fields["currency"], session_id
        )
    # On SQLite, whose in-memory test database fails rather than waits on a busy
    # table, the two callers take turns; elsewhere the unique session decides.
    with _process_lock(owner):
        return _record(owner, session_id, customer_id, fields, balance_data)


def _record(owner, session_id, customer_id, fields, balance_data) -> PurchaseResult:
    customer = Customer.objects.filter(id=customer_id).first()
    if customer is None:
        customer = owner.customer
    try:
        with transaction.atomic():
            purchase = Purchase.objects.create(
                checkout_session_id=session_id, customer=customer, **fields
            )
            money = {
                "purchase": purchase,
                "amount": purchase.amount,
                "currency": purchase.currency,
            }
            signals.send_after_commit(signals.purchase_completed, owner, None, **money)
            signals.send_after_commit(
                signals.payment_succeeded, owner, None, invoice=None, **money
            )
            if balance_data is not None:
                entry = record_balance_transaction(balance_data, customer, owner)
                signals.send_after_commit(
                    signals.topup_completed,
                    owner,
                    None,
                    balance_transaction=entry,
                    **money,
                )
    except IntegrityError:
        # The other caller committed the same session first.
        purchase = Purchase.objects.get(checkout_session_id=session_id)
        return PurchaseResult(PurchaseOutcome.ALREADY_FULFILLED, owner, purchase)
    return PurchaseResult(PurchaseOutcome.FULFILLED, owner, purchase)
