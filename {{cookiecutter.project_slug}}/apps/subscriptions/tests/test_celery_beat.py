"""The beat schedule holds the seat sync only when billing per seat."""

import os

from django.conf import settings

from apps.subscriptions.tasks import sync_subscriptions_task
from config.celery_app import app

ENTRY = "sync-subscriptions"


def test_the_seat_sync_is_scheduled_only_when_billing_per_seat():
    assert (ENTRY in settings.CELERY_BEAT_SCHEDULE) is settings.SUBSCRIPTIONS_PER_SEAT


def test_the_scheduled_task_exists_and_runs_every_sync_interval():
    if not settings.SUBSCRIPTIONS_PER_SEAT:
        assert ENTRY not in app.conf.beat_schedule
        return
    entry = app.conf.beat_schedule[ENTRY]
    assert entry["task"] == sync_subscriptions_task.name
    assert entry["task"] in app.tasks
    assert entry["schedule"] == settings.SUBSCRIPTIONS_SYNC_INTERVAL
    if "SUBSCRIPTIONS_SYNC_INTERVAL" not in os.environ:
        # Daily unless the environment says otherwise.
        assert settings.SUBSCRIPTIONS_SYNC_INTERVAL == 24 * 60 * 60
