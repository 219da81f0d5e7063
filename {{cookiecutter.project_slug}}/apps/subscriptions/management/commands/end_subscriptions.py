"""`manage.py end_subscriptions`: end subscriptions whose end date has passed."""

import stripe
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.subscriptions.lifecycle import EndOutcome, end_overdue_subscription
from apps.subscriptions.selectors import subscriptions_past_their_end
from apps.subscriptions.stripe_client import describe_stripe_error


class Command(BaseCommand):
    help = (
        "Cancel in Stripe the subscriptions whose end date (cancel_at, or the period "
        "end when set to cancel then) has passed by the local rows but that Stripe "
        "still bills. Each is re-read from Stripe first and canceled only if it still "
        "is not; running it again changes nothing. Exits non-zero when any failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Re-read each from Stripe and report what would end; cancel nothing.",
        )

    def handle(self, *args, dry_run=False, **options):
        now = timezone.now()
        overdue = subscriptions_past_their_end(now)
        total = len(overdue)
        self.stdout.write(
            f"{total} subscription(s) past their end date"
            + (" (dry run: nothing is canceled)" if dry_run else "")
        )
        counts = dict.fromkeys(EndOutcome, 0)
        failed = 0
        for done, subscription in enumerate(overdue, start=1):
            prefix = f"[{done}/{total}] {subscription.id}: "
            try:
                result = end_overdue_subscription(subscription.id, now, dry_run=dry_run)
            except stripe.StripeError as error:
                failed += 1
                self.stdout.write(
                    prefix + self.style.ERROR(describe_stripe_error(error))
                )
                continue
            counts[result.outcome] += 1
            style = self.style.SUCCESS if result.outcome is EndOutcome.ENDED else str
            self.stdout.write(prefix + style(result.outcome.value))
        shown = [EndOutcome.ALREADY_ENDED, EndOutcome.NOT_DUE]
        shown.insert(0, EndOutcome.WOULD_END if dry_run else EndOutcome.ENDED)
        summary = ", ".join(
            [f"checked {total}"]
            + [f"{outcome.value} {counts[outcome]}" for outcome in shown]
            + [f"failed {failed}"]
        )
        if failed:
            raise CommandError(f"Done with failures: {summary}")
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}"))
