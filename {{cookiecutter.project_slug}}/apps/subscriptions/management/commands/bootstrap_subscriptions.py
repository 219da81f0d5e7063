"""Sync the Stripe catalogue and print an `ACTIVE_PRODUCTS` block for metadata.py."""

import stripe
from django.core.management.base import BaseCommand, CommandError

from apps.subscriptions.catalogue import active_products_block, sync_catalogue
from apps.subscriptions.coupons import refresh_coupons
from apps.subscriptions.demo_catalogue import create_demo_catalogue
from apps.subscriptions.stripe_client import (
    StripeSetupError,
    check_stripe_configuration,
    configured_secret_key,
    describe_stripe_error,
    is_live_key,
)


class Command(BaseCommand):
    help = (
        "Sync products, prices, coupons and promotion codes from the configured "
        "Stripe account (or the emulator) and print a ready-to-paste "
        "ACTIVE_PRODUCTS block."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--create-demo-products",
            action="store_true",
            help="First create a demo catalogue: three tiers, monthly and annual "
            "prices (per seat when SUBSCRIPTIONS_PER_SEAT is on) and the promotion "
            "code LAUNCH20. Refused with live keys.",
        )

    def handle(self, *args, create_demo_products=False, **options):
        try:
            # Refuse live keys before the first request, so nothing touches a
            # live account.
            if create_demo_products and is_live_key(configured_secret_key()):
                raise CommandError(
                    "Refusing to create demo products with live Stripe keys."
                )
            check_stripe_configuration()
            if create_demo_products:
                for product_id in create_demo_catalogue():
                    self.stdout.write(f"Demo product ready: {product_id}")
            products, prices = sync_catalogue(write=self.stdout.write)
            coupons = refresh_coupons()
        except StripeSetupError as error:
            raise CommandError(str(error)) from error
        except stripe.StripeError as error:
            raise CommandError(describe_stripe_error(error)) from error
        block = active_products_block(products, prices)
        self.stdout.write(
            self.style.SUCCESS(
                f"Synchronized {len(products)} products, {len(prices)} prices, "
                f"{coupons.coupons.listed} coupons and "
                f"{coupons.promotion_codes.listed} promotion codes."
            )
        )
        self.stdout.write(
            "Paste this into apps/subscriptions/metadata.py (edit slugs to taste):\n"
        )
        self.stdout.write(block)
