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
    store_stripe_cli_endpoint,
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
        parser.add_argument(
            "--stripe-cli-secret",
            metavar="WHSEC",
            help="Instead, store the endpoint that `stripe listen` forwards to, "
            "with the secret printed by `stripe listen --print-secret` (test mode; "
            "nothing is created in Stripe).",
        )

    def handle(self, *args, base_url, stripe_cli_secret=None, **options):
        if stripe_cli_secret is not None:
            self._store_stripe_cli_endpoint(base_url, stripe_cli_secret)
            return
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

    def _store_stripe_cli_endpoint(self, base_url, secret):
        try:
            endpoint = store_stripe_cli_endpoint(base_url, secret)
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(f"Stripe CLI endpoint ready: {endpoint.url}")
        )
        self.stdout.write(
            f"Forward events to it: stripe listen --forward-to {endpoint.url}"
        )
