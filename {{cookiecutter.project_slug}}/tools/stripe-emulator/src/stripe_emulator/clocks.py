"""Test clocks: frozen time for their customers, moved on by `advance`, which runs
every renewal, retry and expiry due by then (see `schedule.py`)."""

from . import shapes
from .customers import delete_customer
from .errors import invalid
from .events import emit
from .listing import simple_list
from .params import as_timestamp, check_params
from .schedule import run_steps
from .shapes import JSON
from .store import Store


def create_test_clock(store: Store, params: JSON) -> JSON:
    check_params(params, {"frozen_time", "name"}, required=["frozen_time"])
    frozen = as_timestamp(params["frozen_time"], "frozen_time")
    clock = shapes.test_clock(
        store.new_id("test_helpers.test_clock"),
        int(store.clock()),
        frozen,
        params.get("name") or None,
    )
    store.save(clock)
    emit(store, "test_helpers.test_clock.created", clock)
    return store.render(clock)


def retrieve_test_clock(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    return store.render(store.fetch("test_helpers.test_clock", id))


def list_test_clocks(store: Store, params: JSON) -> JSON:
    return simple_list(
        store, "test_helpers.test_clock", "/v1/test_helpers/test_clocks", params
    )


def delete_test_clock(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, set())
    clock = store.fetch("test_helpers.test_clock", id)
    for customer in store.oldest_first(store.where("customer", "test_clock", id)):
        delete_customer(store, {}, customer["id"])
    store.remove(id)
    emit(store, "test_helpers.test_clock.deleted", clock)
    return shapes.deleted("test_helpers.test_clock", id)


def advance_test_clock(store: Store, params: JSON, id: str) -> JSON:
    check_params(params, {"frozen_time"}, required=["frozen_time"])
    clock = store.fetch("test_helpers.test_clock", id)
    target = as_timestamp(params["frozen_time"], "frozen_time")
    if target <= clock["frozen_time"]:
        raise invalid(
            "The frozen_time must be after the test clock's current frozen time.",
            param="frozen_time",
        )
    emit(store, "test_helpers.test_clock.advancing", clock)
    customer_ids = {c["id"] for c in store.where("customer", "test_clock", clock["id"])}
    run_steps(store, customer_ids, target, clock)
    clock["status"] = "ready"
    emit(store, "test_helpers.test_clock.ready", clock)
    return store.render(clock)
