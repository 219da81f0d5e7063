"""Stripe's customer portal: where subscribers change plan, card or cancel.

The site configures the portal itself (`configure_portal`), so customers can only do
what this site sells: switch between the prices of `ACTIVE_PRODUCTS`, cancel at the
period end, update their card and read their invoices. The configuration's id is
recorded locally (`PortalConfiguration`), and every session opens with it.
"""

import hashlib
import json
import logging
from enum import StrEnum

import stripe
from django.conf import settings
from djstripe.models import Price
from djstripe.settings import djstripe_settings

from .metadata import PlanInterval, get_active_plan_intervals, get_active_products
from .models import PortalConfiguration
from .stripe_client import stripe_options

logger = logging.getLogger(__name__)

# Marks the configuration this site manages, to find it again among the account's.
MANAGED_BY = {"managed_by": "configure_billing_portal"}
# Stripe's limit on `features[subscription_update][products]`.
MAX_PORTAL_PRODUCTS = 10


class NoBillingAccount(Exception):
    """The subscriber has no Stripe customer yet, so there is nothing to manage."""


class PortalConfigurationError(Exception):
    """The portal cannot be configured from the local catalogue; the message says why."""


class PortalSetup(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


# -- sessions ---------------------------------------------------------------------


def recorded_configuration_id() -> str | None:
    """The id of the portal configuration recorded for the Stripe mode in use."""
    return (
        PortalConfiguration.objects.filter(livemode=djstripe_settings.STRIPE_LIVE_MODE)
        .values_list("stripe_id", flat=True)
        .first()
    )


def create_portal_session(subscriber, return_url: str) -> str:
    """Open a billing portal session for the subscriber's customer; return its URL."""
    if subscriber.customer_id is None:
        raise NoBillingAccount
    configuration = recorded_configuration_id()
    if configuration is None:
        # A fresh account still works, with the account's default configuration.
        logger.warning(
            "No billing portal configuration is recorded: opening the portal with "
            "Stripe's default one. Run `manage.py configure_billing_portal`."
        )
    session = stripe.billing_portal.Session.create(
        customer=subscriber.customer.id,
        return_url=return_url,
        **({"configuration": configuration} if configuration else {}),
        **stripe_options(),
    )
    return session.url


# -- configuration ----------------------------------------------------------------


def _portal_prices() -> dict[str, list[str]]:
    """The active recurring prices of each product on sale, by product id.

    Read from the local dj-stripe rows (`bootstrap_subscriptions` syncs them), in
    `ACTIVE_PRODUCTS` order; only the intervals of `ACTIVE_PLAN_INTERVALS`.
    """
    product_ids = [product.stripe_id for product in get_active_products()]
    intervals = {interval.value for interval in get_active_plan_intervals()}
    prices: dict[str, list[str]] = {product_id: [] for product_id in product_ids}
    listed = Price.objects.filter(active=True, product__id__in=product_ids)
    for price in listed.order_by("created", "id"):
        if PlanInterval.of_price(price.stripe_data) in intervals:
            prices[price.product_id].append(price.id)
    return {product_id: ids for product_id, ids in prices.items() if ids}


def portal_features() -> dict:
    """The `features` of the portal configuration, from the local catalogue.

    Quantity changes are offered per product (`adjustable_quantity`), for the
    products whose metadata says `quantity_adjustable`, and only in flat-price
    sites: when billing per seat the quantity follows `get_quantity()`.
    """
    prices = _portal_prices()
    if not prices:
        raise PortalConfigurationError(
            "No active recurring price of ACTIVE_PRODUCTS is synced: run "
            "`manage.py bootstrap_subscriptions` first."
        )
    if len(prices) > MAX_PORTAL_PRODUCTS:
        raise PortalConfigurationError(
            f"Stripe's portal offers at most {MAX_PORTAL_PRODUCTS} products; "
            f"ACTIVE_PRODUCTS has {len(prices)} with prices."
        )
    adjustable = {
        product.stripe_id
        for product in get_active_products()
        if product.quantity_adjustable and not settings.SUBSCRIPTIONS_PER_SEAT
    }
    return {
        "subscription_update": {
            "enabled": True,
            # Quantities are allowed per product below, never for every product.
            "default_allowed_updates": ["price"],
            "products": [
                {
                    "product": product_id,
                    "prices": price_ids,
                    "adjustable_quantity": (
                        {"enabled": True, "minimum": 1}
                        if product_id in adjustable
                        else {"enabled": False}
                    ),
                }
                for product_id, price_ids in prices.items()
            ],
            "proration_behavior": settings.SUBSCRIPTIONS_PRORATION_BEHAVIOR,
        },
        "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
        "payment_method_update": {"enabled": True},
        "invoice_history": {"enabled": True},
        "customer_update": {"enabled": False},
    }


def portal_configuration_params() -> dict:
    """Everything this site sets on its portal configuration."""
    return {
        "name": f"{settings.SITE_NAME} customer portal",
        "features": portal_features(),
        "metadata": MANAGED_BY,
    }


def _is_managed(configuration: dict) -> bool:
    metadata = configuration.get("metadata") or {}
    return all(metadata.get(key) == value for key, value in MANAGED_BY.items())


def find_managed_configuration() -> dict | None:
    """This site's portal configuration in Stripe (as a dict), or None.

    The recorded one when it is still there (one read), else the newest one marked
    with `MANAGED_BY` (the record is gone, or the database is new).
    """
    recorded = recorded_configuration_id()
    if recorded:
        try:
            configuration = stripe.billing_portal.Configuration.retrieve(
                recorded, **stripe_options()
            ).to_dict()
        except stripe.InvalidRequestError:
            configuration = None  # e.g. an emulator restarted without its state
        if configuration is not None and _is_managed(configuration):
            return configuration
    listing = stripe.billing_portal.Configuration.list(limit=100, **stripe_options())
    managed = [c.to_dict() for c in listing.auto_paging_iter()]
    managed = [c for c in managed if _is_managed(c)]
    return max(managed, key=lambda c: c["created"], default=None)


def _includes(actual, wanted) -> bool:
    """Whether `actual` (what Stripe returned) holds every value of `wanted`."""
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            key in actual and _includes(actual[key], value)
            for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(wanted)
            and all(map(_includes, actual, wanted))
        )
    return actual == wanted


def _record(configuration: dict) -> None:
    PortalConfiguration.objects.update_or_create(
        livemode=bool(configuration["livemode"]),
        defaults={"stripe_id": configuration["id"]},
    )


def configure_portal(*, update_unchanged: bool = True) -> tuple[dict, PortalSetup]:
    """Create or update this site's portal configuration and record it.

    Returns the configuration and what was done. With `update_unchanged=False`, a
    configuration that already holds these settings is left alone (no write).
    """
    params = portal_configuration_params()
    existing = find_managed_configuration()
    if existing is None:
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        configuration = stripe.billing_portal.Configuration.create(
            **params, **stripe_options(idempotency_key=f"portal-configuration-{digest}")
        ).to_dict()
        outcome = PortalSetup.CREATED
    elif not update_unchanged and existing["active"] and _includes(existing, params):
        configuration, outcome = existing, PortalSetup.UNCHANGED
    else:
        configuration = stripe.billing_portal.Configuration.modify(
            existing["id"], active=True, **params, **stripe_options()
        ).to_dict()
        outcome = PortalSetup.UPDATED
    _record(configuration)
    return configuration, outcome
