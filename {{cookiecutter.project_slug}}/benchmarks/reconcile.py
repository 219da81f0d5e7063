"""Benchmark: reconciliation runs over 1,000 and 10,000 subscriptions, 50 of them
drifted, beside the seat sync's figures for as many subscribers.

    python -m benchmarks.reconcile [--total 10000] [--small 1000] [--drifted 50]

Runs against a fresh in-memory SQLite database and the in-process Stripe emulator
(no server, no network). The subscriptions are made through the emulator's API and
mirrored locally as the site would hold them; the drifted ones are changed in Stripe
with no webhook delivered (half canceled, half set to end at the period end). For
each size it prints a run that finds the drift and a run that finds none: Stripe
requests (list pages and others, counted by the emulator), SQL queries, and CPU
time (the emulator runs in the same process, so its work, and stripe-python's
parsing of each page, are in it). Then it runs `benchmarks.seat_sync` with the
same figures, in a process of its own.
"""

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass

from benchmarks.seat_sync import setup


@dataclass
class RunFigures:
    total: int
    drifted: int
    changed: dict
    pages: int
    list_requests: int
    other_requests: int
    queries: int
    seconds: float


def measure_run(emulator, total: int, drifted: int, page_size: int = 100):
    """One reconciliation run, counted (the drift is made beforehand)."""
    from django.db import connection

    from apps.subscriptions.reconcile import reconcile_subscriptions

    emulator.reset_counts()
    queries = []
    # Counted as they run: Django's query log keeps only the last 9,000.
    with connection.execute_wrapper(
        lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)
    ):
        started = time.process_time()
        counts = reconcile_subscriptions(page_size=page_size)
        seconds = time.process_time() - started
    listed = emulator.count("GET", "/v1/subscriptions")
    return RunFigures(
        total=total,
        drifted=drifted,
        changed=dict(counts.changed),
        pages=counts.pages,
        list_requests=listed,
        other_requests=emulator.count() - listed,
        queries=len(queries),
        seconds=seconds,
    )


def _drift(made, drifted: int) -> None:
    """Half canceled, half set to end at the period end; no webhook delivered."""
    import stripe

    from apps.subscriptions.stripe_client import stripe_options
    from apps.subscriptions.tests.reconcile_scenario import drift

    ids = [subscription.id for _, subscription in made[:drifted]]
    half = len(ids) // 2
    for subscription_id in ids[:half]:
        stripe.Subscription.cancel(subscription_id, **stripe_options())
    drift(ids[half:], round_=0)


def _line(figures: RunFigures) -> str:
    changed = ", ".join(f"{k} {v}" for k, v in sorted(figures.changed.items()))
    return (
        f"{figures.total:>6} subscriptions, {figures.drifted:>2} drifted: "
        f"changed {sum(figures.changed.values())}"
        + (f" ({changed})" if changed else "")
        + f"; Stripe requests {figures.list_requests + figures.other_requests} "
        f"({figures.list_requests} list pages + {figures.other_requests} others), "
        f"{figures.queries} SQL queries, {figures.seconds:.2f} s CPU\n"
    )


def run(total: int, small: int, drifted: int, out=sys.stdout) -> list[RunFigures]:
    emulator = setup()
    import logging

    from apps.subscriptions.tests.reconcile_scenario import (
        create_in_stripe,
        mirror_in_bulk,
    )
    from apps.subscriptions.tests.seat_scenario import (
        create_price,
        make_subscriber,
        subscribe,
    )

    logging.disable(logging.INFO)
    price = create_price()
    template = make_subscriber()
    subscribe(template, price)
    figures = []
    held = 1  # the template's own subscription
    for size in (small, total):
        out.write(f"Making {size - held} more subscriptions in the emulator...\n")
        out.flush()
        made = create_in_stripe(size - held, price)
        mirror_in_bulk(template, made, start=held)
        held = size
        _drift(made, drifted)
        figures.append(measure_run(emulator, size, drifted))
        figures.append(measure_run(emulator, size, 0))
        out.write(_line(figures[-2]) + _line(figures[-1]))
        out.flush()
    return figures


def seat_sync_figures(total: int, changed: int) -> str:
    """The seat sync benchmark's own output, from a process of its own."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.seat_sync",
            f"--total={total}",
            f"--changed={changed}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--drifted", type=int, default=50)
    parser.add_argument(
        "--no-seat-sync", action="store_true", help="Skip the seat sync's figures."
    )
    args = parser.parse_args(argv)
    print("Reconciliation (reconcile_subscriptions):")
    run(args.total, args.small, args.drifted)
    if not args.no_seat_sync:
        print(f"\nSeat sync (sync_subscriptions), {args.drifted} changed:")
        print(seat_sync_figures(args.total, args.drifted), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
