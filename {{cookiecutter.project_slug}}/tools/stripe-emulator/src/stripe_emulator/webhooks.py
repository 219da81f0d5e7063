"""Webhook endpoints, signing, the delivery queue with retries, and the sender thread.

Every event is queued for each enabled endpoint that listens to its type. An
endpoint disabled with `POST /v1/webhook_endpoints/{id}` (`disabled=true`) gets no
deliveries of the events created meanwhile (they stay listed by `GET /v1/events`),
and re-enabling it does not replay them, as with Stripe; deliveries queued before it
was disabled wait, and resume when it is enabled again. The HTTP
door's `WebhookSender` POSTs due deliveries; the pytest fixture sends them through
Django's test client instead. Either way each attempt is recorded with
`record_attempt()`, which schedules the retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

from . import shapes
from .errors import invalid
from .listing import list_response
from .params import (
    LIST_PARAMS,
    as_bool,
    as_strings,
    as_url,
    check_params,
    clone,
    merge_metadata,
)
from .shapes import JSON
from .store import Store

if TYPE_CHECKING:
    from .engine import Engine

EVENT_NAME = re.compile(r"^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$")
ENDPOINT_FIELDS = {
    "url",
    "enabled_events",
    "api_version",
    "description",
    "metadata",
    "connect",
}


def sign(payload: str, secret: str, timestamp: float | None = None) -> str:
    """Stripe's signature header for `payload`: t=<ts>,v1=<HMAC-SHA256 hex>."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    signed = f"{timestamp}.{payload}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_matches(enabled_events: list[str], event_type: str) -> bool:
    """Whether an endpoint's `enabled_events` ('*', 'a.b', 'a.*') take this type."""
    for pattern in enabled_events:
        if pattern in ("*", event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


# -- endpoints -------------------------------------------------------------------


def _enabled_events(raw: object) -> list[str]:
    events = as_strings(raw, "enabled_events")
    if not events:
        raise invalid(
            "Missing required param: enabled_events.",
            param="enabled_events",
            code="parameter_missing",
        )
    for index, name in enumerate(events):
        if not EVENT_NAME.match(name):
            raise invalid(
                f"Invalid event type: {name}",
                param=f"enabled_events[{index}]",
                code="parameter_invalid_string",
            )
    return events


def create_webhook_endpoint(store: Store, params: JSON) -> JSON:
    check_params(params, ENDPOINT_FIELDS, required=["url", "enabled_events"])
    secret = "whsec_" + secrets.token_hex(24)
    endpoint = shapes.webhook_endpoint(
        store.new_id("webhook_endpoint"),
        store.now(),
        as_url(params["url"], "url"),
        secret,
    )
    # Stripe shows the secret once, in the answer to the create.
    endpoint.pop("secret")
    endpoint["enabled_events"] = _enabled_events(params["enabled_events"])
    endpoint["api_version"] = params.get("api_version") or None
    endpoint["description"] = params.get("description") or None
    endpoint["metadata"] = merge_metadata({}, params.get("metadata") or {})
    store.save(endpoint)
    store.private(endpoint["id"])["secret"] = secret
    return dict(store.render(endpoint), secret=secret)


def retrieve_webhook_endpoint(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(store.fetch("webhook_endpoint", id))


def update_webhook_endpoint(store: Store, params: JSON, id: str) -> JSON:
    check_params(
        params, {"url", "enabled_events", "description", "metadata", "disabled"}
    )
    endpoint = store.fetch("webhook_endpoint", id)
    if "url" in params:
        endpoint["url"] = as_url(params["url"], "url")
    if "enabled_events" in params:
        endpoint["enabled_events"] = _enabled_events(params["enabled_events"])
    if "description" in params:
        endpoint["description"] = params["description"] or None
    if "metadata" in params:
        endpoint["metadata"] = merge_metadata(endpoint["metadata"], params["metadata"])
    if "disabled" in params:
        disabled = as_bool(params["disabled"], "disabled")
        endpoint["status"] = "disabled" if disabled else "enabled"
        # Waiting deliveries to a re-enabled endpoint may be due: wake the sender.
        store.deliveries_changed.set()
    return store.render(endpoint)


def delete_webhook_endpoint(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    store.fetch("webhook_endpoint", id)
    store.remove(id)
    return shapes.deleted("webhook_endpoint", id)


def list_webhook_endpoints(store: Store, params: JSON) -> JSON:
    check_params(params, LIST_PARAMS)
    return list_response(
        store, "/v1/webhook_endpoints", store.of_type("webhook_endpoint"), params
    )


def endpoint_secret(store: Store, endpoint_id: str) -> str | None:
    """The signing secret of an endpoint (Stripe shows it once, on create)."""
    return store.private(endpoint_id).get("secret")


# -- deliveries ------------------------------------------------------------------


def queue_deliveries(
    store: Store, event: JSON, endpoint_ids: set[str] | None = None
) -> list[str]:
    """Queue the event for every enabled endpoint that listens to its type."""
    queued = []
    for endpoint in store.of_type("webhook_endpoint"):
        if endpoint_ids is not None and endpoint["id"] not in endpoint_ids:
            continue
        if endpoint["status"] != "enabled":
            continue
        if not event_matches(endpoint["enabled_events"], event["type"]):
            continue
        delivery = {
            "id": "whdel_" + secrets.token_hex(8),
            "event": event["id"],
            "endpoint": endpoint["id"],
            "url": endpoint["url"],
            "status": "pending",
            "attempts": [],
            "next_attempt_at": 0,
        }
        store.deliveries[delivery["id"]] = delivery
        store.delivery_order.append(delivery["id"])
        queued.append(delivery["id"])
    if queued:
        event["pending_webhooks"] += len(queued)
        store.deliveries_changed.set()
    return queued


def due_deliveries(
    store: Store, now: float | None = None, include_waiting: bool = False
) -> list[JSON]:
    """Pending deliveries whose next attempt is due (all pending ones if asked)."""
    now = time.time() if now is None else now
    return [
        clone(d)
        for d in (store.deliveries[i] for i in store.delivery_order)
        if _sendable(store, d) and (include_waiting or d["next_attempt_at"] <= now)
    ]


def _sendable(store: Store, delivery: JSON) -> bool:
    """Pending, and not to an endpoint that is disabled for now."""
    if delivery["status"] != "pending":
        return False
    endpoint = store.find(delivery["endpoint"])
    return endpoint is None or endpoint["status"] == "enabled"


def next_delivery_time(store: Store) -> float | None:
    """When the next pending delivery is due, if any."""
    times = [
        d["next_attempt_at"] for d in store.deliveries.values() if _sendable(store, d)
    ]
    return min(times) if times else None


def delivery_request(
    store: Store, delivery_id: str, timestamp: float | None = None
) -> tuple[str, bytes, dict[str, str]]:
    """(url, body bytes, headers) for an attempt, signed with the endpoint's secret."""
    with store.lock:
        delivery = store.deliveries[delivery_id]
        event = store.render(store.objects[delivery["event"]])
        secret = store.private(delivery["endpoint"]).get("secret", "")
    payload = json.dumps(event, indent=2)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "Stripe-Signature": sign(payload, secret, timestamp),
    }
    return delivery["url"], payload.encode(), headers


def record_attempt(
    store: Store,
    delivery_id: str,
    status_code: int | None,
    error: str | None = None,
    now: float | None = None,
) -> bool:
    """Record one attempt; 2xx succeeds, anything else is retried with backoff.

    Returns whether anything was recorded (the delivery was still pending).
    """
    now = time.time() if now is None else now
    delivery = store.deliveries.get(delivery_id)
    if delivery is None or delivery["status"] != "pending":
        return False
    delivery["attempts"].append({"at": now, "status_code": status_code, "error": error})
    event = store.objects.get(delivery["event"])
    delays = store.settings["webhook_retry_delays"]
    if status_code is not None and 200 <= status_code < 300:
        delivery["status"] = "succeeded"
    elif len(delivery["attempts"]) > len(delays):
        delivery["status"] = "failed"
    else:
        delivery["next_attempt_at"] = now + delays[len(delivery["attempts"]) - 1]
    if delivery["status"] != "pending" and event is not None:
        event["pending_webhooks"] = max(0, event["pending_webhooks"] - 1)
    return True


def deliveries(store: Store, event_id: str | None = None) -> list[JSON]:
    """Every delivery (with its attempts), optionally for one event, oldest first."""
    return [
        clone(d)
        for d in (store.deliveries[i] for i in store.delivery_order)
        if event_id is None or d["event"] == event_id
    ]


def redeliver(store: Store, event_id: str, endpoint_id: str | None = None) -> list[str]:
    """Queue the event again (to one endpoint or all that listen); returns delivery ids."""
    event = store.fetch("event", event_id)
    return queue_deliveries(
        store, event, None if endpoint_id is None else {endpoint_id}
    )


class WebhookSender:
    """A background thread that POSTs due deliveries and records every attempt."""

    def __init__(self, engine: Engine, poll_seconds: float = 0.5) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="webhook-sender", daemon=True
        )

    def start(self) -> WebhookSender:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.engine.deliveries_changed.set()
        self._thread.join(timeout=5)

    def send(self, delivery_id: str) -> None:
        try:
            url, body, headers = self.engine.delivery_request(delivery_id)
            timeout = self.engine.settings()["webhook_timeout"]
            request = urllib.request.Request(
                url, data=body, headers=headers, method="POST"
            )
            with urllib.request.urlopen(request, timeout=timeout) as response:
                self.engine.record_attempt(delivery_id, response.status)
        except urllib.error.HTTPError as error:
            self.engine.record_attempt(delivery_id, error.code, f"HTTP {error.code}")
        except Exception as error:  # a failed attempt, retried; the thread lives on
            self.engine.record_attempt(
                delivery_id, None, str(error) or type(error).__name__
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            self.engine.deliveries_changed.clear()
            for delivery in self.engine.due_deliveries():
                if self._stop.is_set():
                    return
                self.send(delivery["id"])
            next_at = self.engine.next_delivery_time()
            wait = self.poll_seconds * 20
            if next_at is not None:
                wait = min(wait, max(0.0, next_at - time.time()))
            self.engine.deliveries_changed.wait(max(wait, 0.01))
