"""Celery tasks of the subscriptions app, scheduled by Celery beat."""

import logging

from celery import shared_task

from .coupons import refresh_coupons
from .pending_webhooks import check_pending_webhooks
from .reconcile import reconcile_subscriptions
from .sync import Outcome, sync_one, sync_subscriptions

logger = logging.getLogger(__name__)

# Listing a large account takes minutes (a page of 100 subscriptions per request):
# longer than the default task limits allow, shorter than the hourly interval.
LONG_RUN_SOFT_LIMIT = 30 * 60
LONG_RUN_LIMIT = 35 * 60


@shared_task
def sync_subscriptions_task() -> dict:
    """Put right every seat count that differs on Stripe; returns the run's counts."""
    return sync_subscriptions().as_dict()


# A seat change that failed to reach Stripe is tried again a few times, a minute
# apart, before it waits for the scheduled run.
SEAT_SYNC_RETRIES = 3
SEAT_SYNC_RETRY_DELAY = 60


@shared_task(
    bind=True, max_retries=SEAT_SYNC_RETRIES, default_retry_delay=SEAT_SYNC_RETRY_DELAY
)
def sync_subscriber_task(self, pk) -> str | None:
    """Push one subscriber's seat count to Stripe (queued by a seat change)."""
    outcome = sync_one(pk)
    if outcome is Outcome.FAILED and self.request.retries < self.max_retries:
        raise self.retry()
    return outcome.value if outcome else None


@shared_task(soft_time_limit=LONG_RUN_SOFT_LIMIT, time_limit=LONG_RUN_LIMIT)
def reconcile_subscriptions_task() -> dict:
    """Apply what the site missed of every Stripe subscription; returns the counts."""
    counts = reconcile_subscriptions()
    if counts.failed:
        logger.error(
            "Reconciliation: %s subscription(s) failed (see the errors above); "
            "they are tried again next run",
            counts.failed,
        )
    return counts.as_dict()


@shared_task(soft_time_limit=LONG_RUN_SOFT_LIMIT, time_limit=LONG_RUN_LIMIT)
def check_pending_webhooks_task() -> dict:
    """Process the Stripe events the webhook endpoint missed; returns the counts."""
    counts = check_pending_webhooks()
    if counts.alerted:
        logger.error(
            "%s Stripe events never reached the webhook endpoint (the admins were "
            "mailed): %s",
            counts.missed,
            ", ".join(counts.missed_ids),
        )
    if counts.failed:
        logger.error(
            "%s Stripe event(s) failed to process; they are tried again next run",
            counts.failed,
        )
    return counts.as_dict()


@shared_task
def refresh_coupons_task() -> dict:
    """Bring the local coupons and promotion codes in step with Stripe; the counts."""
    return refresh_coupons().as_dict()
