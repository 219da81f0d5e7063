"""`manage.py check_pending_webhooks`: process the Stripe events the site missed."""

import stripe
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.subscriptions.pending_webhooks import (
    EventResult,
    Outcome,
    PendingCounts,
    check_pending_webhooks,
)
from apps.subscriptions.stripe_client import (
    StripeSetupError,
    configured_secret_key,
    describe_stripe_error,
)


class Command(BaseCommand):
    help = (
        "List Stripe's events of the types the webhook endpoint follows, since the "
        "newest one stored here (minus SUBSCRIPTIONS_PENDING_WEBHOOKS_OVERLAP "
        "seconds), and process through dj-stripe each the site never stored; "
        "process again those whose processing failed, up to "
        "SUBSCRIPTIONS_PENDING_WEBHOOKS_MAX_ATTEMPTS times. More missed events than "
        "SUBSCRIPTIONS_PENDING_WEBHOOKS_THRESHOLD mail the ADMINS. Exits non-zero "
        "then, or when any event failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List and print the events that would be processed; process "
            "nothing and mail nobody.",
        )

    def handle(self, *args, dry_run=False, **options):
        self.stdout.write(
            "Looking for Stripe events the webhook endpoint missed"
            + (" (dry run: nothing is processed)" if dry_run else "")
        )
        try:
            configured_secret_key()
            counts = check_pending_webhooks(
                dry_run=dry_run, report=self.report, progress=self.progress
            )
        except StripeSetupError as error:
            raise CommandError(str(error)) from error
        except stripe.StripeError as error:
            raise CommandError(describe_stripe_error(error)) from error
        if counts.locked_out:
            self.stdout.write(
                self.style.WARNING("Another check is running; this one did nothing.")
            )
            return
        summary = (
            f"listed {counts.listed} since {counts.since.isoformat(timespec='seconds')}, "
            f"missed {counts.missed}, failed before {counts.failed_before}, "
            f"{'would process' if dry_run else 'processed'} {counts.processed}, "
            f"failed {counts.failed}, given up {counts.given_up}"
        )
        if counts.alerted:
            threshold = settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_THRESHOLD
            mailed = "" if dry_run else "; the admins were mailed"
            raise CommandError(
                f"{counts.missed} events were missed, more than {threshold}{mailed}. "
                f"Done: {summary}"
            )
        if counts.failed:
            raise CommandError(f"Done with failures: {summary}")
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}"))

    def report(self, result: EventResult) -> None:
        style = {
            Outcome.PROCESSED: self.style.SUCCESS,
            Outcome.FAILED: self.style.ERROR,
            Outcome.GIVEN_UP: self.style.WARNING,
        }.get(result.outcome, str)
        detail = f", {result.detail}" if result.detail else ""
        self.stdout.write(
            f"[{result.position}/{result.total}] {result.event_id} "
            f"{result.event_type} ({result.source}): "
            + style(f"{result.outcome}{detail}")
        )

    def progress(self, counts: PendingCounts) -> None:
        self.stdout.write(f"[page {counts.pages}] listed {counts.listed} event(s)")
