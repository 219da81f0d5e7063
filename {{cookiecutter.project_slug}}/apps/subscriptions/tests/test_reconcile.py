"""Reconciliation by polling: what Stripe changed without a webhook reaching the site
is applied once, with the signals a webhook would have sent."""

from io import StringIO

import pytest
import stripe
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from djstripe.models import Subscription

from apps.subscriptions import reconcile
from apps.subscriptions.models import SubscriptionState
from apps.subscriptions.reconcile import reconcile_subscriptions
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.sync import LOCK_NAME as SEAT_SYNC_LOCK
from apps.subscriptions.tasks import reconcile_subscriptions_task
from config.celery_app import app

from .run_locks import lock_held_elsewhere, share_run_locks

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(billing):
    """Reconcile as the command would, committing (so signals are sent) at once."""

    def reconcile_now(**kwargs):
        with billing.capture(execute=True):
            return reconcile_subscriptions(**kwargs)

    return reconcile_now


def linked_id(subscriber):
    """The Stripe id of the subscription the subscriber is linked to, now."""
    subscriber.refresh_from_db()
    return subscriber.subscription.id if subscriber.subscription else None


def recorded_status(subscription_id):
    return SubscriptionState.objects.get(subscription_id=subscription_id).status


def test_a_site_the_webhooks_kept_in_step_has_nothing_to_apply(billing, pro, sent, run):
    billing.advance(days=32)  # a renewal, its webhooks delivered
    sent.clear()

    counts = run()

    assert (counts.checked, counts.unchanged, counts.changed_total) == (1, 1, 0)
    assert sent.names() == []


def test_a_subscription_canceled_in_stripe_is_applied_once(
    billing, pro, sent, run, subscriber
):
    stripe.Subscription.cancel(pro.id, **stripe_options())  # no webhook delivered

    counts = run()

    assert dict(counts.changed) == {"canceled": 1}
    assert (counts.checked, counts.unchanged, counts.failed) == (1, 0, 0)
    assert sent.names() == ["subscription_canceled", "subscription_updated"]
    assert linked_id(subscriber) is None
    assert recorded_status(pro.id) == "canceled"
    assert Subscription.objects.get(id=pro.id).stripe_data["status"] == "canceled"


def test_a_second_run_finds_nothing_to_do(billing, pro, sent, run):
    stripe.Subscription.cancel(pro.id, **stripe_options())
    run()
    sent.clear()

    counts = run()

    assert (counts.checked, counts.unchanged, counts.changed_total) == (1, 1, 0)
    assert sent.names() == []


def test_past_due_then_active_again_are_each_applied(billing, pro, sent, run):
    billing.emulator.set_card(billing.customer_id, "fail")
    billing.emulator.advance_clock(billing.clock, days=32)  # webhooks not delivered

    assert dict(run().changed) == {"past_due": 1}
    assert sent.names() == ["subscription_past_due", "subscription_updated"]
    billing.subscriber.refresh_from_db()
    assert billing.subscriber.has_active_subscription()  # past_due still counts

    sent.clear()
    billing.emulator.set_card(billing.customer_id, "success")
    invoice = stripe.Subscription.retrieve(pro.id, **stripe_options()).latest_invoice
    stripe.Invoice.pay(invoice, **stripe_options())

    assert dict(run().changed) == {"active": 1}
    assert sent.names() == ["subscription_activated", "subscription_updated"]


def test_a_scheduled_end_is_an_update(billing, pro, sent, run):
    stripe.Subscription.modify(pro.id, cancel_at_period_end=True, **stripe_options())

    assert dict(run().changed) == {"updated": 1}
    assert sent.names() == ["subscription_cancel_scheduled", "subscription_updated"]


def test_a_subscription_never_seen_is_created_and_linked(
    billing, stripe_catalogue, sent, run, subscriber
):
    # As when Checkout's webhook was lost and the subscriber never came back.
    created = stripe.Subscription.create(
        customer=billing.customer_id,
        items=[{"price": stripe_catalogue["pro"].id}],
        **stripe_options(),
    )

    counts = run()

    assert dict(counts.changed) == {"new": 1}
    assert sent.names() == ["subscription_created", "subscription_activated"]
    assert linked_id(subscriber) == created.id


def test_a_lost_link_is_set_again_without_a_signal(billing, pro, sent, run, subscriber):
    type(subscriber).objects.filter(pk=subscriber.pk).update(subscription=None)

    counts = run()

    assert dict(counts.changed) == {"link": 1}
    assert sent.names() == []
    assert linked_id(subscriber) == pro.id


def test_a_second_live_subscription_is_ended_not_linked(
    billing, pro, stripe_catalogue, run, subscriber
):
    second = stripe.Subscription.create(
        customer=billing.customer_id,
        items=[{"price": stripe_catalogue["starter"].id}],
        **stripe_options(),
    )
    run()  # canceled and refunded, as its webhook would have had it
    assert linked_id(subscriber) == pro.id
    assert stripe.Subscription.retrieve(second.id, **stripe_options()).status == (
        "canceled"
    )

    counts = run()

    assert (counts.unchanged, counts.changed_total) == (2, 0)
    assert linked_id(subscriber) == pro.id


def test_a_stale_local_copy_is_synced_without_a_signal(billing, pro, sent, run):
    row = Subscription.objects.get(id=pro.id)
    row.stripe_data = {**row.stripe_data, "latest_invoice": "in_stale"}
    row.save()

    counts = run()

    assert dict(counts.changed) == {"mirror": 1}
    assert sent.names() == []
    assert Subscription.objects.get(id=pro.id).stripe_data["latest_invoice"] != (
        "in_stale"
    )


def test_subscriptions_of_unknown_customers_are_counted_and_left_alone(
    billing, pro, stripe_catalogue, sent, run
):
    stranger = stripe.Customer.create(
        email="stranger@example.com", payment_method="pm_card_visa", **stripe_options()
    )
    theirs = stripe.Subscription.create(
        customer=stranger.id,
        items=[{"price": stripe_catalogue["pro"].id}],
        **stripe_options(),
    )

    counts = run()

    assert (counts.checked, counts.unknown, counts.unchanged) == (2, 1, 1)
    assert sent.names() == []
    assert not Subscription.objects.filter(id=theirs.id).exists()


def test_a_changed_subscription_costs_one_list_request_and_no_retrieve(
    billing, pro, run
):
    stripe.Subscription.cancel(pro.id, **stripe_options())
    billing.emulator.reset_counts()

    run()

    assert billing.emulator.count("GET", "/v1/subscriptions") == 1
    assert billing.emulator.count(path=f"/v1/subscriptions/{pro.id}") == 0
    assert billing.emulator.writes == 0


def test_a_dry_run_reports_and_writes_nothing(billing, pro, sent, subscriber):
    stripe.Subscription.cancel(pro.id, **stripe_options())
    out = StringIO()

    with billing.capture(execute=True):
        call_command("reconcile_subscriptions", "--dry-run", stdout=out)

    output = out.getvalue()
    assert f"{pro.id}: active -> canceled [canceled]" in output
    assert "would send subscription_canceled, subscription_updated" in output
    assert "would change 1 (canceled 1)" in output
    assert sent.names() == []
    assert linked_id(subscriber) == pro.id
    assert recorded_status(pro.id) == "active"


def test_the_command_shows_progress_and_counts(billing, pro):
    stripe.Subscription.cancel(pro.id, **stripe_options())
    out = StringIO()

    with billing.capture(execute=True):
        call_command("reconcile_subscriptions", stdout=out)

    lines = out.getvalue().splitlines()
    assert f"{pro.id}: active -> canceled [canceled]: sent" in out.getvalue()
    assert any(line.startswith("[page 1] checked 1") for line in lines)
    assert lines[-1] == (
        "Done: checked 1, unchanged 0, changed 1 (canceled 1), customers unknown 0, "
        "changed meanwhile 0, failed 0"
    )


def test_a_failure_is_counted_the_others_applied_and_the_exit_is_non_zero(
    billing, pro, stripe_catalogue, run, monkeypatch
):
    stripe.Subscription.cancel(pro.id, **stripe_options())
    original = reconcile.apply_subscription

    def broken_for_pro(data, **kwargs):
        if data.id == pro.id:
            raise RuntimeError("database went away")
        return original(data, **kwargs)

    monkeypatch.setattr(reconcile, "apply_subscription", broken_for_pro)
    new = stripe.Subscription.create(
        customer=billing.customer_id,
        items=[{"price": stripe_catalogue["starter"].id}],
        **stripe_options(),
    )
    out = StringIO()

    with (
        billing.capture(execute=True),
        pytest.raises(CommandError) as error,
    ):
        call_command("reconcile_subscriptions", stdout=out)

    assert str(error.value).startswith("Done with failures: checked 2, ")
    assert "changed 1 (new 1)" in str(error.value)
    assert str(error.value).endswith("failed 1")
    assert f"{pro.id}: active -> canceled [canceled]: RuntimeError: database" in (
        out.getvalue()
    )
    # Not by the failed apply: the new one, found beside pro's link, checked pro in
    # Stripe, found it ended and took the link (duplicates.settle_duplicate).
    assert recorded_status(pro.id) == "canceled"
    assert linked_id(billing.subscriber) == new.id


def test_a_listed_copy_older_than_what_webhooks_applied_is_not_applied(
    billing, pro, sent, monkeypatch
):
    stripe.Subscription.modify(pro.id, cancel_at_period_end=True, **stripe_options())
    find_drift = reconcile._find_drift

    def then_webhooks(page, counts):
        drifted = find_drift(page, counts)
        # After the page was read, the webhook comes in, and the subscriber calls
        # the cancellation off: the listed copy (set to cancel) is now outdated.
        billing.emulator.deliver_webhooks()
        stripe.Subscription.modify(
            pro.id, cancel_at_period_end=False, **stripe_options()
        )
        billing.emulator.deliver_webhooks()
        return drifted

    monkeypatch.setattr(reconcile, "_find_drift", then_webhooks)

    with billing.capture(execute=True):
        counts = reconcile_subscriptions()

    assert (counts.skipped, counts.changed_total) == (1, 0)
    assert sent.names() == [
        "subscription_cancel_scheduled",
        "subscription_updated",
        "subscription_cancellation_undone",
        "subscription_updated",
    ]
    assert not Subscription.objects.get(id=pro.id).stripe_data["cancel_at_period_end"]


def test_a_run_does_nothing_while_another_holds_the_lock(
    billing, pro, run, monkeypatch, tmp_path
):
    share_run_locks(monkeypatch, tmp_path)
    stripe.Subscription.cancel(pro.id, **stripe_options())
    billing.emulator.reset_counts()

    with lock_held_elsewhere(reconcile.LOCK_NAME) as other_run_has_it:
        counts = run()

    assert other_run_has_it
    assert counts.locked_out
    assert (counts.checked, billing.emulator.reads) == (0, 0)


def test_the_seat_sync_lock_does_not_hold_up_reconciliation(
    billing, pro, run, monkeypatch, tmp_path
):
    share_run_locks(monkeypatch, tmp_path)
    with lock_held_elsewhere(SEAT_SYNC_LOCK) as seat_sync_has_it:
        counts = run()

    assert seat_sync_has_it
    assert (counts.locked_out, counts.checked) == (False, 1)


def test_the_task_returns_the_counts(billing, pro):
    stripe.Subscription.cancel(pro.id, **stripe_options())
    with billing.capture(execute=True):
        counts = reconcile_subscriptions_task.delay().get()
    assert counts["changed"] == {"canceled": 1}
    assert counts["failed"] == 0


def test_every_site_schedules_the_reconciliation():
    entry = settings.CELERY_BEAT_SCHEDULE["reconcile-subscriptions"]
    assert entry["task"] == reconcile_subscriptions_task.name
    assert entry["task"] in app.tasks
    assert entry["schedule"] == settings.SUBSCRIPTIONS_RECONCILE_INTERVAL
