"""Register this site's dj-stripe webhook endpoint with Stripe (or the emulator)."""

from urllib.parse import urljoin
from uuid import uuid4

import stripe
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from djstripe.models import WebhookEndpoint
from djstripe.settings import djstripe_settings

from apps.subscriptions.stripe_client import (
    StripeSetupError,
    api_key,
    check_stripe_configuration,
    describe_stripe_error,
    stripe_options,
)

# What the site's pages and handlers need to stay in step with Stripe.
WEBHOOK_EVENTS = [
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
    "payment_method.attached",
    "product.created",
    "product.updated",
    "price.created",
    "price.updated",
]


def _still_in_stripe(endpoint) -> bool:
    try:
        stripe.WebhookEndpoint.retrieve(endpoint.id, **stripe_options())
    except stripe.InvalidRequestError:
        return False
    return True


class Command(BaseCommand):
    help = (
        "Create a Stripe webhook endpoint through dj-stripe that points at this "
        "site, and store its signing secret. Reuses a working one."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Scheme, host and port where Stripe reaches this site "
            "(default: http://127.0.0.1:8000).",
        )

    def handle(self, *args, base_url, **options):
        prefix = urljoin(base_url, "/stripe/webhook/")
        try:
            check_stripe_configuration()
            for endpoint in WebhookEndpoint.objects.filter(url__startswith=prefix):
                if endpoint.secret and _still_in_stripe(endpoint):
                    self.stdout.write(
                        self.style.SUCCESS(f"Webhook endpoint ready: {endpoint.url}")
                    )
                    return
                # Gone from Stripe (e.g. a restarted emulator): replace it.
                endpoint.delete()
            djstripe_uuid = uuid4()
            url = urljoin(
                base_url,
                reverse(
                    "djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": djstripe_uuid}
                ),
            )
            data = stripe.WebhookEndpoint.create(
                url=url,
                enabled_events=WEBHOOK_EVENTS,
                api_version=djstripe_settings.STRIPE_API_VERSION,
                metadata={"djstripe_uuid": str(djstripe_uuid)},
                **stripe_options(),
            )
            endpoint = WebhookEndpoint.sync_from_stripe_data(data, api_key=api_key())
        except StripeSetupError as error:
            raise CommandError(str(error)) from error
        except stripe.StripeError as error:
            raise CommandError(describe_stripe_error(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Registered webhook endpoint {url}"))
        self.stdout.write(f"Signing secret stored for endpoint {endpoint.id}.")
