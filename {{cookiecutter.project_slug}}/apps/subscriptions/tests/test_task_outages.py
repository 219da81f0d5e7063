"""The scheduled runs that list Stripe (reconciliation, missed webhooks, coupons)
while Stripe is out: tried again a few times, then ended and logged, never a task
failure for the worker to report."""

import logging
from types import SimpleNamespace

import pytest
import stripe

from apps.subscriptions import tasks
from apps.subscriptions.stripe_client import describe_stripe_error

pytestmark = pytest.mark.django_db

RUNS = [
    tasks.reconcile_subscriptions_task,
    tasks.check_pending_webhooks_task,
    tasks.refresh_coupons_task,
]
# Every Stripe call fails for longer than the runs and their retries last.
OUTAGE = 1000


@pytest.fixture
def counted(monkeypatch):
    """The number of times each run started, retries included."""
    calls = []
    for task in RUNS:
        monkeypatch.setattr(task, "run", _counting(task.run, calls))
    return calls


def _counting(run, calls):
    def counted_run(*args, **kwargs):
        calls.append(1)
        return run(*args, **kwargs)

    return counted_run


class Retried(Exception):
    pass


class FakeTask:
    """What `_run_through_outages` uses of a bound Celery task."""

    name = "a.run"

    def __init__(self, retries):
        self.request = SimpleNamespace(retries=retries)
        self.retried = []

    def retry(self, exc, countdown):
        self.retried.append((type(exc), countdown))
        return Retried()


def stripe_out():
    raise stripe.APIConnectionError("no route to Stripe")


@pytest.mark.parametrize("retries, countdown", [(0, 60), (1, 120), (2, 240)])
def test_a_run_stopped_by_an_outage_is_tried_again_later(retries, countdown):
    task = FakeTask(retries)
    with pytest.raises(Retried):
        tasks._run_through_outages(task, stripe_out)
    assert task.retried == [(stripe.APIConnectionError, countdown)]


def test_an_outage_past_the_last_retry_ends_the_run():
    task = FakeTask(tasks.OUTAGE_RETRIES)
    assert tasks._run_through_outages(task, stripe_out) == {
        "error": describe_stripe_error(stripe.APIConnectionError(""))
    }
    assert task.retried == []


@pytest.mark.parametrize("status", [500, 429])
@pytest.mark.parametrize("task", RUNS, ids=lambda task: task.name.rsplit(".", 1)[-1])
def test_the_last_retry_ends_the_run_and_logs_why(
    task, status, stripe_emulator, counted, caplog
):
    stripe_emulator.fail_next("/v1/*", n=OUTAGE, status=status)
    with caplog.at_level(logging.ERROR, logger="apps.subscriptions.tasks"):
        result = task.apply(retries=tasks.OUTAGE_RETRIES)

    assert result.state == "SUCCESS"
    error = result.get()["error"]
    assert error.startswith("Stripe error: ")
    assert len(counted) == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"{task.name} gave up after {tasks.OUTAGE_RETRIES + 1} tries: {error}; "
        "the next scheduled run tries again"
    ]


@pytest.mark.parametrize("task", RUNS, ids=lambda task: task.name.rsplit(".", 1)[-1])
def test_a_run_that_outlasts_a_short_outage_returns_its_counts(task, stripe_emulator):
    stripe_emulator.fail_next("/v1/*", n=1, status=503)
    result = task.apply()
    assert result.state == "SUCCESS"
    assert "error" not in result.get()


def test_an_error_that_is_not_an_outage_is_not_retried(settings, stripe_emulator):
    # A refused key needs a person, not another try.
    settings.STRIPE_TEST_SECRET_KEY = "sk_live_" + "k" * 24
    result = tasks.refresh_coupons_task.apply(throw=False)
    assert result.state == "FAILURE"
    assert stripe_emulator.count("GET", "/v1/coupons") == 1
