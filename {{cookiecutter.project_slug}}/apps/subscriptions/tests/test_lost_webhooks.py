"""A lost webhook is caught. With the site's endpoint disabled in Stripe, a
cancellation never reaches the site, which goes on showing the subscription active;
the reconciliation or the missed-webhook check applies it, and whichever runs first,
with a late redelivery on top, the subscriber hears of it once."""

import time
from io import StringIO

import pytest
import stripe
from django.core import mail
from django.core.management import call_command

from apps.subscriptions.stripe_client import stripe_options

pytestmark = pytest.mark.django_db

RECONCILE = "reconcile_subscriptions"
CHECK = "check_pending_webhooks"


@pytest.fixture
def billing(billing_at):
    """Billing on a test clock an hour ahead, so that the subscription's events are
    dated after the endpoint's registration (see test_pending_webhooks)."""
    return billing_at(int(time.time()) + 3600)


@pytest.fixture
def gate(billing_client, urls):
    """Whether the subscriber's gated page lets its billing user in."""

    def is_open() -> bool:
        response = billing_client.get(urls("demo_subscribers"))
        assert response.status_code in (200, 302)
        return response.status_code == 200

    return is_open


@pytest.fixture
def lost_cancellation(billing, pro, webhook_endpoint, sent, settings):
    """Pro canceled in Stripe while the endpoint is disabled: the webhook is lost."""
    settings.ADMINS = [("Admin", "admin@example.com")]
    stripe.WebhookEndpoint.modify(
        webhook_endpoint.id, disabled=True, **stripe_options()
    )
    stripe.Subscription.cancel(pro.id, **stripe_options())
    assert billing.deliver() == []
    return pro


def run(billing, command):
    with billing.capture(execute=True):
        call_command(command, stdout=StringIO())


def linked(subscriber):
    subscriber.refresh_from_db()
    return subscriber.subscription


def ended_mails():
    return [m for m in mail.outbox if m.to == ["admin@example.com"]]


def test_the_site_goes_on_showing_a_lost_cancellation_active(
    lost_cancellation, subscriber, gate, sent
):
    assert linked(subscriber).id == lost_cancellation.id
    assert subscriber.has_active_subscription()
    assert gate()
    assert sent.names() == []


def test_the_reconciliation_catches_a_lost_cancellation(
    lost_cancellation, billing, subscriber, gate, sent
):
    run(billing, RECONCILE)

    assert linked(subscriber) is None
    assert sent.names().count("subscription_canceled") == 1
    assert not gate()


def test_the_missed_webhook_check_catches_a_lost_cancellation(
    lost_cancellation, billing, subscriber, gate, sent
):
    run(billing, CHECK)

    assert linked(subscriber) is None
    assert sent.names().count("subscription_canceled") == 1
    assert not gate()


@pytest.mark.parametrize(
    "first, then", [(RECONCILE, CHECK), (CHECK, RECONCILE)], ids=["reconcile", "check"]
)
def test_both_and_a_late_redelivery_signal_the_cancellation_once(
    lost_cancellation, billing, webhook_endpoint, subscriber, gate, sent, first, then
):
    run(billing, first)
    run(billing, then)
    stripe.WebhookEndpoint.modify(
        webhook_endpoint.id, disabled=False, **stripe_options()
    )
    [deleted] = billing.emulator.events("customer.subscription.deleted")
    billing.emulator.redeliver(deleted["id"], webhook_endpoint.id)
    [attempt] = billing.deliver()  # answered 200, asserted by deliver()

    assert attempt["event"] == deleted["id"]
    assert sent.names().count("subscription_canceled") == 1
    assert len(ended_mails()) == 1
    assert linked(subscriber) is None
    assert not gate()
