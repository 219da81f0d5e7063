"""The engine: the emulated Stripe account behind both doors, with no I/O.

The HTTP server and the in-process client for stripe-python call `Engine.handle()`;
the hosted pages, control routes and the pytest fixture call its other methods.
The state lives in a `Store`; each resource family is a module of functions over it
(see `routes.py`). The store's re-entrant lock serialises every request and helper
call, so threads see consistent state.
"""

import base64
import fnmatch
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from . import (
    checkout,
    checkout_money,
    clocks,
    customers,
    documents,
    invoices,
    listing,
    portal,
    schedule,
    webhooks,
)
from .encoding import parse_params
from .errors import StripeError, invalid
from .routes import ROUTER
from .settings import check_settings
from .shapes import JSON
from .store import Store, random_suffix

# The API version stripe-python 15 pins; events are rendered in it.
DEFAULT_API_VERSION = "2026-08-26.dahlia"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:12111"
FAULT_STATUSES = (500, 429, 503, "timeout")


class FaultTimeout(Exception):
    """An injected fault: the request hangs and never gets an answer."""

    def __init__(self, path: str, seconds: float) -> None:
        super().__init__(f"Injected timeout on {path}")
        self.seconds = seconds


class Engine:
    """A stateful Stripe for one account; every public method is thread-safe."""

    def __init__(
        self,
        public_url: str = DEFAULT_PUBLIC_URL,
        api_version: str = DEFAULT_API_VERSION,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.store = Store(public_url.rstrip("/"), api_version, clock or time.time)
        # Faults and request counts are about requests, not account state: they have
        # their own lock and are not saved.
        self._meta_lock = threading.Lock()
        self.request_counts: Counter[tuple[str, str]] = Counter()
        self.faults: list[JSON] = []

    # -- the store's parts that callers use directly ------------------------------

    @property
    def public_url(self) -> str:
        return self.store.public_url

    @public_url.setter
    def public_url(self, url: str) -> None:
        self.store.public_url = url.rstrip("/")

    @property
    def api_version(self) -> str:
        return self.store.api_version

    @property
    def lock(self) -> threading.RLock:
        return self.store.lock

    @property
    def version(self) -> int:
        return self.store.version

    @property
    def deliveries_changed(self) -> threading.Event:
        return self.store.deliveries_changed

    @property
    def change_listeners(self) -> list[Callable[[Store], None]]:
        return self.store.change_listeners

    # -- state -------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every object, event and delivery (settings return to defaults)."""
        with self.store.changing():
            self.store.clear()
            self.request_counts.clear()
            self.faults.clear()

    def to_json(self) -> tuple[int, str]:
        """(version, the whole state as JSON text) for the state file."""
        return self.store.dump()

    def load_json(self, text: str) -> None:
        """Replace the state with one saved by `to_json()`."""
        self.store.load(text)

    def settings(self, **changes: Any) -> JSON:
        """Read or change engine settings (dunning schedule, webhook retry delays...)."""
        with self.lock:
            changes = check_settings(self.store.settings, changes)
            self.store.settings.update(changes)
            if changes:
                self.store.changed()
            return dict(self.store.settings)

    def private(self, object_id: str) -> JSON:
        """Emulator-only data about an object that Stripe does not return."""
        with self.lock:
            return self.store.private(object_id)

    def get(self, object_type: str, object_id: str) -> JSON | None:
        """The object as the API would return it (a copy), or None."""
        with self.lock:
            return self.store.get(object_type, object_id)

    def all(self, object_type: str) -> list[JSON]:
        """Every stored object of a type, oldest first, as the API returns them."""
        with self.lock:
            return self.store.all(object_type)

    def summary(self) -> dict[str, int]:
        """How many objects of each type are stored."""
        with self.lock:
            return self.store.summary()

    def expand(self, result: JSON, paths: Any) -> JSON:
        """Apply `expand[]` paths to an API answer."""
        with self.lock:
            return listing.expand(self.store, result, paths)

    # -- what the hosted pages and test helpers do -------------------------------

    def complete_checkout(
        self,
        session_id: str,
        card: str | None = "success",
        email: str | None = None,
        promotion_code: str | None = None,
    ) -> str:
        """Pay a Checkout Session as the hosted page does; returns the success URL.

        A declined card raises StripeError (402, card_declined) and creates nothing;
        `card=None` starts a trial without a card where the session allows it;
        `promotion_code` is typed into the page first (a refused one raises 400).
        """
        with self.store.changing():
            return checkout.complete_checkout(
                self.store, session_id, card, email, promotion_code
            )

    def apply_promotion_code(self, session_id: str, code: str | None) -> JSON:
        """The hosted Checkout page's promotion code field: apply `code` (or remove
        the discount when empty); returns the session. Refused: StripeError (400)."""
        with self.store.changing():
            session = checkout_money.apply_promotion_code(self.store, session_id, code)
            return self.store.render(session)

    def portal_action(
        self,
        session_id: str,
        subscription_id: str | None,
        action: str,
        price: str | None = None,
        quantity: Any = None,
        card: str | None = None,
    ) -> JSON:
        """What the hosted portal does (switch_price, set_quantity,
        cancel_at_period_end, cancel_now, resume, update_card) if the session's
        configuration allows it; returns the subscription as the API shows it."""
        with self.store.changing():
            return portal.portal_action(
                self.store, session_id, subscription_id, action, price, quantity, card
            )

    def pay_invoice(self, invoice_id: str, card: str = "success") -> JSON:
        """Pay an open invoice with a card, as its hosted invoice page does (the card
        is saved to the customer but does not become the default); returns it."""
        with self.store.changing():
            return invoices.pay_with_card(self.store, invoice_id, card)

    def invoice_view(self, invoice_id: str) -> JSON | None:
        """What the hosted invoice page shows (see `documents.invoice_view`)."""
        with self.lock:
            return documents.invoice_view(self.store, invoice_id)

    def receipt_view(self, charge_id: str) -> JSON | None:
        """What a charge's receipt page shows (see `documents.receipt_view`)."""
        with self.lock:
            return documents.receipt_view(self.store, charge_id)

    def portal_view(self, session_id: str) -> JSON:
        """What the hosted portal page shows for a session (see `portal.page_view`)."""
        with self.lock:
            return portal.page_view(self.store, session_id)

    def new_test_clock(self, frozen_time: int, name: str | None = None) -> str:
        """Create a test clock without an API request (not counted); returns its id."""
        params: JSON = {"frozen_time": frozen_time, **({"name": name} if name else {})}
        with self.store.changing():
            return clocks.create_test_clock(self.store, params)["id"]

    def advance_clock(self, clock_id: str, frozen_time: int) -> JSON:
        """Advance a test clock without an API request (not counted); returns it."""
        params = {"frozen_time": frozen_time}
        with self.store.changing():
            return clocks.advance_test_clock(self.store, params, clock_id)

    def set_payment_behaviour(self, customer_id: str, behaviour: str) -> None:
        """Make the customer's card succeed ('success') or fail ('fail') from now on."""
        with self.store.changing():
            customers.set_payment_behaviour(self.store, customer_id, behaviour)

    def run_due_transitions(self) -> int:
        """Renew, retry and expire what is due in real time (customers without a clock)."""
        with self.lock:
            done = schedule.run_due(self.store)
            if done:
                self.store.changed()
            return done

    # -- webhooks ------------------------------------------------------------------

    def endpoint_secret(self, endpoint_id: str) -> str | None:
        """The signing secret of an endpoint (Stripe shows it once, on create)."""
        with self.lock:
            return webhooks.endpoint_secret(self.store, endpoint_id)

    def deliveries(self, event_id: str | None = None) -> list[JSON]:
        """Every delivery (with its attempts), optionally for one event, oldest first."""
        with self.lock:
            return webhooks.deliveries(self.store, event_id)

    def redeliver(self, event_id: str, endpoint_id: str | None = None) -> list[str]:
        """Queue the event again (to one endpoint or all that listen); returns ids."""
        with self.store.changing():
            return webhooks.redeliver(self.store, event_id, endpoint_id)

    def due_deliveries(
        self, now: float | None = None, include_waiting: bool = False
    ) -> list[JSON]:
        """Pending deliveries whose next attempt is due (all pending ones if asked)."""
        with self.lock:
            return webhooks.due_deliveries(self.store, now, include_waiting)

    def next_delivery_time(self) -> float | None:
        with self.lock:
            return webhooks.next_delivery_time(self.store)

    def delivery_request(
        self, delivery_id: str, timestamp: float | None = None
    ) -> tuple[str, bytes, dict[str, str]]:
        """(url, body, headers) of a delivery attempt, signed like Stripe."""
        return webhooks.delivery_request(self.store, delivery_id, timestamp)

    def record_attempt(
        self,
        delivery_id: str,
        status_code: int | None,
        error: str | None = None,
        now: float | None = None,
    ) -> None:
        """Record one attempt; 2xx succeeds, anything else is retried with backoff."""
        with self.lock:
            if webhooks.record_attempt(
                self.store, delivery_id, status_code, error, now
            ):
                self.store.changed()

    # -- faults and counts ---------------------------------------------------------

    def add_fault(
        self,
        path: str,
        times: int = 1,
        status: int | str = 500,
        method: str | None = None,
        hang_seconds: float = 30.0,
    ) -> None:
        """Make the next `times` requests to `path` (a glob) answer `status`.

        `status` is 500, 429, 503 or "timeout" (the request hangs, then the
        connection drops).
        """
        if status not in FAULT_STATUSES:
            raise invalid("status must be 500, 429, 503 or timeout", param="status")
        with self._meta_lock:
            self.faults.append(
                {
                    "path": path,
                    "method": method.upper() if method else None,
                    "remaining": int(times),
                    "status": status,
                    "hang_seconds": float(hang_seconds),
                }
            )

    def clear_faults(self) -> None:
        with self._meta_lock:
            self.faults.clear()

    def _take_fault(self, method: str, path: str) -> JSON | None:
        with self._meta_lock:
            self.request_counts[(method, path)] += 1
            for fault in self.faults:
                if fault["method"] not in (None, method):
                    continue
                if fault["path"] != path and not fnmatch.fnmatchcase(
                    path, fault["path"]
                ):
                    continue
                fault["remaining"] -= 1
                if fault["remaining"] <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests matched `method` and `path` (a glob) so far."""
        with self._meta_lock:
            return sum(
                n
                for (m, p), n in self.request_counts.items()
                if (method is None or m == method.upper())
                and (path is None or p == path or fnmatch.fnmatchcase(p, path))
            )

    # -- requests ------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: str = "",
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one API request: returns (status, headers, body bytes).

        Raises FaultTimeout when an injected fault says the request hangs.
        """
        method = method.upper()
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        request_id = "req_" + random_suffix(14)
        out_headers = {
            "Content-Type": "application/json",
            "Request-Id": request_id,
            "Stripe-Version": headers.get("stripe-version") or self.api_version,
        }
        fault = self._take_fault(method, path)
        try:
            if fault:
                _raise_fault(fault, path)
            _authenticate(headers.get("authorization", ""))
            status, result, replayed = self._dispatch(
                method, path, query, body, headers, request_id
            )
            if replayed:
                out_headers["Idempotent-Replayed"] = "true"
            if headers.get("idempotency-key"):
                out_headers["Idempotency-Key"] = headers["idempotency-key"]
            return status, out_headers, result
        except StripeError as error:
            return error.status, out_headers, json.dumps(error.body()).encode()
        except FaultTimeout:
            raise
        except Exception as error:  # every failure gets Stripe's body
            failure = StripeError(
                500, f"The emulator failed on this request: {error!r}"
            )
            return 500, out_headers, json.dumps(failure.body()).encode()

    def _dispatch(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes,
        headers: dict[str, str],
        request_id: str,
    ) -> tuple[int, bytes, bool]:
        route, ids = ROUTER.match(method, path)
        params = parse_params(query) if query else {}
        if body:
            ctype = headers.get("content-type", "application/x-www-form-urlencoded")
            if "json" in ctype:
                raise StripeError(
                    400, "Invalid request: the v1 API takes form-encoded bodies."
                )
            params.update(parse_params(body))
        key = headers.get("idempotency-key") if method == "POST" else None
        store = self.store
        with store.lock:
            if key:
                cache_key = f"{headers.get('authorization', '')}|{key}"
                fingerprint = json.dumps([method, path, params], sort_keys=True)
                replayed = store.replay(cache_key, key, fingerprint)
                if replayed:
                    return replayed[0], replayed[1].encode(), True
            store.request = {"id": request_id, "idempotency_key": key}
            try:
                expand = params.pop("expand", None)
                result = route.handler(store, params, **ids)
                if expand:
                    listing.expand(store, result, expand)
                status, text = 200, json.dumps(result)
            except StripeError as error:
                if error.status >= 500:
                    raise
                status, text = error.status, json.dumps(error.body())
            finally:
                store.request = {"id": None, "idempotency_key": None}
            if key:
                store.remember(cache_key, fingerprint, status, text)
            # A refused write may still have changed something (a declined charge
            # is recorded with its events), so every write counts as a change.
            if route.mutates or key:
                store.changed()
            return status, text.encode(), False


def _raise_fault(fault: JSON, path: str) -> None:
    if fault["status"] == "timeout":
        raise FaultTimeout(path, fault["hang_seconds"])
    if fault["status"] == 429:
        raise StripeError(
            429,
            "Too many requests hit the API too quickly (injected by the emulator).",
            code="rate_limit",
            error_type="invalid_request_error",
        )
    raise StripeError(
        fault["status"], "An error occurred with our API (injected by the emulator)."
    )


def _authenticate(authorization: str) -> None:
    """Any secret test key (sk_test_...) is accepted, as Bearer or Basic auth."""
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(key).decode().split(":", 1)[0]
        except ValueError:
            key = ""
    if not key:
        raise StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the"
            " Authorization header, using Bearer auth.",
        )
    if not key.startswith("sk_test_"):
        shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:]
        raise StripeError(
            401, f"Invalid API Key provided: {shown}", code="api_key_invalid"
        )
