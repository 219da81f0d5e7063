"""A change is signalled once, whichever path sees it first; webhook signals; and
events about objects the site does not know."""

from types import SimpleNamespace

import pytest
import stripe
from django.urls import reverse
from djstripe.models import Event

from apps.subscriptions import webhooks
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.transitions import (
    Snapshot,
    apply_subscription,
    transition_signals,
)
from apps.subscriptions.webhook_endpoints import (
    WEBHOOK_EVENTS,
    working_webhook_endpoint,
)

pytestmark = pytest.mark.django_db


def _schedule_end(subscription):
    stripe.Subscription.modify(
        subscription.id, cancel_at_period_end=True, **stripe_options()
    )


def test_a_redelivered_event_sends_nothing_again(billing, pro, sent):
    _schedule_end(pro)
    billing.deliver()
    assert sent.names().count("subscription_cancel_scheduled") == 1
    sent.clear()
    [event] = billing.emulator.events("customer.subscription.updated")[-1:]
    billing.emulator.redeliver(event["id"])
    attempts = billing.deliver()
    assert [a["event"] for a in attempts] == [event["id"]]
    assert sent.names() == []
    assert Event.objects.filter(id=event["id"]).count() == 1


def test_applying_the_same_subscription_again_sends_nothing(billing, pro, sent):
    _schedule_end(pro)
    with billing.capture(execute=True):
        first = apply_subscription(pro.id)
        again = apply_subscription(pro.id)
    assert "subscription_cancel_scheduled" in first.sent
    assert again.sent == []
    assert not again.changed
    assert sent.names().count("subscription_cancel_scheduled") == 1


def test_a_change_seen_by_polling_first_is_not_signalled_again_by_its_webhook(
    billing, pro, sent
):
    _schedule_end(pro)
    with billing.capture(execute=True):
        apply_subscription(pro.id)  # what a reconciliation would do
    billing.deliver()
    assert sent.names() == ["subscription_cancel_scheduled", "subscription_updated"]


def test_an_invoice_event_handled_twice_sends_its_signals_once(billing, pro, sent):
    billing.advance(days=32)
    event = Event.objects.filter(type="invoice.paid").latest("created")
    sent.clear()
    with billing.capture(execute=True):
        event.invoke_webhook_handlers()
    assert sent.names() == []


def test_signals_are_sent_only_once_the_transaction_commits(billing, pro, sent):
    _schedule_end(pro)
    with billing.capture(execute=False) as callbacks:
        apply_subscription(pro.id)
    assert sent.names() == []
    for callback in callbacks:
        callback()
    assert "subscription_cancel_scheduled" in sent.names()


def test_the_updated_signal_carries_previous_attributes(billing, pro, sent):
    _schedule_end(pro)
    billing.deliver()
    previous = sent.one("subscription_updated")["previous_attributes"]
    assert previous["cancel_at_period_end"] is False
    assert "status" not in previous


def test_a_subscription_first_seen_ended_sends_nothing():
    assert transition_signals(None, Snapshot(status="canceled"), {}) == []


def test_each_webhook_delivery_is_announced_received_and_processed(billing, pro, sent):
    _schedule_end(pro)
    [attempt] = billing.deliver()
    received = sent.one("webhook_received")
    processed = sent.one("webhook_processed")
    assert received["valid"] is True
    assert received["event_id"] == processed["event_id"] == attempt["event"]
    assert processed["event"].type == "customer.subscription.updated"
    assert processed["redelivery"] is False
    sent.clear()
    billing.emulator.redeliver(attempt["event"])
    billing.deliver()
    assert sent.one("webhook_processed")["redelivery"] is True


def test_a_forged_delivery_is_received_invalid(client, webhook_endpoint, sent):
    url = reverse(
        "djstripe:djstripe_webhook_by_uuid",
        kwargs={"uuid": webhook_endpoint.djstripe_uuid},
    )
    body = '{"id": "evt_forged", "livemode": false, "type": "invoice.paid"}'
    client.post(
        url, body, content_type="application/json", headers={"Stripe-Signature": "x"}
    )
    assert sent.one("webhook_received")["valid"] is False
    assert sent.names(webhooks=True) == ["webhook_received"]


def test_a_handler_that_raises_sends_webhook_failed(billing, pro, sent, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("handler broke")

    monkeypatch.setattr(webhooks, "apply_subscription", broken)
    _schedule_end(pro)
    with billing.capture(execute=True):
        [attempt] = billing.emulator.deliver_webhooks(raise_errors=False)
    assert attempt["status_code"] == 500
    failed = sent.one("webhook_failed")
    assert str(failed["exception"]) == "handler broke"
    assert failed["event_type"] == "customer.subscription.updated"
    assert "webhook_processed" not in sent.names(webhooks=True)
    assert not Event.objects.filter(id=attempt["event"]).exists()


def test_a_subscription_of_an_unknown_customer_is_left_alone(
    billing, stripe_catalogue, sent
):
    stranger = stripe.Customer.create(email="stranger@example.com", **stripe_options())
    card = stripe.PaymentMethod.attach(
        "pm_card_visa", customer=stranger.id, **stripe_options()
    )
    stripe.Subscription.create(
        customer=stranger.id,
        items=[{"price": stripe_catalogue["pro"].id}],
        default_payment_method=card.id,
        **stripe_options(),
    )
    billing.deliver()  # every delivery answered 200
    assert sent.names() == []


def test_an_event_about_a_subscription_stripe_does_not_have_is_ignored(
    stripe_emulator, sent
):
    event = SimpleNamespace(
        id="evt_gone",
        type="customer.subscription.updated",
        data={"object": {"id": "sub_gone", "object": "subscription"}},
    )
    webhooks.follow_subscription(Event, event)
    assert sent.names() == []


def test_an_endpoint_registered_without_the_lifecycle_events_is_given_them(
    webhook_endpoint, stripe_emulator
):
    stripe.WebhookEndpoint.modify(
        webhook_endpoint.id, enabled_events=["invoice.paid"], **stripe_options()
    )
    assert working_webhook_endpoint("http://testserver") == webhook_endpoint
    enabled = stripe_emulator.get("webhook_endpoint", webhook_endpoint.id)
    assert set(enabled["enabled_events"]) >= set(WEBHOOK_EVENTS)
