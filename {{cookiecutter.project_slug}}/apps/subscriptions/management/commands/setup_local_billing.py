"""Set billing up against the local Stripe emulator: what is missing, nothing else."""

import stripe
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from apps.subscriptions.catalogue import (
    active_products_in_stripe,
    are_synced,
    retire_missing_prices,
    sync_catalogue,
)
from apps.subscriptions.coupons import refresh_coupons
from apps.subscriptions.demo_catalogue import DEMO_TIERS, create_demo_catalogue
from apps.subscriptions.metadata import get_active_products, get_one_off_products
from apps.subscriptions.portal import (
    PortalConfigurationError,
    PortalSetup,
    configure_portal,
)
from apps.subscriptions.stripe_client import (
    StripeSetupError,
    describe_stripe_error,
    wait_for_stripe,
)
from apps.subscriptions.webhook_endpoints import ensure_webhook_endpoint


def _unapplied_migrations() -> int:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


class Command(BaseCommand):
    help = (
        "With the Stripe emulator (STRIPE_EMULATOR=1), create what billing needs and "
        "is missing: the demo catalogue, this site's webhook endpoint and the "
        "customer portal configuration. One line per thing done; a second run "
        "changes nothing. `make dev` runs it before the site starts."
    )
    # It fixes what the billing checks warn about, then runserver runs the checks:
    # warnings printed first would be about what it is about to do.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Scheme, host and port where the emulator reaches this site "
            "(default: http://127.0.0.1:8000).",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=30,
            metavar="SECONDS",
            help="How long to wait for the emulator to answer (default: 30).",
        )

    def handle(self, *args, base_url, wait, **options):
        if not settings.STRIPE_EMULATOR:
            self.stdout.write(
                "Billing uses your Stripe account (STRIPE_EMULATOR is off): nothing "
                "to set up here; see README.md, 'Billing with a Stripe test account'."
            )
            return
        if _unapplied_migrations():
            raise CommandError(
                "The database is not up to date: run `make migrate` first."
            )
        self.done = 0
        try:
            try:
                wait_for_stripe(wait)
            except stripe.APIConnectionError as error:
                raise CommandError(
                    f"The Stripe emulator did not answer within {wait:g} s at "
                    f"{stripe.api_base}: is it running (`make dev` starts it)?"
                ) from error
            ready = self.set_up_catalogue()
            self.set_up_webhook_endpoint(base_url)
            if ready:
                self.set_up_portal()
        except StripeSetupError as error:
            raise CommandError(str(error)) from error
        except stripe.StripeError as error:
            raise CommandError(describe_stripe_error(error)) from error
        if not self.done:
            self.stdout.write("Local billing is ready.")

    def report(self, line: str, style=None) -> None:
        self.done += 1
        self.stdout.write((style or self.style.SUCCESS)(line))

    def set_up_catalogue(self) -> bool:
        """Whether products of ACTIVE_PRODUCTS are in the emulator and synced."""
        on_sale = [product.stripe_id for product in get_active_products()]
        if not on_sale:
            self.report(
                "ACTIVE_PRODUCTS is empty: nothing is on sale "
                "(see apps/subscriptions/metadata.py).",
                self.style.WARNING,
            )
            return False
        in_stripe = active_products_in_stripe()
        if in_stripe:
            if not are_synced(in_stripe):
                self.report(
                    "Synchronized the catalogue from the emulator: "
                    + self.sync(on_sale)
                )
            return True
        demo_ids = {tier.product_id for tier in DEMO_TIERS}
        if demo_ids.isdisjoint(on_sale):
            self.report(
                "No product of ACTIVE_PRODUCTS is in the emulator: create them there, "
                "then run `manage.py bootstrap_subscriptions`.",
                self.style.WARNING,
            )
            return False
        create_demo_catalogue()
        self.report("Created the demo catalogue: " + self.sync(on_sale))
        return True

    def sync(self, on_sale) -> str:
        """Sync the emulator's catalogue; what was synced, for the line."""
        products, prices = sync_catalogue()
        codes = refresh_coupons().promotion_codes.listed
        summary = (
            f"{len(products)} products, {len(prices)} prices, {codes} promotion codes"
        )
        # Prices left from an emulator that lost its state are no longer on sale.
        sold = on_sale + [product.stripe_id for product in get_one_off_products()]
        retired = retire_missing_prices(sold, [price.id for price in prices])
        if retired:
            summary += f"; {retired} older local prices retired"
        return summary + "."

    def set_up_webhook_endpoint(self, base_url: str) -> None:
        endpoint, registered = ensure_webhook_endpoint(base_url)
        if registered:
            self.report(f"Registered webhook endpoint {endpoint.url}")

    def set_up_portal(self) -> None:
        try:
            configuration, outcome = configure_portal(update_unchanged=False)
        except PortalConfigurationError as error:
            self.report(f"Customer portal not configured: {error}", self.style.WARNING)
            return
        if outcome == PortalSetup.CREATED:
            self.report(f"Configured the customer portal ({configuration['id']}).")
        elif outcome == PortalSetup.UPDATED:
            self.report(
                f"Updated the customer portal ({configuration['id']}) to match "
                "ACTIVE_PRODUCTS."
            )
