"""This site's webhook endpoint in Stripe: registered through dj-stripe, which keeps
its signing secret on a `WebhookEndpoint` row."""

import time
from urllib.parse import urljoin
from uuid import uuid4

import stripe
from django.urls import reverse
from djstripe.models import WebhookEndpoint
from djstripe.settings import djstripe_settings

from .stripe_client import api_key, stripe_options

# What the site's pages and handlers need to stay in step with Stripe (the
# lifecycle signals among them: see webhooks.py).
WEBHOOK_EVENTS = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "customer.updated",
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.trial_will_end",
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
    "invoice.created",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.voided",
    # Coupons and promotion codes (dj-stripe syncs them), discounts (webhooks.py).
    "coupon.created",
    "coupon.updated",
    "coupon.deleted",
    "promotion_code.created",
    "promotion_code.updated",
    "customer.discount.created",
    "customer.discount.updated",
    "customer.discount.deleted",
    "payment_method.attached",
    "product.created",
    "product.updated",
    "price.created",
    "price.updated",
]


# Ids of the local endpoints that stand for `stripe listen` (see below).
STRIPE_CLI_PREFIX = "we_stripe_cli_"


def _webhook_url(base_url: str, djstripe_uuid) -> str:
    path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": djstripe_uuid})
    return urljoin(base_url, path)


def _still_in_stripe(endpoint) -> bool:
    """Whether Stripe still has the endpoint; one that misses events the site now
    follows (registered by an older version of the site) is given them."""
    try:
        data = stripe.WebhookEndpoint.retrieve(endpoint.id, **stripe_options())
    except stripe.InvalidRequestError:
        return False
    enabled = set(data.get("enabled_events") or [])
    if "*" not in enabled and not enabled >= set(WEBHOOK_EVENTS):
        stripe.WebhookEndpoint.modify(
            endpoint.id,
            enabled_events=sorted(enabled | set(WEBHOOK_EVENTS)),
            **stripe_options(),
        )
    return True


def working_webhook_endpoint(base_url: str) -> WebhookEndpoint | None:
    """The endpoint of this site at `base_url`, if Stripe still has it with a secret.

    Rows of endpoints that Stripe no longer has (e.g. a restarted emulator) are
    deleted on the way, so that a new registration replaces them.
    """
    # dj-stripe's webhook URL up to the endpoint's uuid.
    placeholder = uuid4()
    prefix = _webhook_url(base_url, placeholder).split(str(placeholder))[0]
    endpoints = WebhookEndpoint.objects.filter(
        url__startswith=prefix, livemode=djstripe_settings.STRIPE_LIVE_MODE
    ).exclude(id__startswith=STRIPE_CLI_PREFIX)
    for endpoint in endpoints:
        if endpoint.secret and _still_in_stripe(endpoint):
            return endpoint
        endpoint.delete()
    return None


def register_webhook_endpoint(base_url: str) -> WebhookEndpoint:
    """Create an endpoint at `base_url` for the site's webhook view; store its secret."""
    djstripe_uuid = uuid4()
    data = stripe.WebhookEndpoint.create(
        url=_webhook_url(base_url, djstripe_uuid),
        enabled_events=WEBHOOK_EVENTS,
        api_version=djstripe_settings.STRIPE_API_VERSION,
        metadata={"djstripe_uuid": str(djstripe_uuid)},
        **stripe_options(idempotency_key=f"webhook-endpoint-{djstripe_uuid}"),
    )
    return WebhookEndpoint.sync_from_stripe_data(data, api_key=api_key())


def ensure_webhook_endpoint(base_url: str) -> tuple[WebhookEndpoint, bool]:
    """The working endpoint at `base_url`, registered if there is none; and whether
    it was registered now."""
    endpoint = working_webhook_endpoint(base_url)
    if endpoint is not None:
        return endpoint, False
    return register_webhook_endpoint(base_url), True


def store_stripe_cli_endpoint(base_url: str, secret: str) -> WebhookEndpoint:
    """The endpoint of events forwarded by the Stripe CLI (`stripe listen`), which
    signs them with its own secret: a local row only, nothing is made in Stripe.

    Stripe cannot reach a laptop, so a test account's events come through the CLI;
    dj-stripe checks each against the secret of the endpoint in its URL. Storing a
    new secret (the CLI's changes per login) keeps the URL.
    """
    if not secret.startswith("whsec_"):
        raise ValueError(
            "The Stripe CLI's secret starts with whsec_: copy it from "
            "`stripe listen --print-secret`."
        )
    existing = WebhookEndpoint.objects.filter(
        id__startswith=STRIPE_CLI_PREFIX, livemode=False
    ).first()
    djstripe_uuid = existing.djstripe_uuid if existing else uuid4()
    data = {
        "id": existing.id if existing else STRIPE_CLI_PREFIX + djstripe_uuid.hex[:16],
        "object": "webhook_endpoint",
        "api_version": djstripe_settings.STRIPE_API_VERSION,
        "application": None,
        "created": int(time.time()),
        "description": "Events forwarded by the Stripe CLI (stripe listen)",
        "enabled_events": ["*"],
        "livemode": False,
        "metadata": {"djstripe_uuid": str(djstripe_uuid)},
        "secret": secret,
        "status": "enabled",
        "url": _webhook_url(base_url, djstripe_uuid),
    }
    return WebhookEndpoint.sync_from_stripe_data(data, api_key=api_key())
