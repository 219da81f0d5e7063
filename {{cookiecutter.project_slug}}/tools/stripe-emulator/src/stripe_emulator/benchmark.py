"""Requests per second for subscription retrieve and update, over HTTP and in-process.

Run: python -m stripe_emulator.benchmark [--requests 1000]
"""

import argparse
import time
from collections.abc import Callable

import stripe

from .client import EmulatorHTTPClient
from .engine import Engine
from .server import EmulatorServer

API_KEY = "sk_test_" + "benchmark" * 3


def make_subscription() -> stripe.Subscription:
    """A product, price, customer and subscription through whatever client is installed."""
    product = stripe.Product.create(name="Benchmark", api_key=API_KEY)
    price = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=1000,
        recurring={"interval": "month"},
        api_key=API_KEY,
    )
    customer = stripe.Customer.create(payment_method="pm_card_visa", api_key=API_KEY)
    return stripe.Subscription.create(
        customer=customer.id, items=[{"price": price.id}], api_key=API_KEY
    )


def rate(requests: int, action: Callable[[int], object]) -> float:
    """Calls per second of `action(n)` over `requests` calls."""
    started = time.perf_counter()
    for n in range(requests):
        action(n)
    return requests / (time.perf_counter() - started)


def measure(requests: int) -> dict[str, float]:
    """{(door, operation): requests per second} for both doors."""
    sub = make_subscription()
    item = sub["items"].data[0].id

    def retrieve(n: int) -> None:
        stripe.Subscription.retrieve(sub.id, api_key=API_KEY)

    def update(n: int) -> None:
        stripe.Subscription.modify(
            sub.id,
            items=[{"id": item, "quantity": 1 + n % 50}],
            proration_behavior="none",
            api_key=API_KEY,
        )

    return {"retrieve": rate(requests, retrieve), "update": rate(requests, update)}


def measure_engine(requests: int) -> dict[str, float]:
    """Requests per second of Engine.handle() alone, without stripe-python's objects."""
    engine = Engine()
    stripe.default_http_client = EmulatorHTTPClient(engine)
    sub = make_subscription()
    item = sub["items"].data[0].id
    headers = {"Authorization": f"Bearer {API_KEY}"}
    path = f"/v1/subscriptions/{sub.id}"

    def retrieve(n: int) -> None:
        engine.handle("GET", path, "", b"", headers)

    def update(n: int) -> None:
        body = f"items[0][id]={item}&items[0][quantity]={1 + n % 50}&proration_behavior=none"
        engine.handle("POST", path, "", body.encode(), headers)

    return {"retrieve": rate(requests, retrieve), "update": rate(requests, update)}


Rates = dict[str, float]


def run(requests: int) -> tuple[Rates, Rates, Rates]:
    """(over HTTP, in-process, engine alone): requests per second of each operation."""
    saved = stripe.api_base, stripe.default_http_client, stripe.max_network_retries
    stripe.max_network_retries = 0
    server = EmulatorServer("127.0.0.1", 0).start()
    try:
        stripe.api_base = server.url
        stripe.default_http_client = stripe.new_default_http_client()
        over_http = measure(requests)
        stripe.default_http_client = EmulatorHTTPClient(Engine())
        in_process = measure(requests)
        engine_alone = measure_engine(requests)
    finally:
        server.stop()
        stripe.api_base, stripe.default_http_client, stripe.max_network_retries = saved
    return over_http, in_process, engine_alone


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator.benchmark")
    parser.add_argument(
        "--requests", type=int, default=1000, help="calls per measurement"
    )
    args = parser.parse_args(argv)
    over_http, in_process, engine_alone = run(args.requests)
    print(f"{args.requests} calls each (stripe-python {stripe.VERSION})")
    print(f"{'operation':<22}{'HTTP req/s':>12}{'in-process req/s':>18}{'ratio':>8}")
    for operation in ("retrieve", "update"):
        ratio = in_process[operation] / over_http[operation]
        print(
            f"subscription {operation:<9}{over_http[operation]:>12.0f}"
            f"{in_process[operation]:>18.0f}{ratio:>7.1f}x"
        )
    print(
        "engine alone (no stripe-python objects): "
        f"retrieve {engine_alone['retrieve']:.0f} req/s, update {engine_alone['update']:.0f} req/s"
    )


if __name__ == "__main__":
    main()
