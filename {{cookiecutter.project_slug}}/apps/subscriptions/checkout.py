"""Stripe Checkout: starting a subscription and completing it on return."""

import hashlib
import logging
import uuid
from dataclasses import dataclass
from enum import StrEnum

import stripe
from django.conf import settings
from django.db import OperationalError, connection, transaction
from djstripe.models import Customer, Price, Product
from djstripe.settings import djstripe_settings

from .linking import link_subscription
from .metadata import get_product_metadata
from .portal import create_portal_session
from .selectors import billed_quantity, get_checkout_price, trial_available
from .stripe_client import api_key, stripe_options
from .stripe_data import is_current_status, stripe_id
from .subscribers import (
    subscriber_display_name,
    subscriber_from_reference,
    subscriber_reference,
)

logger = logging.getLogger(__name__)

PAID_STATUSES = ("paid", "no_payment_required")


class InvalidPrice(Exception):
    """The price is not an active price of a product in `ACTIVE_PRODUCTS`."""


class SubscriptionPaused(Exception):
    """The subscriber's subscription is paused: it is resumed, not bought again."""


class CheckoutSessionNotFound(Exception):
    """No Checkout session with that id belongs to this subscriber."""


@dataclass
class CheckoutRedirect:
    url: str
    to_portal: bool = False


class CheckoutOutcome(StrEnum):
    PROVISIONED = "provisioned"
    ALREADY_PROVISIONED = "already_provisioned"
    NOT_PAID = "not_paid"


@dataclass
class CheckoutResult:
    outcome: CheckoutOutcome
    subscriber: object
    subscription: object = None


def get_or_create_customer(subscriber, email: str = "") -> Customer:
    """The subscriber's dj-stripe Customer, created in Stripe the first time."""
    if subscriber.customer_id is not None:
        return subscriber.customer
    livemode = djstripe_settings.STRIPE_LIVE_MODE
    customer = Customer.objects.filter(subscriber=subscriber, livemode=livemode).first()
    if customer is None:
        reference = subscriber_reference(subscriber)
        # A double click creates one Stripe customer, not two.
        key = hashlib.sha256(f"{reference}:{email}:{livemode}".encode()).hexdigest()
        data = stripe.Customer.create(
            email=email or getattr(subscriber, "email", "") or None,
            name=subscriber_display_name(subscriber) or None,
            metadata={
                djstripe_settings.SUBSCRIBER_CUSTOMER_KEY: str(subscriber.pk),
                "subscriber": reference,
            },
            **stripe_options(idempotency_key=f"customer-{key}"),
        )
        customer = Customer.sync_from_stripe_data(data, api_key=api_key())
        if customer.subscriber_id != subscriber.pk:
            customer.subscriber = subscriber
            customer.save(update_fields=["subscriber"])
    subscriber.customer = customer
    subscriber.save(update_fields=["customer"])
    return customer


def _customer_subscriptions(customer: Customer) -> list:
    """The customer's subscriptions in Stripe, ended ones too (the newest ten)."""
    listing = stripe.Subscription.list(
        customer=customer.id, status="all", limit=10, **stripe_options()
    )
    return list(listing.data)


def trial_params(price, *, had_subscription: bool) -> dict:
    """Checkout's parameters for the free trial of `price`'s plan, or {} for none.

    A subscriber gets one trial: none once it ever had a subscription.
    `SUBSCRIPTIONS_TRIAL_REQUIRES_CARD` decides whether Checkout asks for a card
    up front; without one, `SUBSCRIPTIONS_TRIAL_END_BEHAVIOR` says what Stripe
    does when the trial ends with no card (cancel, pause, or invoice anyway).
    """
    product = get_product_metadata(price.product_id)
    days = product.trial_period_days if product is not None else 0
    if had_subscription or days <= 0:
        return {}
    requires_card = settings.SUBSCRIPTIONS_TRIAL_REQUIRES_CARD
    return {
        "payment_method_collection": "always" if requires_card else "if_required",
        "subscription_data": {
            "trial_period_days": days,
            "trial_settings": {
                "end_behavior": {
                    "missing_payment_method": settings.SUBSCRIPTIONS_TRIAL_END_BEHAVIOR
                }
            },
        },
    }


def expire_open_sessions(customer: Customer) -> int:
    """Expire the customer's open subscription Checkout sessions; how many.

    Before a new session is opened, so that two tabs cannot both be paid: one
    subscription per subscriber. A session paid meanwhile cannot be expired; its
    subscription is found, or settled as a duplicate when it is linked.
    """
    listing = stripe.checkout.Session.list(
        customer=customer.id, status="open", limit=100, **stripe_options()
    )
    expired = 0
    for session in listing.auto_paging_iter():
        if session.get("mode") != "subscription":
            continue
        try:
            stripe.checkout.Session.expire(
                session.id,
                **stripe_options(idempotency_key=f"expire-{session.id}"),
            )
        except stripe.InvalidRequestError:
            logger.info("Checkout session %s was no longer open", session.id)
            continue
        expired += 1
    return expired


def on_sale_in_stripe(price) -> bool:
    """Whether Stripe still sells the price: it and its product are active.

    Re-read, since the local rows wait for webhooks; a price or product archived
    in Stripe is synced here, so the pages stop listing it too.
    """
    data = stripe.Price.retrieve(price.id, expand=["product"], **stripe_options())
    product = data.get("product")
    if data.get("active") and product.get("active"):
        return True
    Product.sync_from_stripe_data(product, api_key=api_key())
    Price.sync_from_stripe_data(data, api_key=api_key())
    return False


def _to_current_subscription(subscriber, return_url: str) -> CheckoutRedirect:
    """The portal, to change the subscription the subscriber has, unless it is
    paused: Stripe's portal cannot resume that one, the subscription page can."""
    subscription = subscriber.subscription
    if subscription is not None and subscription.stripe_data.get("status") == "paused":
        raise SubscriptionPaused(subscription.id)
    return CheckoutRedirect(create_portal_session(subscriber, return_url), True)


def start_checkout(
    subscriber,
    price_id,
    *,
    email: str,
    success_url: str,
    cancel_url: str,
    return_url: str,
) -> CheckoutRedirect:
    """Where to send a subscriber who asked for this price: Checkout, or the portal.

    `success_url` must contain `{CHECKOUT_SESSION_ID}`. A subscriber who already
    pays (or owes) is sent to the portal: never a second subscription. One whose
    subscription is paused gets `SubscriptionPaused`: it is resumed instead. The
    plan's free trial comes only with the subscriber's first subscription.
    """
    price = get_checkout_price(price_id)
    if price is None:
        raise InvalidPrice(price_id)
    if subscriber.has_current_subscription():
        return _to_current_subscription(subscriber, return_url)
    if not on_sale_in_stripe(price):
        raise InvalidPrice(price_id)
    customer = get_or_create_customer(subscriber, email)
    # First, so that a session paid in another tab until now shows in the list.
    expire_open_sessions(customer)
    subscriptions = _customer_subscriptions(customer)
    live = next((s for s in subscriptions if is_current_status(s.get("status"))), None)
    if live is not None:
        # Paid in another tab, or paused, its webhook not here: link it, sell nothing.
        link_subscription(subscriber, live)
        subscriber.refresh_from_db()
        return _to_current_subscription(subscriber, return_url)
    quantity = billed_quantity(subscriber)
    reference = subscriber_reference(subscriber)
    # The local rows cover the subscriber's other customers; Stripe's own list, the
    # subscriptions of this customer whose rows never reached this database.
    had_subscription = bool(subscriptions) or not trial_available(subscriber)
    trial = trial_params(price, had_subscription=had_subscription)
    subscription_data = {
        "metadata": {"subscriber": reference},
        **trial.pop("subscription_data", {}),
    }
    session = stripe.checkout.Session.create(
        mode="subscription",
        customer=customer.id,
        client_reference_id=reference,
        line_items=[{"price": price.id, "quantity": quantity}],
        metadata={"subscriber": reference},
        subscription_data=subscription_data,
        success_url=success_url,
        cancel_url=cancel_url,
        # A field on Checkout's page for a promotion code (a coupon's code).
        allow_promotion_codes=settings.SUBSCRIPTIONS_ALLOW_PROMOTION_CODES,
        **trial,
        # A key of this attempt: a retried request opens one session, and a new
        # click a new one (the last one was just expired).
        **stripe_options(idempotency_key=f"checkout-{uuid.uuid4().hex}"),
    )
    return CheckoutRedirect(session.url)


def subscriber_from_session(session):
    """The subscriber a Checkout session (object or event dict) was opened for."""
    reference = session.get("client_reference_id") or (
        session.get("metadata") or {}
    ).get("subscriber")
    return subscriber_from_reference(reference)


def session_is_paid(session) -> bool:
    return (
        session.get("mode") == "subscription"
        and session.get("status") == "complete"
        and session.get("payment_status") in PAID_STATUSES
        and bool(session.get("subscription"))
    )


def customer_belongs_to(subscriber, session) -> bool:
    """Whether the customer of a Checkout session (re-read from Stripe) is the
    subscriber's: its own, or one that this Checkout made and no one else has.

    The subscriber a session names (client_reference_id, metadata) is only what the
    session was opened with; the customer is who pays and whose subscription it is.
    """
    customer_id = stripe_id(session.get("customer"))
    if not customer_id:
        return False
    local = Customer.objects.filter(id=customer_id).first()
    if local is not None:
        return local.subscriber_id == subscriber.pk or (
            local.subscriber_id is None and subscriber.customer_id == local.pk
        )
    customer = stripe.Customer.retrieve(customer_id, **stripe_options())
    named = (customer.get("metadata") or {}).get("subscriber")
    if named:
        return named == subscriber_reference(subscriber)
    # A customer that Checkout creates comes after its session, never before.
    return (customer.get("created") or 0) >= (session.get("created") or 0)


# PostgreSQL's SQLSTATE for a transaction it stopped to break a deadlock.
DEADLOCK_DETECTED = "40P01"


def _link_retrying_a_deadlock(subscriber, subscription_id):
    """`link_subscription` in a savepoint, tried once more if PostgreSQL broke a
    deadlock with it.

    Checkout's return page and its webhook provision at once, and dj-stripe's syncs
    in each lock customer, price and product rows in their own order. Rolling back
    to the savepoint releases what the loser locked in it, so the winner goes on;
    linking is idempotent, so the loser then simply tries again. SQLite has no
    row locks to deadlock on.
    """
    if connection.vendor != "postgresql":
        return link_subscription(subscriber, subscription_id)
    for last_try in (False, True):
        try:
            with transaction.atomic():
                return link_subscription(subscriber, subscription_id)
        except OperationalError as error:
            deadlock = getattr(error.__cause__, "sqlstate", None) == DEADLOCK_DETECTED
            if last_try or not deadlock:
                raise
            logger.warning("Linking %s met a deadlock; trying again", subscription_id)


def complete_checkout_session(session_id, subscriber=None) -> CheckoutResult:
    """Provision the subscription of a completed Checkout session: Checkout's return
    page and the `checkout.session.completed` webhook.

    The session is re-read from Stripe, whatever the caller was told. Raises
    `CheckoutSessionNotFound` when it does not exist, names no subscriber of this
    site or, with `subscriber`, another one, or when its customer is not the
    subscriber's (`customer_belongs_to`).
    """
    if not isinstance(session_id, str) or not session_id.startswith("cs_"):
        raise CheckoutSessionNotFound(session_id)
    try:
        session = stripe.checkout.Session.retrieve(session_id, **stripe_options())
    except stripe.InvalidRequestError as error:
        raise CheckoutSessionNotFound(session_id) from error
    owner = subscriber_from_session(session)
    if owner is None or (subscriber is not None and owner.pk != subscriber.pk):
        raise CheckoutSessionNotFound(session_id)
    if not customer_belongs_to(owner, session):
        logger.error(
            "Checkout session %s names %s but its customer %s is another's",
            session_id,
            subscriber_reference(owner),
            session.get("customer"),
        )
        raise CheckoutSessionNotFound(session_id)
    if not session_is_paid(session):
        return CheckoutResult(CheckoutOutcome.NOT_PAID, owner)
    result = _link_retrying_a_deadlock(owner, stripe_id(session.get("subscription")))
    outcome = (
        CheckoutOutcome.PROVISIONED
        if result.changed
        else CheckoutOutcome.ALREADY_PROVISIONED
    )
    return CheckoutResult(outcome, result.subscriber, result.subscription)
