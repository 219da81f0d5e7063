"""Create or update the Stripe customer portal configuration of this site."""

import stripe
from django.core.management.base import BaseCommand, CommandError

from apps.subscriptions.portal import (
    PortalConfigurationError,
    PortalSetup,
    configure_portal,
)
from apps.subscriptions.stripe_client import (
    StripeSetupError,
    check_stripe_configuration,
    describe_stripe_error,
)


class Command(BaseCommand):
    help = (
        "Configure Stripe's customer portal for this site: plan switches between the "
        "prices of ACTIVE_PRODUCTS (as synced by bootstrap_subscriptions), "
        "cancellation at the period end, card updates and invoice history; quantity "
        "changes only for flat-price products marked quantity_adjustable. Updates the "
        "same configuration on every run."
    )

    def handle(self, *args, **options):
        try:
            check_stripe_configuration()
            configuration, outcome = configure_portal()
        except (StripeSetupError, PortalConfigurationError) as error:
            raise CommandError(str(error)) from error
        except stripe.StripeError as error:
            raise CommandError(describe_stripe_error(error)) from error
        verb = "Created" if outcome == PortalSetup.CREATED else "Updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} billing portal configuration {configuration['id']}."
            )
        )
