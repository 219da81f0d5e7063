"""Webhooks through dj-stripe's endpoint keep the subscriber's link and status right."""

from datetime import UTC, datetime
from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.urls import reverse
from django.utils.formats import date_format
from djstripe.models import Event, WebhookEventTrigger

from apps.subscriptions import signals
from apps.subscriptions.portal import create_portal_session
from apps.subscriptions.selectors import subscription_plan
from apps.subscriptions.subscribers import subscriber_for_subscription

from .test_checkout import return_from, start_checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed(
    billing_client,
    subscriber,
    urls,
    stripe_catalogue,
    stripe_emulator,
    webhook_endpoint,
    django_capture_on_commit_callbacks,
):
    """The subscriber on Pro (monthly), every webhook so far delivered."""
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    with django_capture_on_commit_callbacks(execute=True):
        return_from(billing_client, stripe_emulator.complete_checkout(session_id))
        stripe_emulator.deliver_webhooks()
    subscriber.refresh_from_db()
    return subscriber.subscription


def _portal(stripe_emulator, subscription, action, **kwargs):
    """Do in the customer portal what a subscriber would, through a portal session of the site."""
    subscriber = subscriber_for_subscription(subscription)
    url = create_portal_session(subscriber, "http://testserver/")
    session_id = url.rstrip("/").rsplit("/", 1)[-1]
    stripe_emulator.portal_action(session_id, subscription.id, action, **kwargs)


def test_a_bad_signature_is_400_and_stores_no_event(client, webhook_endpoint):
    url = reverse(
        "djstripe:djstripe_webhook_by_uuid",
        kwargs={"uuid": webhook_endpoint.djstripe_uuid},
    )
    body = (
        '{"id": "evt_forged", "object": "event", "livemode": false,'
        ' "type": "customer.subscription.deleted", "data": {"object": {}}}'
    )
    response = client.post(
        url,
        body,
        content_type="application/json",
        headers={"Stripe-Signature": "t=1,v1=forged"},
    )
    assert response.status_code == 400
    assert not Event.objects.exists()
    assert not WebhookEventTrigger.objects.filter(processed=True).exists()


def test_the_same_event_delivered_twice_is_processed_once(
    subscribed, stripe_emulator, subscriber, django_capture_on_commit_callbacks
):
    updates = []

    def receiver(sender, **kwargs):
        updates.append(kwargs["subscription"].id)

    signals.subscription_updated.connect(receiver, weak=False)
    try:
        _portal(stripe_emulator, subscribed, "cancel_at_period_end")
        with django_capture_on_commit_callbacks(execute=True):
            stripe_emulator.deliver_webhooks()
        [event] = stripe_emulator.events("customer.subscription.updated")[-1:]
        stripe_emulator.redeliver(event["id"])
        with django_capture_on_commit_callbacks(execute=True):
            attempts = stripe_emulator.deliver_webhooks()
    finally:
        signals.subscription_updated.disconnect(receiver)
    assert [a["status_code"] for a in attempts] == [200]
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert updates == [subscribed.id]


def test_a_plan_change_moves_the_subscriber_to_the_new_plan(
    subscribed, stripe_emulator, stripe_catalogue, subscriber
):
    _portal(
        stripe_emulator,
        subscribed,
        "switch_price",
        price=stripe_catalogue["starter"].id,
    )
    stripe_emulator.deliver_webhooks()
    subscriber.refresh_from_db()
    assert subscription_plan(subscriber.subscription).slug == "starter"
    assert subscriber.has_active_subscription()


def test_cancel_at_period_end_stays_active_until_then(
    subscribed, stripe_emulator, subscriber, billing_client, urls
):
    _portal(stripe_emulator, subscribed, "cancel_at_period_end")
    stripe_emulator.deliver_webhooks()
    subscriber.refresh_from_db()
    assert subscriber.has_active_subscription()
    assert subscriber.subscription.stripe_data["cancel_at_period_end"]
    assert "Ends on" in billing_client.get(urls("subscription")).content.decode()


def test_a_deletion_unlinks_and_mails_the_site_admins(
    subscribed,
    stripe_emulator,
    subscriber,
    django_capture_on_commit_callbacks,
    settings,
):
    settings.ADMINS = [("Admin", "admin@example.com")]
    _portal(stripe_emulator, subscribed, "cancel_now")
    with django_capture_on_commit_callbacks(execute=True):
        attempts = stripe_emulator.deliver_webhooks()
    assert "customer.subscription.deleted" in {a["type"] for a in attempts}
    subscriber.refresh_from_db()
    assert subscriber.subscription is None
    assert not subscriber.has_active_subscription()
    # The site admins' note; the subscriber's billing managers get their own.
    [message] = [m for m in mail.outbox if m.to == ["admin@example.com"]]
    assert "Subscription ended" in message.subject
    assert "Pro" in message.body


class AdminsMailServerDown(locmem.EmailBackend):
    """The test outbox, except that mail to the site admins fails as SMTP can."""

    def send_messages(self, messages):
        if any("admin@example.com" in message.to for message in messages):
            if self.fail_silently:  # as Django's own log handler sends
                return 0
            raise SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


def test_a_failing_mail_server_does_not_fail_the_webhook(
    subscribed,
    stripe_emulator,
    subscriber,
    django_capture_on_commit_callbacks,
    settings,
    caplog,
):
    settings.EMAIL_BACKEND = f"{__name__}.AdminsMailServerDown"
    settings.ADMINS = [("Admin", "admin@example.com")]
    _portal(stripe_emulator, subscribed, "cancel_now")
    with django_capture_on_commit_callbacks(execute=True):
        attempts = stripe_emulator.deliver_webhooks()
    assert {a["status_code"] for a in attempts} == {200}
    subscriber.refresh_from_db()
    assert subscriber.subscription is None
    assert "Connection unexpectedly closed" in caplog.text
    # The customer's e-mail, queued beside it, still went out.
    assert [m for m in mail.outbox if m.subject.endswith("subscription has ended")]


def test_after_a_deletion_the_page_says_which_plan_ended_and_when(
    subscribed, stripe_emulator, subscriber, billing_client, urls
):
    _portal(stripe_emulator, subscribed, "cancel_now")
    stripe_emulator.deliver_webhooks()
    subscribed.refresh_from_db()
    ended_at = datetime.fromtimestamp(subscribed.stripe_data["ended_at"], tz=UTC)

    page = " ".join(billing_client.get(urls("subscription")).content.decode().split())

    ended_on = date_format(ended_at, "DATE_FORMAT")
    assert f"Your Pro subscription ended on {ended_on}." in page
