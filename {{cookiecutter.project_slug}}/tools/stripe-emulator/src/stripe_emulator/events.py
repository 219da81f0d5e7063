"""Events: recording them (each queues its webhook deliveries), and the events API."""

from collections.abc import Callable
from typing import Any

from . import shapes, webhooks
from .listing import list_ordered
from .params import (
    LIST_PARAMS,
    as_bool,
    as_string,
    as_strings,
    check_params,
    clone,
)
from .shapes import JSON
from .store import Store


def emit(
    store: Store,
    event_type: str,
    obj: JSON,
    previous_attributes: JSON | None = None,
    created: int | None = None,
) -> JSON:
    """Record an event (with a snapshot of `obj`) and queue its webhook deliveries.

    `created` defaults to the time of the object's customer (its test clock's time),
    or of the customer itself.
    """
    data = {"object": store.render(obj) if "id" in obj else clone(obj)}
    if previous_attributes:
        data["previous_attributes"] = clone(previous_attributes)
    customer = obj["id"] if obj.get("object") == "customer" else obj.get("customer")
    when = (
        created
        if created is not None
        else store.now(customer if isinstance(customer, str) else None)
    )
    event = shapes.event(
        store.new_id("event"),
        when,
        event_type,
        data,
        store.api_version,
        dict(store.request),
    )
    store.save(event)
    webhooks.queue_deliveries(store, event)
    return event


def diff(before: JSON, after: JSON) -> dict[str, Any]:
    """previous_attributes: the old values of the top-level keys that changed."""
    return {k: before.get(k) for k in after if before.get(k) != after.get(k)}


def retrieve_event(store: Store, params: JSON, id: str) -> JSON:
    """`GET /v1/events/{id}`."""
    check_params(params, set())
    return store.render(store.fetch("event", id))


def list_events(store: Store, params: JSON) -> JSON:
    """Events newest first; a page reads about a page of events however many there
    are (Stripe keeps 30 days of them; the emulator keeps them all)."""
    check_params(params, LIST_PARAMS | {"type", "types", "created", "delivery_success"})
    checks: list[Callable[[JSON], bool]] = []
    pattern = as_string(params.get("type") or "", "type")
    if pattern and pattern.endswith("*"):
        prefix = pattern[:-1]
        checks.append(lambda e: e["type"].startswith(prefix))
    elif pattern:
        checks.append(lambda e: e["type"] == pattern)
    if params.get("types"):
        types = set(as_strings(params["types"], "types"))
        checks.append(lambda e: e["type"] in types)
    if "delivery_success" in params:
        wanted = as_bool(params["delivery_success"], "delivery_success")
        checks.append(lambda e: (e["pending_webhooks"] == 0) == wanted)

    def keep(event: JSON) -> bool:
        return all(check(event) for check in checks)

    return list_ordered(store, "event", "/v1/events", params, keep if checks else None)
