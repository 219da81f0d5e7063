"""`manage.py end_subscriptions`: ending what Stripe still bills past its end date."""

from datetime import timedelta
from io import StringIO

import pytest
import stripe
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.subscriptions.stripe_client import stripe_options

pytestmark = pytest.mark.django_db

DAY = 86400


@pytest.fixture
def overdue(billing_at, stripe_catalogue, sent):
    """A subscription set to end two days into a test clock that started ten days
    ago: past its end by the local rows, still billed by Stripe's (frozen) clock."""
    start = int((timezone.now() - timedelta(days=10)).timestamp())
    billing = billing_at(start)
    subscription = billing.subscribe(stripe_catalogue["pro"])
    stripe.Subscription.modify(
        subscription.id, cancel_at=start + 2 * DAY, **stripe_options()
    )
    billing.deliver()
    sent.clear()
    return billing


def run(*args) -> str:
    out = StringIO()
    call_command("end_subscriptions", *args, stdout=out)
    return out.getvalue()


def test_it_ends_a_subscription_past_its_end_date(overdue, sent):
    subscription_id = overdue.subscriber.subscription.id
    with overdue.capture(execute=True):
        output = run()
    assert f"[1/1] {subscription_id}: ended" in output
    assert (
        "Done: checked 1, ended 1, already ended 0, no longer due 0, failed 0" in output
    )
    assert overdue.emulator.get("subscription", subscription_id)["status"] == "canceled"
    overdue.subscriber.refresh_from_db()
    assert overdue.subscriber.subscription is None
    assert sent.names().count("subscription_canceled") == 1


def test_running_it_again_changes_nothing(overdue):
    run()
    overdue.emulator.reset_counts()
    output = run()
    assert output.startswith("0 subscription(s) past their end date")
    assert overdue.emulator.count() == 0


def test_a_dry_run_cancels_nothing(overdue):
    subscription_id = overdue.subscriber.subscription.id
    output = run("--dry-run")
    assert f"{subscription_id}: would end" in output
    assert "would end 1" in output
    assert overdue.emulator.get("subscription", subscription_id)["status"] == "active"
    overdue.subscriber.refresh_from_db()
    assert overdue.subscriber.subscription_id is not None


def test_one_that_stripe_no_longer_ends_is_only_synced(overdue):
    subscription_id = overdue.subscriber.subscription.id
    stripe.Subscription.modify(subscription_id, cancel_at="", **stripe_options())
    output = run()
    assert f"{subscription_id}: no longer due" in output
    assert overdue.emulator.get("subscription", subscription_id)["status"] == "active"
    overdue.subscriber.refresh_from_db()
    assert overdue.subscriber.subscription.stripe_data["cancel_at"] is None


def test_a_failure_is_one_line_and_exits_non_zero(overdue, monkeypatch):
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    overdue.emulator.fail_next("/v1/subscriptions/*", status=500, method="GET")
    out = StringIO()
    with pytest.raises(CommandError, match="failed 1"):
        call_command("end_subscriptions", stdout=out)
    [line] = [line for line in out.getvalue().splitlines() if "Stripe error" in line]
    assert line.startswith("[1/1] ")
