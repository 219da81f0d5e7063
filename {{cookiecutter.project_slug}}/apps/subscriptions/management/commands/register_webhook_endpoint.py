"""Register this site's dj-stripe webhook endpoint with Stripe (or the emulator)."""

import stripe
from django.core.management.base import BaseCommand, CommandError

from apps.subscriptions.stripe_client import (
    StripeSetupError,
    check_stripe_configuration,
    describe_stripe_error,
)
from apps.subscriptions.webhook_endpoints import (
    register_webhook_endpoint,
    working_webhook_endpoint,
)


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
        try:
            check_stripe_configuration()
            endpoint = working_webhook_endpoint(base_url)
            if endpoint is not None:
                self.stdout.write(
                    self.style.SUCCESS(f"Webhook endpoint ready: {endpoint.url}")
                )
                return
            endpoint = register_webhook_endpoint(base_url)
        except StripeSetupError as error:
            raise CommandError(str(error)) from error
        except stripe.StripeError as error:
            raise CommandError(describe_stripe_error(error)) from error
        self.stdout.write(
            self.style.SUCCESS(f"Registered webhook endpoint {endpoint.url}")
        )
        self.stdout.write(f"Signing secret stored for endpoint {endpoint.id}.")
