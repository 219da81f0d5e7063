"""pytest fixture `stripe_emulator`: a fresh emulated Stripe per test, with no sockets.

Installing the package registers it with pytest (the `pytest11` entry point), so a
project's tests can ask for `stripe_emulator` with nothing in their conftest.py. The
fixture installs `EmulatorHTTPClient` as `stripe.default_http_client` (and for any
`stripe.StripeClient` built during the test), so dj-stripe and the site's billing code
talk to the emulator; everything is restored afterwards. It returns a `StripeEmulator`:

- `.engine`, `.get(object_type, id)`, `.all(object_type)`: the state, as the API shows it
  (object types are Stripe's: "subscription", "checkout.session", "invoice", ...).
- `.complete_checkout(session_id, card="success" | "decline" | a test card number)`:
  pay as the hosted page does; returns the success URL. "decline" raises
  `stripe_emulator.errors.StripeError` (402) and creates nothing. `card=None` starts
  a trial without a card (`payment_method_collection=if_required`).
  `promotion_code="CODE"` types a promotion code into the page first (the session
  needs `allow_promotion_codes=true`; a refused code raises `StripeError` (400)).
- `.portal_action(portal_session_id, subscription_id, action, price=None, quantity=None,
  card=None)` with action "switch_price", "set_quantity", "cancel_at_period_end",
  "cancel_now", "resume" or "update_card" (a new default card, which pays what is
  owed at once), as the portal session's configuration allows; a refused action
  raises `StripeError` (400), a declined card 402.
- `.pay_invoice(invoice_id, card="success")`: pay an open invoice as its hosted page
  does.
- `.create_test_clock(frozen_time=None, name=None)` -> clock id;
  `.advance_clock(clock_id, to=None, days=0, seconds=0)` runs renewals, trials,
  dunning and period-end cancellations due by then, and returns the new frozen time.
- `.set_card(customer_id, "success" | "fail")`: later charges succeed or fail (dunning).
- `.fail_next(path, n=1, status=500 | 429 | 503 | "timeout", method=None)`: the next n
  requests to `path` (a glob such as "/v1/subscriptions/*") fail; "timeout" raises
  stripe.APIConnectionError. `.clear_faults()`.
- `.count(method=None, path=None)`, `.writes`, `.reads`, `.reset_counts()`: API requests so far
  (the fixture's own helpers above make no API requests, so they are not counted).
- `.events(type=None)`: recorded events, oldest first.
- Webhooks: each event is queued for every matching webhook endpoint. By default
  nothing is sent until `.deliver_webhooks()`, which POSTs each queued delivery through
  Django's test Client to the endpoint URL's path, signed like Stripe
  (`Stripe-Signature`), and returns the attempts. Set `.auto_deliver = True` (or mark
  the test `@pytest.mark.stripe_emulator(auto_deliver=True)`) to deliver after every
  API call instead. `.deliveries()`, `.redeliver(event_id)`.
- `.settings(payment_retry_days=[...], final_payment_failure="cancel" | "unpaid" | "past_due")`.
"""

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe

from .client import EmulatorHTTPClient
from .engine import Engine
from .shapes import JSON

TEST_API_KEY = "sk_test_" + "emulator" * 4


class StripeEmulator:
    """What the `stripe_emulator` fixture returns; see the module docstring."""

    def __init__(
        self, engine: Engine | None = None, auto_deliver: bool = False
    ) -> None:
        self.engine = engine or Engine(public_url="http://stripe-emulator.test")
        self.auto_deliver = auto_deliver
        self.client = EmulatorHTTPClient(self.engine, on_response=self._after_request)
        self._delivering = False

    # -- objects ---------------------------------------------------------------------

    def get(self, object_type: str, object_id: str) -> JSON | None:
        return self.engine.get(object_type, object_id)

    def all(self, object_type: str) -> list[JSON]:
        return self.engine.all(object_type)

    def events(self, type: str | None = None) -> list[JSON]:
        return [
            e for e in self.engine.all("event") if type is None or e["type"] == type
        ]

    def settings(self, **changes: Any) -> JSON:
        return self.engine.settings(**changes)

    # -- hosted pages ----------------------------------------------------------------

    def complete_checkout(
        self,
        session_id: str,
        card: str | None = "success",
        email: str | None = None,
        promotion_code: str | None = None,
    ) -> str:
        try:
            return self.engine.complete_checkout(
                session_id, card=card, email=email, promotion_code=promotion_code
            )
        finally:
            self._maybe_deliver()

    def portal_action(
        self,
        portal_session_id: str,
        subscription_id: str | None,
        action: str,
        price: str | None = None,
        quantity: Any = None,
        card: str | None = None,
    ) -> JSON:
        try:
            return self.engine.portal_action(
                portal_session_id,
                subscription_id,
                action,
                price=price,
                quantity=quantity,
                card=card,
            )
        finally:
            self._maybe_deliver()

    def pay_invoice(self, invoice_id: str, card: str = "success") -> JSON:
        try:
            return self.engine.pay_invoice(invoice_id, card=card)
        finally:
            self._maybe_deliver()

    # -- time --------------------------------------------------------------------------

    def create_test_clock(
        self, frozen_time: float | None = None, name: str | None = None
    ) -> str:
        frozen_time = int(time.time()) if frozen_time is None else int(frozen_time)
        try:
            return self.engine.new_test_clock(frozen_time, name=name)
        finally:
            self._maybe_deliver()

    def advance_clock(
        self,
        clock_id: str,
        to: float | None = None,
        days: float = 0,
        seconds: float = 0,
    ) -> int:
        current = self.engine.get("test_helpers.test_clock", clock_id)["frozen_time"]
        target = (
            int(to) if to is not None else current + int(days * 86400) + int(seconds)
        )
        try:
            return self.engine.advance_clock(clock_id, target)["frozen_time"]
        finally:
            self._maybe_deliver()

    def set_card(self, customer_id: str, behaviour: str) -> None:
        self.engine.set_payment_behaviour(customer_id, behaviour)

    # -- faults and counts -------------------------------------------------------------

    def fail_next(
        self, path: str, n: int = 1, status: int | str = 500, method: str | None = None
    ) -> None:
        self.engine.add_fault(
            path, times=n, status=status, method=method, hang_seconds=0
        )

    def clear_faults(self) -> None:
        self.engine.clear_faults()

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return self.engine.count(method=method, path=path)

    @property
    def writes(self) -> int:
        return self.count("POST", "/v1/*") + self.count("DELETE", "/v1/*")

    @property
    def reads(self) -> int:
        return self.count("GET", "/v1/*")

    def reset_counts(self) -> None:
        self.engine.request_counts.clear()

    # -- webhooks ----------------------------------------------------------------------

    def deliveries(self, event_id: str | None = None) -> list[JSON]:
        return self.engine.deliveries(event_id)

    def redeliver(self, event_id: str, endpoint_id: str | None = None) -> list[str]:
        return self.engine.redeliver(event_id, endpoint_id)

    def deliver_webhooks(self, raise_errors: bool = True) -> list[JSON]:
        """POST every queued delivery through Django's test Client; returns the attempts.

        Deliveries queued by the handlers themselves are sent in the same call. A
        delivery answered with a non-2xx status stays queued until its retries run out.
        """
        from django.test import Client

        client = Client(raise_request_exception=raise_errors)
        attempts = []
        self._delivering = True
        try:
            sent = set()
            while True:
                due = [
                    d
                    for d in self.engine.due_deliveries(include_waiting=True)
                    if d["id"] not in sent
                ]
                if not due:
                    break
                for delivery in due:
                    sent.add(delivery["id"])
                    url, body, headers = self.engine.delivery_request(delivery["id"])
                    parts = urlsplit(url)
                    path = parts.path + (f"?{parts.query}" if parts.query else "")
                    response = client.generic(
                        "POST",
                        path,
                        body,
                        content_type="application/json",
                        headers={"Stripe-Signature": headers["Stripe-Signature"]},
                    )
                    self.engine.record_attempt(delivery["id"], response.status_code)
                    event = self.engine.get("event", delivery["event"])
                    attempts.append(
                        {
                            "delivery": delivery["id"],
                            "event": delivery["event"],
                            "type": event["type"] if event else None,
                            "endpoint": delivery["endpoint"],
                            "status_code": response.status_code,
                        }
                    )
        finally:
            self._delivering = False
        return attempts

    def _after_request(self, method: str, path: str, status: int) -> None:
        self._maybe_deliver()

    def _maybe_deliver(self) -> None:
        if self.auto_deliver and not self._delivering:
            self.deliver_webhooks()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "stripe_emulator(auto_deliver=False): options for the stripe_emulator fixture",
    )


@pytest.fixture
def stripe_emulator(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StripeEmulator]:
    """A fresh emulated Stripe, installed as stripe-python's HTTP client for this test."""
    marker = request.node.get_closest_marker("stripe_emulator")
    options = dict(marker.kwargs) if marker else {}
    emulator = StripeEmulator(auto_deliver=options.get("auto_deliver", False))
    # stripe-python waits before retrying a 5xx; tests have no reason to.
    emulator.client.retry_sleep = False
    monkeypatch.setattr(stripe, "default_http_client", emulator.client)
    monkeypatch.setattr(
        "stripe._stripe_client.new_default_http_client", lambda *a, **k: emulator.client
    )
    if not stripe.api_key:
        monkeypatch.setattr(stripe, "api_key", TEST_API_KEY)
    yield emulator
