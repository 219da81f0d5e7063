"""Celery tasks of the subscriptions app, scheduled by Celery beat."""

from celery import shared_task

from .sync import sync_subscriptions


@shared_task
def sync_subscriptions_task() -> dict:
    """Push changed seat counts to Stripe; returns the run's counts."""
    return sync_subscriptions().as_dict()
