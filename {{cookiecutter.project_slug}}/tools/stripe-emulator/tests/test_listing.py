"""Listing for reconciliation and recovery: every subscription of the account page by
page, and events by time and type, newest first, reading about a page each time."""

import pytest
import stripe

from stripe_emulator.engine import Engine

from .billing import DAY, START, customer_on, monthly_price, subscribe
from .conftest import Api


@pytest.fixture
def price(stripe_emulator):
    return monthly_price()


@pytest.fixture
def every_status(stripe_emulator, price):
    """Six subscriptions on their own clocks (so `created` is not the order they
    were made in): active, canceled, active with collection paused, and one whose
    first invoice expired unpaid. Returns their ids, newest first."""
    made = []
    for offset in (5, 1, 3, 2, 4):
        clock = stripe_emulator.create_test_clock(START + offset * DAY)
        customer = customer_on(clock)
        made.append((START + offset * DAY, subscribe(customer, price), clock))
    stripe.Subscription.cancel(made[1][1].id)
    stripe.Subscription.modify(made[2][1].id, pause_collection={"behavior": "void"})
    failing = customer_on(stripe_emulator.create_test_clock(START + 6 * DAY), None)
    expired = subscribe(failing, price, payment_behavior="default_incomplete")
    stripe_emulator.advance_clock(failing.test_clock, days=2)
    made.append((START + 6 * DAY, expired, failing.test_clock))
    made.sort(key=lambda m: -m[0])
    return [m[1].id for m in made]


def test_status_all_pages_through_every_subscription(stripe_emulator, every_status):
    seen, after = [], None
    while True:
        page = stripe.Subscription.list(
            status="all", limit=2, **({"starting_after": after} if after else {})
        )
        seen += [s.id for s in page.data]
        if not page.has_more:
            break
        after = page.data[-1].id

    assert seen == every_status
    statuses = {s["status"] for s in stripe_emulator.all("subscription")}
    assert statuses == {"active", "canceled", "incomplete_expired"}


def test_auto_paging_lists_the_same(every_status):
    listed = stripe.Subscription.list(status="all", limit=2).auto_paging_iter()
    assert [s.id for s in listed] == every_status


def test_the_default_list_leaves_out_ended_ones(every_status):
    listed = [s.id for s in stripe.Subscription.list(limit=100).data]
    assert len(listed) == 4
    assert [s for s in every_status if s in listed] == listed
    ended = stripe.Subscription.list(status="ended").data
    assert {s.status for s in ended} == {"canceled", "incomplete_expired"}


def test_ending_before_pages_backwards(every_status):
    page = stripe.Subscription.list(
        status="all", limit=2, ending_before=every_status[4]
    )
    assert [s.id for s in page.data] == every_status[2:4]
    assert page.has_more
    first = stripe.Subscription.list(
        status="all", limit=5, ending_before=every_status[2]
    )
    assert ([s.id for s in first.data], first.has_more) == (every_status[:2], False)


def test_an_unknown_cursor_is_a_404(every_status):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe.Subscription.list(status="all", starting_after="sub_nope")
    assert caught.value.http_status == 404


@pytest.fixture
def events(stripe_emulator):
    """On days 1 to 5 of a clock, a customer is created then updated (the clock's
    own events are at real time)."""
    api = Api(stripe_emulator.engine)
    clock = stripe_emulator.create_test_clock(START)
    for day in range(1, 6):
        stripe_emulator.advance_clock(clock, to=START + day * DAY)
        made = api.ok("POST", "/v1/customers", f"test_clock={clock}")
        api.ok("POST", f"/v1/customers/{made['id']}", f"email=d{day}@example.com")
    return api


def created_days(listed):
    return [(e["created"] - START) // DAY for e in listed["data"]]


def test_events_after_a_time_newest_first(events):
    listed = events.ok(
        "GET",
        "/v1/events",
        query=f"type=customer.created&created[gt]={START + 2 * DAY}",
    )
    assert created_days(listed) == [5, 4, 3]
    listed = events.ok(
        "GET",
        "/v1/events",
        query=f"type=customer.created&created[gte]={START + 2 * DAY}",
    )
    assert created_days(listed) == [5, 4, 3, 2]


def test_events_by_types_and_wildcard(events):
    listed = events.ok(
        "GET",
        "/v1/events",
        query="types[]=customer.created&types[]=customer.updated&limit=4",
    )
    assert [e["type"] for e in listed["data"]] == [
        "customer.updated",
        "customer.created",
    ] * 2
    assert created_days(listed) == [5, 5, 4, 4]
    assert listed["has_more"]
    wildcard = events.ok("GET", "/v1/events", query="type=customer.*&limit=100")
    assert len(wildcard["data"]) == 10
    assert {e["type"] for e in wildcard["data"]} == {
        "customer.created",
        "customer.updated",
    }


def test_events_page_with_cursors(events):
    query = "type=customer.created&limit=2"
    first = events.ok("GET", "/v1/events", query=query)
    second = events.ok(
        "GET", "/v1/events", query=f"{query}&starting_after={first['data'][-1]['id']}"
    )
    back = events.ok(
        "GET", "/v1/events", query=f"{query}&ending_before={second['data'][0]['id']}"
    )
    assert created_days(first) == [5, 4]
    assert created_days(second) == [3, 2]
    assert back["data"] == first["data"]


def test_a_page_reads_about_a_page_of_events():
    """Listing reads the page (and one more to know has_more), not every event."""
    engine = Engine()
    api = Api(engine)
    for index in range(300):
        api.ok("POST", "/v1/customers", f"email=c{index}@example.com")

    class Counting(dict):
        reads = 0

        def __getitem__(self, key):
            Counting.reads += 1
            return super().__getitem__(key)

    engine.store.objects = Counting(engine.store.objects)
    listed = api.ok("GET", "/v1/events", query="limit=5")
    after = api.ok(
        "GET", "/v1/events", query=f"limit=5&starting_after={listed['data'][2]['id']}"
    )

    assert len(listed["data"]) == len(after["data"]) == 5
    assert Counting.reads <= 2 * 6 + 1
    assert after["data"][:2] == listed["data"][3:]


def test_the_order_survives_a_restart(stripe_emulator, every_status):
    _, saved = stripe_emulator.engine.to_json()
    restored = Engine()
    restored.load_json(saved)
    api = Api(restored)
    listed = api.ok("GET", "/v1/subscriptions", query="status=all&limit=100")
    assert [s["id"] for s in listed["data"]] == every_status
    # New objects still sort after restored ones created at the same time.
    api.ok("POST", "/v1/customers", "email=new@example.com")
    newest = api.ok("GET", "/v1/customers", query="limit=1")["data"][0]
    assert newest["email"] == "new@example.com"
