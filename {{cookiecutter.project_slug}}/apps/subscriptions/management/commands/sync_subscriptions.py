"""`manage.py sync_subscriptions`: put right every seat count that differs on Stripe."""

from django.core.management.base import BaseCommand, CommandError

from apps.subscriptions.sync import (
    Outcome,
    SeatSyncDisabled,
    SubscriberResult,
    subscribed_subscribers,
    sync_subscriptions,
)

# Subscribers in step print nothing of their own: a progress line every this many.
PROGRESS_EVERY = 500


class Command(BaseCommand):
    help = (
        "Compare the seat count of every subscriber with an active subscription with "
        "the quantity Stripe bills (as the local rows have it), and write the ones "
        "that differ to Stripe. Exits non-zero when any subscriber failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would change, but write nothing.",
        )

    def handle(self, *args, dry_run=False, **options):
        self.total = subscribed_subscribers().count()
        self.done = 0
        self.stdout.write(
            f"{self.total} subscriber(s) to check"
            + (" (dry run: nothing is written)" if dry_run else "")
        )
        try:
            counts = sync_subscriptions(dry_run=dry_run, report=self.report)
        except SeatSyncDisabled as exc:
            raise CommandError(str(exc)) from exc
        if counts.locked_out:
            self.stdout.write(
                self.style.WARNING("Another sync is running; this one did nothing.")
            )
            return
        summary = (
            f"checked {counts.checked}, "
            f"{'would update' if dry_run else 'updated'} {counts.updated}, "
            f"unchanged {counts.unchanged}, skipped {counts.skipped}, "
            f"failed {counts.failed}"
        )
        if counts.failed:
            raise CommandError(f"Done with failures: {summary}")
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}"))

    def report(self, result: SubscriberResult) -> None:
        self.done += 1
        if result.outcome is Outcome.UNCHANGED:
            if self.done % PROGRESS_EVERY == 0:
                self.stdout.write(f"[{self.done}/{max(self.total, self.done)}] checked")
            return
        style = {
            Outcome.UPDATED: self.style.SUCCESS,
            Outcome.FAILED: self.style.ERROR,
            Outcome.SKIPPED: self.style.WARNING,
        }[result.outcome]
        subscriber = result.subscriber
        self.stdout.write(
            f"[{self.done}/{max(self.total, self.done)}] "
            f"{subscriber._meta.verbose_name} {subscriber.pk} ({subscriber}): "
            + style(f"{result.outcome.value}, {result.detail}")
        )
