"""Benchmark: one seat-sync run over 100 subscribers, then over 10,000, 100 changed.

    python -m benchmarks.seat_sync [--total 10000] [--changed 100]

Runs against a fresh in-memory SQLite database and the in-process Stripe emulator
(no server, no network), and prints, for each run: the Stripe writes and reads
(counted by the emulator), the SQL queries, the peak Python memory (tracemalloc)
and the time, then the ratio of the two times. A run's Stripe requests should be
the same whatever the number of subscribers in step; reading those (500 at a time,
their `get_quantity()` here making no query) is all they add.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass


@dataclass
class RunFigures:
    total: int
    changed: int
    updated: int
    writes: int
    reads: int
    queries: int
    peak_kib: float
    seconds: float


def _one_run(emulator, changed_subscribers, seats: int, trace_memory: bool):
    from django.db import connection

    from apps.subscriptions.sync import sync_subscriptions
    from apps.subscriptions.tests.seat_scenario import set_seats

    for subscriber in changed_subscribers:
        set_seats(subscriber, seats)
    emulator.reset_counts()
    if trace_memory:
        tracemalloc.start()
    try:
        queries = []
        # Counted as they run: Django's query log keeps only the last 9,000.
        with connection.execute_wrapper(
            lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)
        ):
            # CPU time: the run is CPU-bound here (the emulator is in-process), and
            # other processes on the machine do not blur it as they blur wall time.
            started = time.process_time()
            counts = sync_subscriptions()
            seconds = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1] if trace_memory else 0
    finally:
        tracemalloc.stop()
    return counts, emulator.writes, emulator.reads, len(queries), peak, seconds


def measure_run(
    emulator, changed_subscribers, total: int, seats: int, repeat: int = 3
) -> RunFigures:
    """Sync runs that each give every changed subscriber new seats (from `seats` on).

    The time is the median of `repeat` runs; the peak memory comes from one more run
    under tracemalloc, which slows Python down too much to time it in the same run.
    """
    timed = [
        _one_run(emulator, changed_subscribers, seats + n, trace_memory=False)
        for n in range(repeat)
    ]
    counts, writes, reads, queries, _, _ = timed[0]
    peak = _one_run(emulator, changed_subscribers, seats + repeat, True)[4]
    return RunFigures(
        total=total,
        changed=len(changed_subscribers),
        updated=counts.updated,
        writes=writes,
        reads=reads,
        queries=queries,
        peak_kib=peak / 1024,
        seconds=statistics.median(run[5] for run in timed),
    )


def setup():
    """Django on a fresh in-memory test database, stripe-python on the in-process
    emulator; returns the emulator."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_test_environment

    settings.SUBSCRIPTIONS_PER_SEAT = True
    # Tables straight from the models: the benchmark measures the sync, not migrations.
    settings.MIGRATION_MODULES = {
        app.label: None for app in django.apps.apps.get_app_configs()
    }
    setup_test_environment()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, autoclobber=True)

    import stripe
    from stripe_emulator.pytest_plugin import TEST_API_KEY, StripeEmulator

    emulator = StripeEmulator()
    emulator.client.retry_sleep = False
    stripe.default_http_client = emulator.client
    stripe.api_key = TEST_API_KEY
    return emulator


def run(total: int, changed: int, out=sys.stdout) -> tuple[RunFigures, RunFigures]:
    """Run both measurements in this process; returns (small, large) figures."""
    emulator = setup()
    import logging

    from apps.subscriptions.tests.seat_scenario import (
        bulk_synced_subscribers,
        create_price,
        fixed_seat_counts,
        make_subscriber,
        subscribe,
        tasks_queued_not_run,
    )

    logging.disable(logging.INFO)
    # Seat changes queue their own syncs, as on the site; no worker runs them here,
    # so each measured run finds the changes still to do.
    with fixed_seat_counts(), tasks_queued_not_run():
        price = create_price()
        subscribers = []
        for _ in range(changed):
            subscriber = make_subscriber(2)
            subscribe(subscriber, price)
            subscribers.append(subscriber)
        # Warm up (imports, caches) so the first measured run is not the cold one.
        _one_run(emulator, subscribers, 3, trace_memory=False)
        small = measure_run(emulator, subscribers, changed, seats=4)
        bulk_synced_subscribers(subscribers[0], total - changed)
        large = measure_run(emulator, subscribers, total, seats=8)
    for figures in (small, large):
        out.write(
            f"{figures.total:>6} subscribers, {figures.changed} changed: "
            f"{figures.updated} updated, {figures.writes} Stripe writes, "
            f"{figures.reads} Stripe reads, {figures.queries} SQL queries, "
            f"peak memory {figures.peak_kib:.0f} KiB, {figures.seconds:.2f} s CPU\n"
        )
    out.write(
        f"time ratio ({total} total)/({changed} total): "
        f"{large.seconds / small.seconds:.2f}\n"
        f"memory ratio: {large.peak_kib / small.peak_kib:.2f}\n"
        f"queries: {small.queries} vs {large.queries}\n"
    )
    return small, large


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=100)
    args = parser.parse_args(argv)
    run(args.total, args.changed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
