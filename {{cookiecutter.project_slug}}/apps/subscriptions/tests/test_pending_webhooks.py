"""Missed webhooks: Stripe events that never reached the site are processed late, as
a delivery would have been, once; failed ones are tried again up to a limit."""

import logging
import math
import time
from datetime import timedelta
from io import StringIO

import pytest
import stripe
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from djstripe.models import Event, WebhookEventTrigger

from apps.subscriptions import pending_webhooks, webhooks
from apps.subscriptions.pending_webhooks import (
    ATTEMPT_HEADERS,
    TYPES_PER_REQUEST,
    check_pending_webhooks,
    window_start,
)
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.tasks import check_pending_webhooks_task
from apps.subscriptions.webhook_endpoints import WEBHOOK_EVENTS
from config.celery_app import app

from .run_locks import lock_held_elsewhere, share_run_locks

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing(billing_at):
    """The subscriber's billing on a test clock an hour ahead. Stripe dates events
    by the second and the check lists those after the endpoint's registration: the
    subscription's events must not share the second of the catalogue's."""
    return billing_at(int(time.time()) + 3600)


@pytest.fixture
def check(billing):
    """Run the check as the command would, committing (so signals are sent) at once."""

    def check_now(**kwargs):
        with billing.capture(execute=True):
            return check_pending_webhooks(**kwargs)

    return check_now


@pytest.fixture
def endpoint_disabled(webhook_endpoint, pro):
    """The site's endpoint disabled in Stripe: events from now on are never sent."""
    stripe.WebhookEndpoint.modify(
        webhook_endpoint.id, disabled=True, **stripe_options()
    )


def lost_events(billing):
    """Deliver what is queued; nothing reaches the disabled endpoint."""
    assert billing.deliver() == []


def schedule_end(subscription_id, at_period_end=True):
    stripe.Subscription.modify(
        subscription_id, cancel_at_period_end=at_period_end, **stripe_options()
    )


def attempts_of(event_id):
    return [
        trigger
        for trigger in WebhookEventTrigger.objects.order_by("pk")
        if trigger.json_body.get("id") == event_id
    ]


def test_an_event_the_endpoint_missed_is_processed_once(
    billing, pro, endpoint_disabled, sent, check, subscriber
):
    stripe.Subscription.cancel(pro.id, **stripe_options())
    lost_events(billing)
    [deleted] = billing.emulator.events("customer.subscription.deleted")

    counts = check()

    assert (counts.missed, counts.processed, counts.failed) == (1, 1, 0)
    assert counts.missed_ids == [deleted["id"]]
    assert Event.objects.filter(id=deleted["id"]).exists()
    assert sent.names() == ["subscription_canceled", "subscription_updated"]
    subscriber.refresh_from_db()
    assert subscriber.subscription is None


def test_each_attempt_is_kept_as_a_trigger_of_the_check(
    billing, pro, endpoint_disabled, check
):
    stripe.Subscription.cancel(pro.id, **stripe_options())
    lost_events(billing)
    [deleted] = billing.emulator.events("customer.subscription.deleted")

    check()

    [trigger] = attempts_of(deleted["id"])
    assert trigger.headers == ATTEMPT_HEADERS
    assert (trigger.valid, trigger.processed, trigger.exception) == (True, True, "")
    assert trigger.event_id == deleted["id"]


def test_a_second_check_finds_nothing_missed(billing, pro, endpoint_disabled, check):
    stripe.Subscription.cancel(pro.id, **stripe_options())
    lost_events(billing)
    check()
    billing.emulator.reset_counts()

    counts = check()

    assert (counts.missed, counts.processed) == (0, 0)
    assert counts.listed >= 1  # the overlap lists the last one again
    # One page per listing: a listing names at most TYPES_PER_REQUEST types.
    listings = math.ceil(len(WEBHOOK_EVENTS) / TYPES_PER_REQUEST)
    assert billing.emulator.count("GET", "/v1/events") == listings


def test_events_already_delivered_are_not_processed_again(billing, pro, sent, check):
    schedule_end(pro.id)
    billing.deliver()
    sent.clear()

    counts = check()

    assert counts.listed >= 1
    assert (counts.missed, counts.processed) == (0, 0)
    assert sent.names() == []


def test_only_the_types_the_endpoint_follows_are_listed(
    billing, pro, endpoint_disabled, check
):
    # On the clock, so that its event falls in the window.
    stripe.Customer.create(
        email="someone@example.com", test_clock=billing.clock, **stripe_options()
    )
    lost_events(billing)
    [created] = billing.emulator.events("customer.created")[-1:]

    counts = check()

    assert counts.missed == 0
    assert not Event.objects.filter(id=created["id"]).exists()


def test_an_event_whose_processing_raised_is_processed_again(
    billing, pro, sent, check, monkeypatch
):
    schedule_end(pro.id)
    with monkeypatch.context() as broken:
        broken.setattr(webhooks, "apply_subscription", _raise)
        [attempt] = billing.emulator.deliver_webhooks(raise_errors=False)
    assert attempt["status_code"] == 500
    sent.clear()

    counts = check()

    assert (counts.missed, counts.failed_before, counts.processed) == (0, 1, 1)
    assert sent.names() == ["subscription_cancel_scheduled", "subscription_updated"]
    delivery, retry = attempts_of(attempt["event"])
    assert (delivery.processed, retry.processed) == (False, True)


def _raise(*args, **kwargs):
    raise RuntimeError("handler broke")


def test_the_check_gives_up_after_its_own_attempts_failed(
    billing, pro, check, monkeypatch, settings, caplog
):
    settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_MAX_ATTEMPTS = 2
    monkeypatch.setattr(webhooks, "apply_subscription", _raise)
    schedule_end(pro.id)
    [attempt] = billing.emulator.deliver_webhooks(raise_errors=False)

    first, second = check(), check()
    with caplog.at_level(logging.INFO):
        third = check()

    assert (first.failed, second.failed, third.failed) == (1, 1, 0)
    assert third.given_up == 1
    # Stripe's delivery, then the check's two attempts; none after them.
    assert len(attempts_of(attempt["event"])) == 3
    assert not Event.objects.filter(id=attempt["event"]).exists()


def test_the_last_failed_attempt_is_logged_as_an_error(
    billing, pro, check, monkeypatch, settings, caplog
):
    settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_MAX_ATTEMPTS = 1
    monkeypatch.setattr(webhooks, "apply_subscription", _raise)
    schedule_end(pro.id)
    [attempt] = billing.emulator.deliver_webhooks(raise_errors=False)

    with caplog.at_level(logging.WARNING, logger=pending_webhooks.__name__):
        check()

    [record] = [r for r in caplog.records if r.name == pending_webhooks.__name__]
    assert record.levelno == logging.ERROR
    assert attempt["event"] in record.getMessage()


def test_more_missed_events_than_the_threshold_mail_the_admins(
    billing, pro, endpoint_disabled, check, settings
):
    settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_THRESHOLD = 1
    settings.ADMINS = [("Admin", "admin@example.com")]
    schedule_end(pro.id)
    schedule_end(pro.id, at_period_end=False)
    lost_events(billing)
    missed = [e["id"] for e in billing.emulator.events("customer.subscription.updated")]

    counts = check()

    assert counts.alerted
    assert counts.processed == 2
    [message] = [m for m in mail.outbox if m.to == ["admin@example.com"]]
    assert "2 Stripe webhooks were missed" in message.subject
    for event_id in missed[-2:]:
        assert event_id in message.body


def test_missed_events_up_to_the_threshold_mail_nobody(
    billing, pro, endpoint_disabled, check, settings
):
    settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_THRESHOLD = 2
    settings.ADMINS = [("Admin", "admin@example.com")]
    schedule_end(pro.id)
    schedule_end(pro.id, at_period_end=False)
    lost_events(billing)

    counts = check()

    assert (counts.missed, counts.alerted) == (2, False)
    assert not [m for m in mail.outbox if m.to == ["admin@example.com"]]


def test_the_command_exits_non_zero_over_the_threshold(
    billing, pro, endpoint_disabled, settings
):
    settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_THRESHOLD = 0
    stripe.Subscription.cancel(pro.id, **stripe_options())
    lost_events(billing)
    out = StringIO()

    with (
        billing.capture(execute=True),
        pytest.raises(
            CommandError,
            match=r"^1 events were missed, more than 0; the admins were mailed\. Done",
        ),
    ):
        call_command("check_pending_webhooks", stdout=out)

    assert "(missed): processed" in out.getvalue()


def test_the_task_logs_an_error_over_the_threshold(
    billing, pro, endpoint_disabled, settings, caplog
):
    settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_THRESHOLD = 0
    stripe.Subscription.cancel(pro.id, **stripe_options())
    lost_events(billing)
    [deleted] = billing.emulator.events("customer.subscription.deleted")

    with billing.capture(execute=True), caplog.at_level(logging.ERROR):
        counts = check_pending_webhooks_task.delay().get()

    assert counts["alerted"] is True
    assert counts["missed_ids"] == [deleted["id"]]
    assert any(
        r.levelno == logging.ERROR and deleted["id"] in r.getMessage()
        for r in caplog.records
    )


def test_the_command_shows_progress_and_counts(billing, pro, endpoint_disabled):
    stripe.Subscription.cancel(pro.id, **stripe_options())
    lost_events(billing)
    [deleted] = billing.emulator.events("customer.subscription.deleted")
    out = StringIO()

    with billing.capture(execute=True):
        call_command("check_pending_webhooks", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[1].startswith("[page 1] listed ")
    assert (
        f"[1/1] {deleted['id']} customer.subscription.deleted (missed): processed"
        in lines
    )
    assert lines[-1].startswith("Done: listed ")
    assert lines[-1].endswith(
        "missed 1, failed before 0, processed 1, failed 0, given up 0"
    )


def test_a_dry_run_processes_nothing(billing, pro, endpoint_disabled, sent):
    stripe.Subscription.cancel(pro.id, **stripe_options())
    lost_events(billing)
    [deleted] = billing.emulator.events("customer.subscription.deleted")
    out = StringIO()

    with billing.capture(execute=True):
        call_command("check_pending_webhooks", "--dry-run", stdout=out)

    assert "(missed): would process" in out.getvalue()
    assert "would process 1" in out.getvalue()
    assert not Event.objects.filter(id=deleted["id"]).exists()
    assert not attempts_of(deleted["id"])
    assert sent.names() == []


def test_a_check_does_nothing_while_another_holds_the_lock(
    billing, pro, endpoint_disabled, check, monkeypatch, tmp_path
):
    share_run_locks(monkeypatch, tmp_path)
    stripe.Subscription.cancel(pro.id, **stripe_options())
    lost_events(billing)
    billing.emulator.reset_counts()

    with lock_held_elsewhere(pending_webhooks.LOCK_NAME) as other_run_has_it:
        counts = check()

    assert other_run_has_it
    assert counts.locked_out
    assert (counts.listed, billing.emulator.reads) == (0, 0)


class TestTheWindow:
    """Where the listing of events starts."""

    @pytest.fixture
    def registered_a_day_ago(self, webhook_endpoint):
        webhook_endpoint.created = timezone.now() - timedelta(days=1)
        webhook_endpoint.save()
        return webhook_endpoint

    def test_the_newest_stored_event_minus_the_overlap(
        self, billing, pro, settings, registered_a_day_ago
    ):
        settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_OVERLAP = 600
        newest = Event.objects.order_by("-djstripe_id").first()
        now = newest.created + timedelta(hours=2)

        assert window_start(now) == newest.created - timedelta(seconds=600)

    def test_an_event_dated_ahead_counts_as_now(
        self, billing, pro, settings, registered_a_day_ago
    ):
        settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_OVERLAP = 600
        newest = Event.objects.order_by("-djstripe_id").first()
        now = newest.created - timedelta(hours=2)  # an advanced test clock's event

        assert window_start(now) == now - timedelta(seconds=600)

    def test_not_before_the_endpoint_was_registered(
        self, billing, pro, settings, webhook_endpoint
    ):
        settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_OVERLAP = 2 * 24 * 60 * 60
        assert window_start(timezone.now()) == webhook_endpoint.created

    def test_with_no_event_stored_the_endpoint_registration(self, registered_a_day_ago):
        assert window_start(timezone.now()) == registered_a_day_ago.created

    def test_with_nothing_the_overlap_before_now(self, db, settings):
        settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_OVERLAP = 600
        now = timezone.now()
        assert window_start(now) == now - timedelta(seconds=600)


def test_every_site_schedules_the_check():
    entry = settings.CELERY_BEAT_SCHEDULE["check-pending-webhooks"]
    assert entry["task"] == check_pending_webhooks_task.name
    assert entry["task"] in app.tasks
    assert entry["schedule"] == settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_INTERVAL


def test_the_overlap_reaches_back_over_the_interval_between_checks():
    assert (
        settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_OVERLAP
        >= settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_INTERVAL
    )
