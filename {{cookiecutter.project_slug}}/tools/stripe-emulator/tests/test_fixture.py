"""The in-process door and the `stripe_emulator` fixture's API."""

import pytest
import stripe

from stripe_emulator.client import EmulatorHTTPClient
from stripe_emulator.errors import StripeError


@pytest.fixture
def price(stripe_emulator):
    product = stripe.Product.create(name="Pro")
    return stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=800,
        recurring={"interval": "month"},
    )


def checkout(price, quantity=1):
    return stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": price.id, "quantity": quantity}],
        success_url="https://s.test/ok?id={CHECKOUT_SESSION_ID}",
    )


def test_the_fixture_installs_the_in_process_client(stripe_emulator):
    assert isinstance(stripe.default_http_client, EmulatorHTTPClient)
    assert stripe.default_http_client.engine is stripe_emulator.engine


def test_stripe_client_instances_use_it_too(stripe_emulator):
    client = stripe.StripeClient("sk_test_" + "x" * 24)
    customer = client.v1.customers.create(params={"email": "sc@example.com"})
    assert stripe_emulator.get("customer", customer.id)["email"] == "sc@example.com"


def test_each_test_starts_empty(stripe_emulator):
    assert stripe.Customer.list().data == []


def test_complete_checkout_success_and_decline(stripe_emulator, price):
    declined = checkout(price)
    with pytest.raises(StripeError) as caught:
        stripe_emulator.complete_checkout(declined.id, card="decline")
    assert caught.value.status == 402
    assert stripe_emulator.all("subscription") == []

    url = stripe_emulator.complete_checkout(declined.id, card="success")
    assert url == f"https://s.test/ok?id={declined.id}"
    assert stripe_emulator.all("subscription")[0]["status"] == "active"


def test_portal_actions(stripe_emulator, price):
    session = checkout(price, quantity=2)
    stripe_emulator.complete_checkout(session.id)
    done = stripe.checkout.Session.retrieve(session.id)
    portal = stripe.billing_portal.Session.create(customer=done.customer)

    changed = stripe_emulator.portal_action(
        portal.id, done.subscription, "set_quantity", quantity=4
    )
    assert changed["items"]["data"][0]["quantity"] == 4
    stripe_emulator.portal_action(portal.id, done.subscription, "cancel_at_period_end")
    assert stripe.Subscription.retrieve(done.subscription).cancel_at_period_end is True
    stripe_emulator.portal_action(portal.id, done.subscription, "cancel_now")
    assert stripe.Subscription.retrieve(done.subscription).status == "canceled"


def test_fail_next_500_is_retried_by_stripe_python(stripe_emulator):
    customer = stripe.Customer.create(email="r@example.com")
    stripe_emulator.fail_next(f"/v1/customers/{customer.id}", n=1, status=500)
    stripe_emulator.reset_counts()

    assert (
        stripe.Customer.retrieve(customer.id, max_network_retries=2).id == customer.id
    )
    assert stripe_emulator.count("GET", f"/v1/customers/{customer.id}") == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, stripe.APIError),
        (429, stripe.RateLimitError),
        ("timeout", stripe.APIConnectionError),
    ],
)
def test_fail_next_raises_the_matching_stripe_error(stripe_emulator, status, error):
    stripe_emulator.fail_next("/v1/customers", status=status, method="POST")
    with pytest.raises(error):
        stripe.Customer.create(email="f@example.com", max_network_retries=0)
    assert stripe.Customer.create(email="f@example.com", max_network_retries=0).id


def test_counts_split_reads_and_writes(stripe_emulator, price):
    stripe_emulator.reset_counts()
    customer = stripe.Customer.create(email="c@example.com")
    stripe.Customer.retrieve(customer.id)
    stripe.Customer.retrieve(customer.id)
    assert (stripe_emulator.writes, stripe_emulator.reads) == (1, 2)
    assert stripe_emulator.count(path="/v1/customers/*") == 2


def test_advance_clock_returns_the_new_time_and_is_not_counted(stripe_emulator):
    clock = stripe_emulator.create_test_clock(1700000000)
    assert stripe_emulator.advance_clock(clock, days=1, seconds=5) == 1700086405
    assert stripe_emulator.writes + stripe_emulator.reads == 0
    assert stripe.test_helpers.TestClock.retrieve(clock).frozen_time == 1700086405


def test_webhooks_wait_for_deliver_webhooks_by_default(stripe_emulator):
    stripe.WebhookEndpoint.create(
        url="https://s.test/stripe/webhook/x/", enabled_events=["*"]
    )
    stripe.Customer.create(email="q@example.com")
    assert [d["status"] for d in stripe_emulator.deliveries()] == ["pending"]


@pytest.mark.django_db
@pytest.mark.stripe_emulator(auto_deliver=True)
def test_auto_deliver_sends_after_each_call(stripe_emulator):
    stripe.WebhookEndpoint.create(url="https://s.test/nowhere/", enabled_events=["*"])
    stripe.Customer.create(email="q@example.com")
    delivery = stripe_emulator.deliveries()[0]
    assert delivery["attempts"][0]["status_code"] == 404
    assert delivery["status"] == "pending"


@pytest.mark.django_db
def test_a_delivery_is_redelivered_on_request(stripe_emulator):
    stripe.WebhookEndpoint.create(url="https://s.test/nowhere/", enabled_events=["*"])
    customer = stripe.Customer.create(email="q@example.com")
    event = stripe_emulator.events("customer.created")[0]
    stripe_emulator.settings(webhook_retry_delays=[])
    stripe_emulator.deliver_webhooks()
    assert stripe_emulator.deliveries()[0]["status"] == "failed"

    stripe_emulator.redeliver(event["id"])
    attempts = stripe_emulator.deliver_webhooks()

    assert [a["event"] for a in attempts] == [event["id"]]
    assert event["data"]["object"]["id"] == customer.id
