"""Celery tasks of the subscriptions app, scheduled by Celery beat."""

import logging

from celery import shared_task

from .coupons import refresh_coupons
from .pending_webhooks import check_pending_webhooks
from .reconcile import reconcile_subscriptions
from .stripe_client import describe_stripe_error, is_stripe_outage
from .sync import Outcome, sync_one, sync_subscriptions

logger = logging.getLogger(__name__)

# Listing a large account takes minutes (a page of 100 subscriptions per request):
# longer than the default task limits allow, shorter than the hourly interval.
LONG_RUN_SOFT_LIMIT = 30 * 60
LONG_RUN_LIMIT = 35 * 60

# A run that Stripe's outage stopped (no connection, rate limiting, a 5xx) is tried
# again 1, 2 and 4 minutes later; then it ends, logged, and the next scheduled run
# takes over. Each run only brings the site in step with Stripe, so a repeat is safe.
OUTAGE_RETRIES = 3
OUTAGE_RETRY_DELAY = 60


def _run_through_outages(task, run):
    """`run()`, retried while Stripe is out; after the last retry, `{"error": ...}`."""
    try:
        return run()
    except Exception as error:
        if not is_stripe_outage(error):
            raise
        retries = task.request.retries
        if retries < OUTAGE_RETRIES:
            raise task.retry(
                exc=error, countdown=OUTAGE_RETRY_DELAY * 2**retries
            ) from error
        message = describe_stripe_error(error)
        logger.error(
            "%s gave up after %s tries: %s; the next scheduled run tries again",
            task.name,
            retries + 1,
            message,
        )
        return {"error": message}


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


@shared_task(bind=True, soft_time_limit=LONG_RUN_SOFT_LIMIT, time_limit=LONG_RUN_LIMIT)
def reconcile_subscriptions_task(self) -> dict:
    """Apply what the site missed of every Stripe subscription; returns the counts."""
    return _run_through_outages(self, _reconcile)


def _reconcile() -> dict:
    counts = reconcile_subscriptions()
    if counts.failed:
        logger.error(
            "Reconciliation: %s subscription(s) failed (see the errors above); "
            "they are tried again next run",
            counts.failed,
        )
    return counts.as_dict()


@shared_task(bind=True, soft_time_limit=LONG_RUN_SOFT_LIMIT, time_limit=LONG_RUN_LIMIT)
def check_pending_webhooks_task(self) -> dict:
    """Process the Stripe events the webhook endpoint missed; returns the counts."""
    return _run_through_outages(self, _check_pending_webhooks)


def _check_pending_webhooks() -> dict:
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


@shared_task(bind=True)
def refresh_coupons_task(self) -> dict:
    """Bring the local coupons and promotion codes in step with Stripe; the counts."""
    return _run_through_outages(self, lambda: refresh_coupons().as_dict())
