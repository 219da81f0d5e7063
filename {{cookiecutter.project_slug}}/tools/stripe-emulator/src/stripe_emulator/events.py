"""Events: recording them (each queues its webhook deliveries), and the events API."""

from typing import Any

from . import shapes, webhooks
from .listing import list_response
from .params import LIST_PARAMS, as_bool, as_list, check_params, clone, created_filter
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

    `created` defaults to the time of the object's customer (its test clock's time).
    """
    data = {"object": store.render(obj) if "id" in obj else clone(obj)}
    if previous_attributes:
        data["previous_attributes"] = clone(previous_attributes)
    customer = obj.get("customer")
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
    check_params(params, set())
    return store.render(store.fetch("event", id))


def list_events(store: Store, params: JSON) -> JSON:
    check_params(params, LIST_PARAMS | {"type", "types", "created", "delivery_success"})
    events = store.of_type("event")
    if params.get("type"):
        pattern = params["type"]
        if pattern.endswith("*"):
            events = [e for e in events if e["type"].startswith(pattern[:-1])]
        else:
            events = [e for e in events if e["type"] == pattern]
    if params.get("types"):
        types = set(as_list(params["types"], "types"))
        events = [e for e in events if e["type"] in types]
    matches = created_filter(params.get("created"))
    events = [e for e in events if matches(e["created"])]
    if "delivery_success" in params:
        wanted = as_bool(params["delivery_success"], "delivery_success")
        events = [e for e in events if (e["pending_webhooks"] == 0) == wanted]
    return list_response(store, "/v1/events", events, params)
