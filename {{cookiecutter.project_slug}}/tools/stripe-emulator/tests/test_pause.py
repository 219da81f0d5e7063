"""pause_collection (the subscription stays active, renewals are not charged) and
cancel_at (in-process door with test clocks)."""

import pytest
import stripe

from .billing import (
    DAY,
    START,
    customer_on,
    latest_event,
    monthly_price,
    subscribe,
    types_since,
)
from .conftest import Api

RENEWAL = START + 31 * DAY


@pytest.fixture
def price(stripe_emulator):
    return monthly_price()


@pytest.fixture
def clock(stripe_emulator):
    return stripe_emulator.create_test_clock(START)


@pytest.fixture
def sub(stripe_emulator, price, clock):
    return subscribe(customer_on(clock), price)


def pause(sub, behavior, **more):
    return stripe.Subscription.modify(
        sub.id, pause_collection={"behavior": behavior, **more}
    )


def renewal_invoice(sub):
    return stripe.Invoice.list(subscription=sub.id).data[0]


def test_pausing_collection_keeps_the_status_and_says_so(stripe_emulator, sub):
    paused = pause(sub, "void")

    assert paused.status == "active"
    assert (paused.pause_collection.behavior, paused.pause_collection.resumes_at) == (
        "void",
        None,
    )
    updated = latest_event(stripe_emulator, "customer.subscription.updated")
    assert updated["data"]["previous_attributes"] == {"pause_collection": None}


@pytest.mark.parametrize(
    ("behavior", "status", "events"),
    [
        ("keep_as_draft", "draft", ["invoice.created"]),
        (
            "mark_uncollectible",
            "uncollectible",
            ["invoice.created", "invoice.finalized", "invoice.marked_uncollectible"],
        ),
        ("void", "void", ["invoice.created", "invoice.finalized", "invoice.voided"]),
    ],
)
def test_renewals_while_paused_are_never_charged(
    stripe_emulator, sub, clock, behavior, status, events
):
    pause(sub, behavior)
    stripe_emulator.set_card(sub.customer, "fail")  # a charge would fail: none comes
    mark = len(stripe_emulator.events())

    stripe_emulator.advance_clock(clock, days=32)

    assert types_since(stripe_emulator, mark) == [
        *events,
        "customer.subscription.updated",
    ]
    invoice = renewal_invoice(sub)
    assert (invoice.billing_reason, invoice.status, invoice.auto_advance) == (
        "subscription_cycle",
        status,
        False,
    )
    assert (invoice.attempt_count, invoice.amount_paid) == (0, 0)
    renewed = stripe.Subscription.retrieve(sub.id)
    assert renewed.status == "active"
    assert renewed["items"].data[0].current_period_start == RENEWAL


def test_clearing_pause_collection_resumes_charging(stripe_emulator, sub, clock):
    pause(sub, "mark_uncollectible")
    stripe_emulator.advance_clock(clock, days=32)

    resumed = stripe.Subscription.modify(sub.id, pause_collection="")

    assert resumed.pause_collection is None
    updated = latest_event(stripe_emulator, "customer.subscription.updated")
    assert updated["data"]["previous_attributes"]["pause_collection"] == {
        "behavior": "mark_uncollectible",
        "resumes_at": None,
    }
    stripe_emulator.advance_clock(clock, days=28)
    assert (renewal_invoice(sub).status, renewal_invoice(sub).amount_paid) == (
        "paid",
        1500,
    )


def test_collection_resumes_by_itself_at_resumes_at(stripe_emulator, sub, clock):
    pause(sub, "void", resumes_at=START + 40 * DAY)
    stripe_emulator.advance_clock(clock, days=32)
    assert renewal_invoice(sub).status == "void"

    stripe_emulator.advance_clock(clock, days=10)

    assert stripe.Subscription.retrieve(sub.id).pause_collection is None
    updated = latest_event(stripe_emulator, "customer.subscription.updated")
    assert updated["created"] == START + 40 * DAY
    assert updated["data"]["previous_attributes"]["pause_collection"]["behavior"] == (
        "void"
    )
    stripe_emulator.advance_clock(clock, days=20)
    assert renewal_invoice(sub).status == "paid"


def test_invoices_from_before_the_pause_keep_their_retries(stripe_emulator, sub, clock):
    stripe_emulator.set_card(sub.customer, "fail")
    stripe_emulator.advance_clock(clock, days=32)
    pause(sub, "keep_as_draft")
    stripe_emulator.set_card(sub.customer, "success")

    stripe_emulator.advance_clock(clock, days=3)

    assert renewal_invoice(sub).status == "paid"
    assert stripe.Subscription.retrieve(sub.id).status == "active"


@pytest.mark.parametrize(
    ("pause_collection", "param"),
    [
        ({"behavior": "sleep"}, "pause_collection[behavior]"),
        ({"resumes_at": START + DAY}, "pause_collection[behavior]"),
        ({"behavior": "void", "resumes_at": START - 1}, "pause_collection[resumes_at]"),
        ({"behavior": "void", "until": 1}, "pause_collection[until]"),
    ],
)
def test_bad_pause_collection_is_refused(sub, pause_collection, param):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe.Subscription.modify(sub.id, pause_collection=pause_collection)
    assert caught.value.param == param
    assert stripe.Subscription.retrieve(sub.id).pause_collection is None


def test_pausing_is_idempotent(stripe_emulator, sub):
    api = Api(stripe_emulator.engine)
    path = f"/v1/subscriptions/{sub.id}"
    body = "pause_collection[behavior]=void"
    headers = {"Idempotency-Key": "pause-1"}
    mark = len(stripe_emulator.events())

    first = api.ok("POST", path, body, headers=headers)
    again = api.ok("POST", path, body, headers=headers)

    assert first == again
    assert types_since(stripe_emulator, mark) == ["customer.subscription.updated"]


# -- cancel_at ---------------------------------------------------------------------


def test_cancel_at_ends_the_subscription_at_that_moment(stripe_emulator, sub, clock):
    when = START + 10 * DAY
    scheduled = stripe.Subscription.modify(sub.id, cancel_at=when)
    assert (scheduled.cancel_at, scheduled.cancel_at_period_end) == (when, False)
    assert scheduled.cancellation_details.reason == "cancellation_requested"
    mark = len(stripe_emulator.events())

    stripe_emulator.advance_clock(clock, days=20)

    assert types_since(stripe_emulator, mark) == ["customer.subscription.deleted"]
    ended = stripe.Subscription.retrieve(sub.id)
    assert (ended.status, ended.ended_at) == ("canceled", when)


def test_cancel_at_in_a_later_period_bills_that_period_up_to_it(
    stripe_emulator, sub, clock
):
    when = RENEWAL + 10 * DAY
    stripe.Subscription.modify(sub.id, cancel_at=when)

    stripe_emulator.advance_clock(clock, days=32)

    invoice = renewal_invoice(sub)
    assert invoice.amount_paid == round(1500 * 10 / 28)
    assert invoice.lines.data[0].period.end == when
    stripe_emulator.advance_clock(clock, days=10)
    ended = stripe.Subscription.retrieve(sub.id)
    assert (ended.status, ended.ended_at) == ("canceled", when)


def test_cancel_at_can_be_cleared(stripe_emulator, sub, clock):
    stripe.Subscription.modify(sub.id, cancel_at=START + 10 * DAY)

    cleared = stripe.Subscription.modify(sub.id, cancel_at="")

    assert (cleared.cancel_at, cleared.canceled_at) == (None, None)
    assert cleared.cancellation_details.reason is None
    stripe_emulator.advance_clock(clock, days=20)
    assert stripe.Subscription.retrieve(sub.id).status == "active"


def test_cancel_at_in_the_past_is_refused(sub):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe.Subscription.modify(sub.id, cancel_at=START - DAY)
    assert caught.value.param == "cancel_at"


def test_cancel_at_period_end_still_sets_cancel_at(stripe_emulator, sub, clock):
    scheduled = stripe.Subscription.modify(sub.id, cancel_at_period_end=True)
    assert (scheduled.cancel_at, scheduled.cancel_at_period_end) == (RENEWAL, True)
    stripe_emulator.advance_clock(clock, days=32)
    assert stripe.Subscription.retrieve(sub.id).ended_at == RENEWAL


def test_cancel_now_can_invoice_now(stripe_emulator, sub):
    ended = stripe.Subscription.cancel(sub.id, invoice_now=True, prorate=True)
    assert (ended.status, ended.ended_at) == ("canceled", START)
    assert latest_event(stripe_emulator, "customer.subscription.deleted")
