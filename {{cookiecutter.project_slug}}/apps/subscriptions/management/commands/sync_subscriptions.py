"""`manage.py sync_subscriptions`: push changed seat counts to Stripe now."""

from django.core.management.base import BaseCommand, CommandError

from apps.subscriptions.sync import (
    Outcome,
    SeatSyncDisabled,
    SubscriberResult,
    pending_subscribers,
    sync_subscriptions,
)


class Command(BaseCommand):
    help = (
        "Push the seat count of every subscriber whose seats changed since the last "
        "sync to its Stripe subscription. Exits non-zero when any subscriber failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Read Stripe and report what would change, but write nothing.",
        )

    def handle(self, *args, dry_run=False, **options):
        self.total = pending_subscribers().count()
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
        style = {
            Outcome.UPDATED: self.style.SUCCESS,
            Outcome.FAILED: self.style.ERROR,
            Outcome.SKIPPED: self.style.WARNING,
        }.get(result.outcome, str)
        subscriber = result.subscriber
        self.stdout.write(
            f"[{self.done}/{max(self.total, self.done)}] "
            f"{subscriber._meta.verbose_name} {subscriber.pk} ({subscriber}): "
            + style(f"{result.outcome.value}, {result.detail}")
        )
