"""Stripe's customer portal: where subscribers change plan, card or cancel."""

import stripe

from .stripe_client import stripe_options


class NoBillingAccount(Exception):
    """The subscriber has no Stripe customer yet, so there is nothing to manage."""


def create_portal_session(subscriber, return_url: str) -> str:
    """Open a billing portal session for the subscriber's customer; return its URL."""
    if subscriber.customer_id is None:
        raise NoBillingAccount
    session = stripe.billing_portal.Session.create(
        customer=subscriber.customer.id,
        return_url=return_url,
        **stripe_options(),
    )
    return session.url
