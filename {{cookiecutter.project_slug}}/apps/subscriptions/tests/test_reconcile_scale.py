"""A reconciliation's cost follows the pages it lists and the subscriptions that
changed: the unchanged ones add nothing beyond their page."""

import pytest

from apps.subscriptions.tests.reconcile_scenario import (
    create_in_stripe,
    drift,
    mirror_in_bulk,
)
from apps.subscriptions.tests.seat_scenario import (
    create_price,
    make_subscriber,
    subscribe,
)
from benchmarks.reconcile import measure_run

pytestmark = pytest.mark.django_db

CHANGED = 3
# Small pages, so that a few dozen subscriptions make several of them.
PAGE_SIZE = 10


@pytest.fixture
def held(stripe_emulator):
    """`held(count)`: `count` more subscriptions in Stripe that the site holds; the
    first call's first CHANGED ones are returned, to drift."""
    price = create_price()
    template = make_subscriber()
    subscribe(template, price)
    total = [1]

    def more(count):
        made = create_in_stripe(count, price)
        mirror_in_bulk(template, made, start=total[0])
        total[0] += count
        return [subscription.id for _, subscription in made[:CHANGED]]

    return more


def test_stripe_requests_and_queries_do_not_grow_with_unchanged_subscriptions(
    held, stripe_emulator
):
    drifting = held(19)  # 20 with the first subscriber's: 2 pages
    drift(drifting, round_=0)
    few = measure_run(stripe_emulator, 20, CHANGED, page_size=PAGE_SIZE)
    few_unchanged = measure_run(stripe_emulator, 20, 0, page_size=PAGE_SIZE)
    drift(drifting, round_=1)  # back as they were, to drift the same way again
    measure_run(stripe_emulator, 20, CHANGED, page_size=PAGE_SIZE)
    held(100)  # 12 pages
    drift(drifting, round_=0)
    many = measure_run(stripe_emulator, 120, CHANGED, page_size=PAGE_SIZE)
    many_unchanged = measure_run(stripe_emulator, 120, 0, page_size=PAGE_SIZE)

    assert few.changed == many.changed == {"updated": CHANGED}
    assert (few.pages, many.pages) == (2, 12)
    # One request per page; applying a listed subscription retrieves nothing.
    assert (few.list_requests, many.list_requests) == (2, 12)
    assert few.other_requests == many.other_requests == 0
    # The changes cost the same among 20 as among 120 ...
    assert few.queries - few_unchanged.queries == (
        many.queries - many_unchanged.queries
    )
    # ... and the unchanged ones a few queries per page, none each.
    per_page = (many_unchanged.queries - few_unchanged.queries) / (12 - 2)
    assert per_page <= 4
    # Beyond its pages a run costs only its lock: on PostgreSQL an advisory lock,
    # taken and released (2 queries), elsewhere none.
    assert few_unchanged.queries - per_page * 2 in (0, 2)
    assert few_unchanged.changed == many_unchanged.changed == {}
