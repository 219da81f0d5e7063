"""Seat counts reach Stripe through `sync_subscriptions`: one write for each
subscriber whose quantity differs, nothing for the others."""

import threading

import pytest
import stripe
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from djstripe.models import Subscription, SubscriptionItem

from apps.subscriptions import sync
from apps.subscriptions.stripe_client import api_key, stripe_options
from apps.subscriptions.sync import (
    LOCK_NAME,
    SeatSyncDisabled,
    pending_subscribers,
    sync_subscriptions,
)
from apps.subscriptions.tasks import sync_subscriber_task, sync_subscriptions_task
from apps.subscriptions.tests.run_locks import lock_held_elsewhere, share_run_locks
from apps.subscriptions.tests.seat_scenario import (
    SEATS,
    create_price,
    fixed_seat_counts,
    make_subscriber,
    set_seats,
    stripe_quantity,
    subscribe,
    tasks_queued_not_run,
)
from apps.subscriptions.transitions import apply_subscription

pytestmark = pytest.mark.django_db

UPDATES = "/v1/subscriptions/*"


@pytest.fixture(autouse=True)
def per_seat(settings):
    settings.SUBSCRIPTIONS_PER_SEAT = True


@pytest.fixture(autouse=True)
def seats_from_the_scenario():
    with fixed_seat_counts():
        yield


@pytest.fixture
def price(stripe_emulator):
    return create_price()


@pytest.fixture
def subscribed(price, stripe_emulator):
    """Make a subscriber with `seats` seats, subscribed and in step with Stripe."""

    def make(seats=2, **kwargs):
        subscriber = make_subscriber(seats)
        subscribe(subscriber, kwargs.pop("price", price), **kwargs)
        return subscriber

    yield make
    stripe_emulator.clear_faults()


def is_pending(subscriber) -> bool:
    return pending_subscribers().filter(pk=subscriber.pk).exists()


def stripe_writes(stripe_emulator) -> int:
    return stripe_emulator.count("POST", UPDATES)


def test_a_new_seat_reaches_stripe_with_one_write(subscribed, stripe_emulator):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)
    stripe_emulator.reset_counts()

    counts = sync_subscriptions()

    assert (counts.checked, counts.updated) == (1, 1)
    assert stripe_quantity(subscriber) == 3
    assert stripe_writes(stripe_emulator) == 1


def test_a_removed_seat_reaches_stripe(subscribed):
    subscriber = subscribed(seats=3)
    set_seats(subscriber, 2)

    assert sync_subscriptions().updated == 1
    assert stripe_quantity(subscriber) == 2


def test_the_answer_is_synced_into_dj_stripe_and_the_subscriber_is_in_step(
    subscribed,
):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 4)

    sync_subscriptions()

    subscriber.refresh_from_db()
    item_id = subscriber.subscription.stripe_data["items"]["data"][0]["id"]
    assert SubscriptionItem.objects.get(id=item_id).quantity == 4
    assert subscriber.last_synced_with_stripe == subscriber.billing_details_last_changed
    assert not is_pending(subscriber)


def test_no_write_when_stripe_already_has_the_quantity(subscribed, stripe_emulator):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)
    set_seats(subscriber, 2)
    stripe_emulator.reset_counts()

    counts = sync_subscriptions()

    assert (counts.checked, counts.unchanged, counts.updated) == (1, 1, 0)
    assert stripe_writes(stripe_emulator) == 0
    assert not is_pending(subscriber)


def test_subscribers_in_step_cost_no_stripe_call(subscribed, stripe_emulator):
    subscribed(seats=2)
    changed_and_back = subscribed(seats=2)
    set_seats(changed_and_back, 3)
    set_seats(changed_and_back, 2)
    stripe_emulator.reset_counts()

    counts = sync_subscriptions()

    assert (counts.checked, counts.unchanged, counts.updated) == (2, 2, 0)
    assert stripe_emulator.reads + stripe_emulator.writes == 0
    assert not is_pending(changed_and_back)


def set_quantity_outside_the_site(subscriber, quantity):
    """Change the item's quantity in Stripe (the portal, the dashboard) and mirror
    it locally, as its webhook does; the subscriber's seats do not change."""
    stripe.Subscription.modify(
        subscriber.subscription.id,
        items=[{"id": stripe_item(subscriber)["id"], "quantity": quantity}],
        **stripe_options(),
    )
    apply_subscription(subscriber.subscription.id)


def stripe_item(subscriber):
    subscriber.refresh_from_db()
    return subscriber.subscription.stripe_data["items"]["data"][0]


def test_a_quantity_lowered_outside_the_site_is_put_back_with_one_write(
    subscribed, stripe_emulator
):
    subscriber = subscribed(seats=11)
    set_quantity_outside_the_site(subscriber, 1)
    assert stripe_item(subscriber)["quantity"] == 1
    assert not is_pending(subscriber)
    stripe_emulator.reset_counts()

    counts = sync_subscriptions()

    assert (counts.checked, counts.updated) == (1, 1)
    assert (stripe_emulator.writes, stripe_emulator.reads) == (1, 0)
    assert stripe_quantity(subscriber) == 11
    assert stripe_item(subscriber)["quantity"] == 11


def test_only_the_subscribers_that_differ_reach_stripe(subscribed, stripe_emulator):
    raised, in_step = subscribed(seats=3), subscribed(seats=3)
    set_quantity_outside_the_site(raised, 7)
    stripe_emulator.reset_counts()

    counts = sync_subscriptions()

    assert (counts.checked, counts.updated, counts.unchanged) == (2, 1, 1)
    assert stripe_writes(stripe_emulator) == 1
    assert (stripe_quantity(raised), stripe_quantity(in_step)) == (3, 3)


def test_a_subscriber_never_synced_is_checked(subscribed):
    subscriber = subscribed(seats=2)
    type(subscriber).objects.filter(pk=subscriber.pk).update(
        last_synced_with_stripe=None
    )

    counts = sync_subscriptions()

    assert (counts.checked, counts.unchanged) == (1, 1)


def test_seat_changes_during_a_trial_are_synced(subscribed):
    subscriber = subscribed(seats=2, trial_days=14)
    assert subscriber.subscription.stripe_data["status"] == "trialing"
    set_seats(subscriber, 3)

    assert sync_subscriptions().updated == 1
    assert stripe_quantity(subscriber) == 3


def test_a_canceled_subscription_is_not_synced(subscribed):
    subscriber = subscribed(seats=2)
    canceled = stripe.Subscription.cancel(
        subscriber.subscription.id, **stripe_options()
    )
    Subscription.sync_from_stripe_data(canceled, api_key=api_key())
    set_seats(subscriber, 3)

    assert sync_subscriptions().checked == 0
    assert stripe_quantity(subscriber) == 2


def test_proration_behaviour_comes_from_the_setting(
    subscribed, settings, stripe_emulator
):
    prorated = subscribed(seats=2)
    settings.SUBSCRIPTIONS_PRORATION_BEHAVIOR = "create_prorations"
    set_seats(prorated, 3)
    sync_subscriptions()
    not_prorated = subscribed(seats=2)
    settings.SUBSCRIPTIONS_PRORATION_BEHAVIOR = "none"
    set_seats(not_prorated, 3)
    sync_subscriptions()

    def prorations(subscriber):
        private = stripe_emulator.engine.private(subscriber.subscription.id)
        return private.get("pending_prorations", [])

    assert prorations(prorated)
    assert not prorations(not_prorated)


def test_a_stripe_error_is_counted_and_the_others_go_on(subscribed, stripe_emulator):
    failing, working = subscribed(seats=2), subscribed(seats=2)
    set_seats(failing, 3)
    set_seats(working, 3)
    stripe_emulator.fail_next(
        f"/v1/subscriptions/{failing.subscription.id}", n=10, method="POST"
    )

    counts = sync_subscriptions()

    assert (counts.checked, counts.updated, counts.failed) == (2, 1, 1)
    assert stripe_quantity(working) == 3
    assert stripe_quantity(failing) == 2
    assert is_pending(failing)


def test_a_failed_subscriber_is_synced_by_the_next_run(subscribed, stripe_emulator):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)
    stripe_emulator.fail_next(f"/v1/subscriptions/{subscriber.subscription.id}", n=10)
    assert sync_subscriptions().failed == 1
    stripe_emulator.clear_faults()

    assert sync_subscriptions().updated == 1
    assert stripe_quantity(subscriber) == 3


def test_a_subscription_without_an_active_products_price_is_skipped_and_stays_pending(
    subscribed, stripe_emulator
):
    other_price = create_price("prod_not_in_active_products")
    subscriber = subscribed(seats=2, price=other_price)
    set_seats(subscriber, 3)
    stripe_emulator.reset_counts()

    counts = sync_subscriptions()

    assert (counts.checked, counts.skipped) == (1, 1)
    assert stripe_writes(stripe_emulator) == 0
    assert is_pending(subscriber)


def wrap_stripe_update(monkeypatch, before_update):
    """Run `before_update()` while a sync is talking to Stripe, just before it writes."""
    original = stripe.Subscription.modify

    def modify(*args, **kwargs):
        before_update()
        return original(*args, **kwargs)

    monkeypatch.setattr(stripe.Subscription, "modify", modify)


def test_a_change_that_lands_while_stripe_answers_goes_out_in_the_same_run(
    subscribed, monkeypatch, stripe_emulator
):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)

    def join_meanwhile():
        if SEATS[subscriber.pk] == 3:
            set_seats(subscriber, 4)

    wrap_stripe_update(monkeypatch, join_meanwhile)
    stripe_emulator.reset_counts()

    counts = sync_subscriptions()

    assert (counts.checked, counts.updated) == (1, 1)
    assert stripe_writes(stripe_emulator) == 2
    assert stripe_quantity(subscriber) == 4
    assert not is_pending(subscriber)


def in_another_thread(change) -> Exception | None:
    """Run `change` in a transaction of another connection, as a request would;
    what it raised, if anything."""
    raised = []

    def run():
        try:
            with transaction.atomic():
                change()
        except Exception as error:  # reported to the test
            raised.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the change waited on the sync"
    return raised[0] if raised else None


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_stripe_answers(subscribed, monkeypatch):
    with tasks_queued_not_run():
        subscriber = subscribed(seats=2)
        set_seats(subscriber, 3)
    seen = []

    def change_seats_meanwhile():
        if not seen:
            seen.append(connection.in_atomic_block)
            seen.append(in_another_thread(lambda: set_seats(subscriber, 4)))

    wrap_stripe_update(monkeypatch, change_seats_meanwhile)
    with tasks_queued_not_run():
        counts = sync_subscriptions()

    assert seen == [False, None]
    # The change that landed while Stripe answered went out in the same run.
    assert (counts.updated, stripe_quantity(subscriber)) == (1, 4)
    assert not is_pending(subscriber)


def test_two_runs_at_once_make_the_change_once(
    subscribed, monkeypatch, stripe_emulator
):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)
    overlapping = []

    def another_run():
        if not overlapping:
            overlapping.append(None)
            overlapping[0] = sync_subscriptions()

    wrap_stripe_update(monkeypatch, another_run)
    updates = len(stripe_emulator.events("customer.subscription.updated"))

    sync_subscriptions()

    assert overlapping[0].updated == 1
    # Both sent the same request under the same idempotency key: one change.
    assert len(stripe_emulator.events("customer.subscription.updated")) == updates + 1
    assert stripe_quantity(subscriber) == 3
    assert not is_pending(subscriber)


@pytest.fixture
def shared_lock(monkeypatch, tmp_path):
    share_run_locks(monkeypatch, tmp_path)


def test_a_run_does_nothing_while_another_holds_the_lock(
    subscribed, shared_lock, stripe_emulator
):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)
    stripe_emulator.reset_counts()

    with lock_held_elsewhere(LOCK_NAME) as other_run_has_it:
        counts = sync_subscriptions()

    assert other_run_has_it
    assert counts.locked_out
    assert (counts.checked, stripe_emulator.reads) == (0, 0)
    assert is_pending(subscriber)


def test_the_lock_is_free_again_after_a_run(subscribed, shared_lock):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)
    with lock_held_elsewhere(LOCK_NAME) as other_run_had_it:
        pass

    counts = sync_subscriptions()

    assert other_run_had_it
    assert (counts.locked_out, counts.updated) == (False, 1)


def test_a_dry_run_writes_nothing(subscribed, stripe_emulator):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)
    stripe_emulator.reset_counts()

    counts = sync_subscriptions(dry_run=True)

    assert counts.updated == 1
    assert stripe_writes(stripe_emulator) == 0
    assert is_pending(subscriber)


def test_nothing_is_synced_when_per_seat_billing_is_off(settings):
    settings.SUBSCRIPTIONS_PER_SEAT = False

    with pytest.raises(SeatSyncDisabled):
        sync_subscriptions()
    with pytest.raises(CommandError, match="Per-seat billing is off"):
        call_command("sync_subscriptions")


def test_the_command_shows_what_changed_and_counts(subscribed, capsys):
    subscribed(seats=2)
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)

    call_command("sync_subscriptions")

    out = capsys.readouterr().out
    assert "2 subscriber(s) to check" in out
    assert "[2/2]" in out
    assert "updated, 2 -> 3 seats" in out
    # A subscriber in step prints no line of its own.
    assert "[1/2]" not in out
    assert "checked 2, updated 1, unchanged 1, skipped 0, failed 0" in out


def test_the_command_dry_run_says_what_would_change(subscribed, capsys):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)

    call_command("sync_subscriptions", "--dry-run")

    out = capsys.readouterr().out
    assert "dry run" in out
    assert "would update 1" in out
    assert stripe_quantity(subscriber) == 2


def test_the_command_fails_when_a_subscriber_failed(subscribed, stripe_emulator):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)
    stripe_emulator.fail_next(f"/v1/subscriptions/{subscriber.subscription.id}", n=10)

    with pytest.raises(CommandError, match="failed 1"):
        call_command("sync_subscriptions")


def test_the_task_runs_the_sync_and_returns_its_counts(subscribed):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)

    result = sync_subscriptions_task.delay().get()

    assert result["updated"] == 1
    assert stripe_quantity(subscriber) == 3


def test_the_queued_sync_of_one_subscriber_tries_again_after_a_failure(
    subscribed, stripe_emulator
):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)
    # Every try of the first attempt fails, stripe-python's own retries included.
    tries = stripe.max_network_retries + 1
    stripe_emulator.fail_next(UPDATES, n=tries, method="POST")
    stripe_emulator.reset_counts()

    # Run here, the retry runs at once too (a worker would wait a minute).
    sync_subscriber_task.apply(args=[subscriber.pk], throw=False)

    assert stripe_writes(stripe_emulator) == tries + 1
    assert stripe_quantity(subscriber) == 3
    assert not is_pending(subscriber)


def test_a_copy_read_before_another_sync_wrote_makes_no_stripe_call(
    subscribed, stripe_emulator
):
    subscriber = subscribed(seats=2)
    set_seats(subscriber, 3)
    stale = (
        type(subscriber).objects.select_related("subscription").get(pk=subscriber.pk)
    )
    sync_subscriptions()
    stripe_emulator.reset_counts()

    result = sync.sync_subscriber(stale)

    assert result.outcome == sync.Outcome.UNCHANGED
    assert stripe_emulator.reads + stripe_emulator.writes == 0
