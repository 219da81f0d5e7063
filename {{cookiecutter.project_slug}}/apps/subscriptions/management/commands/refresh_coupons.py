"""`manage.py refresh_coupons`: bring the local coupons and promotion codes in step
with Stripe."""

import stripe
from django.core.management.base import BaseCommand, CommandError

from apps.subscriptions.coupons import refresh_coupons
from apps.subscriptions.stripe_client import (
    StripeSetupError,
    configured_secret_key,
    describe_stripe_error,
)


class Command(BaseCommand):
    help = (
        "List every coupon and promotion code from Stripe and bring the local "
        "dj-stripe rows in step with what webhooks missed: new and changed ones are "
        "synced, the ones Stripe no longer has are deleted. Celery beat runs it daily."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List from Stripe and report what would change; change nothing.",
        )

    def handle(self, *args, dry_run=False, **options):
        if dry_run:
            self.stdout.write("Dry run: nothing is changed.")

        def progress(kind, counts):
            self.stdout.write(f"{kind}: {counts.listed} listed")

        try:
            configured_secret_key()
            result = refresh_coupons(dry_run=dry_run, progress=progress)
        except StripeSetupError as error:
            raise CommandError(str(error)) from error
        except stripe.StripeError as error:
            raise CommandError(describe_stripe_error(error)) from error
        verbs = (
            ("would create", "would update", "would delete")
            if dry_run
            else (
                "created",
                "updated",
                "deleted",
            )
        )
        for kind, counts in (
            ("Coupons", result.coupons),
            ("Promotion codes", result.promotion_codes),
        ):
            changed = (counts.created, counts.updated, counts.deleted)
            summary = ", ".join(
                [f"listed {counts.listed}"]
                + [f"{verb} {n}" for verb, n in zip(verbs, changed, strict=True)]
                + [f"unchanged {counts.unchanged}"]
            )
            self.stdout.write(self.style.SUCCESS(f"{kind}: {summary}"))
