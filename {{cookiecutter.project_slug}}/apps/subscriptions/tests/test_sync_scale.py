"""A run's Stripe calls follow the subscribers that differ, not the ones in step."""

import pytest

from apps.subscriptions.sync import sync_subscriptions
from apps.subscriptions.tests.seat_scenario import (
    bulk_synced_subscribers,
    create_price,
    fixed_seat_counts,
    make_subscriber,
    set_seats,
    subscribe,
)
from benchmarks.seat_sync import measure_run

pytestmark = pytest.mark.django_db

CHANGED = 5


@pytest.fixture(autouse=True)
def per_seat(settings):
    settings.SUBSCRIPTIONS_PER_SEAT = True


@pytest.fixture
def changed_subscribers(stripe_emulator):
    with fixed_seat_counts():
        price = create_price()
        subscribers = [make_subscriber(2) for _ in range(CHANGED)]
        for subscriber in subscribers:
            subscribe(subscriber, price)
        yield subscribers


def test_stripe_requests_do_not_grow_with_subscribers_in_step(
    changed_subscribers, stripe_emulator
):
    bulk_synced_subscribers(changed_subscribers[0], 30)
    few = measure_run(stripe_emulator, changed_subscribers, 35, seats=3, repeat=1)
    bulk_synced_subscribers(changed_subscribers[0], 270, start=30)
    many = measure_run(stripe_emulator, changed_subscribers, 305, seats=6, repeat=1)

    assert few.updated == many.updated == CHANGED
    assert few.writes == many.writes == CHANGED
    assert few.reads == many.reads == 0
    # Here `get_quantity()` makes no query, so a chunk of subscribers in step costs
    # the one query that reads it; all of them fit in one chunk.
    assert few.queries == many.queries


def test_subscribers_are_read_in_chunks(changed_subscribers, stripe_emulator):
    for subscriber in changed_subscribers:
        set_seats(subscriber, 3)
    stripe_emulator.reset_counts()

    counts = sync_subscriptions(chunk_size=2)

    assert (counts.checked, counts.updated) == (CHANGED, CHANGED)
    assert stripe_emulator.writes == CHANGED
