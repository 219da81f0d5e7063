"""Fixtures for the emulator's own tests: a bare engine, and the HTTP door on a free port."""

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stripe_emulator.engine import Engine
from stripe_emulator.server import EmulatorServer

KEY = "sk_test_" + "emulatortests" * 2


class Api:
    """Calls Engine.handle() as stripe-python would, returning (status, JSON)."""

    def __init__(self, engine):
        self.engine = engine

    def __call__(self, method, path, body="", query="", key=KEY, headers=None):
        sent = {"Authorization": f"Bearer {key}"} if key else {}
        sent.update(headers or {})
        status, _, content = self.engine.handle(
            method, path, query, body.encode(), sent
        )
        return status, json.loads(content)

    def ok(self, method, path, body="", query="", **kwargs):
        status, data = self(method, path, body, query, **kwargs)
        assert status == 200, data
        return data


@pytest.fixture
def engine():
    return Engine()


@pytest.fixture
def api(engine):
    return Api(engine)


@pytest.fixture
def catalog(api):
    """A product with a monthly price (10.00 USD per seat) and a yearly one."""
    product = api.ok("POST", "/v1/products", "name=Pro")
    monthly = api.ok(
        "POST",
        "/v1/prices",
        f"product={product['id']}&currency=usd&unit_amount=1000"
        "&recurring[interval]=month&lookup_key=pro_monthly",
    )
    yearly = api.ok(
        "POST",
        "/v1/prices",
        f"product={product['id']}&currency=usd&unit_amount=10000&recurring[interval]=year",
    )
    return {"product": product, "monthly": monthly, "yearly": yearly}


@pytest.fixture
def customer(api):
    return api.ok(
        "POST", "/v1/customers", "email=ada@example.com&payment_method=pm_card_visa"
    )


@pytest.fixture
def server(tmp_path):
    """The HTTP door on an ephemeral loopback port, with a state file."""
    emulator = EmulatorServer("127.0.0.1", 0, state_path=str(tmp_path / "state.json"))
    emulator.engine.settings(webhook_retry_delays=[0.05, 0.05, 0.05])
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def plan(server):
    """A monthly price (9.00 USD) on the HTTP door."""
    _, _, text = http("POST", server.url + "/v1/products", "name=Pro")
    _, _, text = http(
        "POST",
        server.url + "/v1/prices",
        f"product={json.loads(text)['id']}&currency=usd&unit_amount=900"
        "&recurring[interval]=month",
    )
    return json.loads(text)


@pytest.fixture
def session(server, plan):
    """An open subscription Checkout Session for `plan` on the HTTP door."""
    _, _, text = http(
        "POST",
        server.url + "/v1/checkout/sessions",
        f"mode=subscription&line_items[0][price]={plan['id']}&line_items[0][quantity]=1"
        "&customer_email=eve@example.com&cancel_url=https://site.test/pricing"
        "&success_url=https://site.test/done?session_id={CHECKOUT_SESSION_ID}",
    )
    return json.loads(text)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http(method, url, data=None, headers=None, key=KEY, timeout=10):
    """A plain HTTP request: returns (status, headers, body text); never follows redirects."""
    body = data.encode() if isinstance(data, str) else data
    sent = {"Authorization": f"Bearer {key}"} if key else {}
    if body is not None:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    sent.update(headers or {})
    request = urllib.request.Request(url, data=body, headers=sent, method=method)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class Receiver:
    """A webhook receiver on a free port that records posts and can fail the first ones."""

    def __init__(self, fail_first=0):
        self.posts = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                receiver.posts.append((dict(self.headers), self.rfile.read(length)))
                status = 500 if len(receiver.posts) <= receiver.fail_first else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(fail_first=0):
        made.append(Receiver(fail_first))
        return made[-1]

    yield make
    for item in made:
        item.stop()


def wait_for(predicate, seconds=10):
    """Poll until predicate() is true (for background threads); fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")
