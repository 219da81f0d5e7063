"""Parallel requests over HTTP leave consistent state; the state file is never half-written."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from stripe_emulator.server import EmulatorServer

from .conftest import http

THREADS = 8
PER_THREAD = 15


def post(server, path, body):
    status, _, text = http("POST", server.url + path, body)
    assert status == 200, text
    return json.loads(text)


def get(server, path):
    status, _, text = http("GET", server.url + path)
    assert status == 200, text
    return json.loads(text)


def list_all(server, path):
    """Every object of a list endpoint, newest first, following the pages."""
    found, cursor = [], ""
    separator = "&" if "?" in path else "?"
    while True:
        page = get(server, f"{path}{separator}limit=100{cursor}")
        found += page["data"]
        if not page["has_more"]:
            return found
        cursor = f"&starting_after={found[-1]['id']}"


def test_parallel_creates_lose_nothing(server):
    def create(worker):
        return [
            post(server, "/v1/customers", f"email=w{worker}-{n}@example.com")["id"]
            for n in range(PER_THREAD)
        ]

    with ThreadPoolExecutor(THREADS) as pool:
        made = [cid for ids in pool.map(create, range(THREADS)) for cid in ids]

    listed = [c["id"] for c in list_all(server, "/v1/customers")]
    assert len(made) == len(set(made)) == THREADS * PER_THREAD
    assert sorted(listed) == sorted(made)


def test_parallel_updates_end_with_the_last_write(server):
    product = post(server, "/v1/products", "name=Seats")
    price = post(
        server,
        "/v1/prices",
        f"product={product['id']}&currency=usd&unit_amount=100&recurring[interval]=month",
    )
    customer = post(
        server, "/v1/customers", "email=p@example.com&payment_method=pm_card_visa"
    )
    sub = post(
        server,
        "/v1/subscriptions",
        f"customer={customer['id']}&items[0][price]={price['id']}",
    )
    item = sub["items"]["data"][0]["id"]

    def update(worker):
        for n in range(PER_THREAD):
            quantity = 2 + worker * PER_THREAD + n  # every write is a distinct value
            post(
                server,
                f"/v1/subscriptions/{sub['id']}",
                f"items[0][id]={item}&items[0][quantity]={quantity}&proration_behavior=none",
            )

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(update, range(THREADS)))

    events = list_all(server, "/v1/events?type=customer.subscription.updated")
    written = [
        e["data"]["object"]["items"]["data"][0]["quantity"]
        for e in events
        if e["data"]["object"]["items"]["data"][0]["quantity"] >= 2
    ]
    final = get(server, f"/v1/subscriptions/{sub['id']}")["items"]["data"][0]
    # One update event per write (none lost), and the stored value is the last one applied.
    assert sorted(written) == list(range(2, 2 + THREADS * PER_THREAD))
    assert final["quantity"] == written[0]
    assert final["id"] == item


def test_the_state_file_is_never_half_written(tmp_path):
    path = tmp_path / "state.json"
    server = EmulatorServer("127.0.0.1", 0, state_path=str(path)).start()
    stop = threading.Event()
    reads, errors = [], []

    def read_continuously():
        while not stop.is_set():
            try:
                text = path.read_text()
            except FileNotFoundError:
                continue
            try:
                reads.append(len(json.loads(text)["objects"]))
            except ValueError as error:
                errors.append(error)

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            list(
                pool.map(
                    lambda n: post(server, "/v1/customers", f"email=s{n}@example.com"),
                    range(THREADS * PER_THREAD),
                )
            )
    finally:
        stop.set()
        reader.join()
        server.stop()
    assert errors == []
    assert reads
    saved = json.loads(path.read_text())
    customers = [o for o in saved["objects"].values() if o["object"] == "customer"]
    assert len(customers) == THREADS * PER_THREAD
    assert list(tmp_path.iterdir()) == [path]
