"""`manage.py reconcile_subscriptions`: catch up with Stripe on every subscription."""

import stripe
from django.core.management.base import BaseCommand, CommandError

from apps.subscriptions.reconcile import (
    ReconcileCounts,
    SubscriptionResult,
    reconcile_subscriptions,
)
from apps.subscriptions.stripe_client import (
    StripeSetupError,
    configured_secret_key,
    describe_stripe_error,
)


class Command(BaseCommand):
    help = (
        "List every subscription in Stripe (ended ones too) and apply each that the "
        "site is behind on (its status, plan, seats, scheduled end or pause, its "
        "subscriber's link, or its local copy), sending the lifecycle signals a lost "
        "webhook would have sent, once. Subscriptions of customers the site does "
        "not know are counted and left alone. Exits non-zero when any failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List and compare, and print what would be applied; write nothing.",
        )

    def handle(self, *args, dry_run=False, **options):
        self.dry_run = dry_run
        self.stdout.write(
            "Comparing every Stripe subscription with the site"
            + (" (dry run: nothing is written)" if dry_run else "")
        )
        try:
            configured_secret_key()
            counts = reconcile_subscriptions(
                dry_run=dry_run, report=self.report, progress=self.progress
            )
        except StripeSetupError as error:
            raise CommandError(str(error)) from error
        except stripe.StripeError as error:
            raise CommandError(describe_stripe_error(error)) from error
        if counts.locked_out:
            self.stdout.write(
                self.style.WARNING(
                    "Another reconciliation is running; this one did nothing."
                )
            )
            return
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.changed.items()))
        summary = (
            f"checked {counts.checked}, unchanged {counts.unchanged}, "
            f"{'would change' if dry_run else 'changed'} {counts.changed_total}"
            + (f" ({kinds})" if kinds else "")
            + f", customers unknown {counts.unknown}, changed meanwhile "
            f"{counts.skipped}, failed {counts.failed}"
        )
        if counts.failed:
            raise CommandError(f"Done with failures: {summary}")
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}"))

    def report(self, result: SubscriptionResult) -> None:
        line = (
            f"{result.subscription_id}: {result.before} -> {result.after} "
            f"[{result.kind}]"
        )
        if result.failed:
            self.stdout.write(f"{line}: " + self.style.ERROR(result.failed))
            return
        if result.skipped:
            self.stdout.write(
                f"{line}: "
                + self.style.WARNING("changed meanwhile; left for the next run")
            )
            return
        verb = "would send" if self.dry_run else "sent"
        signals = ", ".join(result.signals) or "nothing"
        self.stdout.write(f"{line}: " + self.style.SUCCESS(f"{verb} {signals}"))

    def progress(self, counts: ReconcileCounts) -> None:
        self.stdout.write(
            f"[page {counts.pages}] checked {counts.checked}: unchanged "
            f"{counts.unchanged}, changed {counts.changed_total}, customers unknown "
            f"{counts.unknown}, failed {counts.failed}"
        )
