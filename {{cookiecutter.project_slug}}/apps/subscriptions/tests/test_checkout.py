"""Checkout against the emulator: starting it, and provisioning on return or webhook."""

import re
from urllib.parse import urlsplit

import pytest
from django.db import OperationalError
from djstripe.models import Customer, Subscription

from apps.subscriptions import checkout, signals
from apps.subscriptions.subscribers import subscriber_reference
from apps.subscriptions.tests.concurrency import run_at_once

pytestmark = pytest.mark.django_db


@pytest.fixture
def activations():
    received = []

    def receiver(sender, subscriber, subscription, **kwargs):
        received.append((subscriber.pk, subscription.id))

    signals.subscription_activated.connect(receiver, weak=False)
    yield received
    signals.subscription_activated.disconnect(receiver)


def start_checkout(client, urls, price) -> str:
    """POST the price to checkout; the id of the Checkout session it redirects to."""
    response = client.post(urls("checkout"), {"price_id": price.id})
    assert response.status_code == 302, response.content
    return urlsplit(response["Location"]).path.rstrip("/").rsplit("/", 1)[-1]


def return_from(client, success_url):
    parts = urlsplit(success_url)
    return client.get(f"{parts.path}?{parts.query}")


def test_checkout_opens_a_session_for_the_subscriber(
    billing_client, subscriber, urls, stripe_catalogue, stripe_emulator, settings
):
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    session = stripe_emulator.get("checkout.session", session_id)
    assert session["mode"] == "subscription"
    assert session["client_reference_id"] == subscriber_reference(subscriber)
    assert session["metadata"]["subscriber"] == subscriber_reference(subscriber)
    assert "{CHECKOUT_SESSION_ID}" in session["success_url"]
    subscriber.refresh_from_db()
    assert session["customer"] == subscriber.customer.id
    [line] = stripe_emulator.engine.private(session_id)["line_items"]
    expected = subscriber.get_quantity() if settings.SUBSCRIPTIONS_PER_SEAT else 1
    assert line["quantity"] == expected


def test_checkout_reuses_the_customer(
    billing_client, subscriber, urls, stripe_catalogue, stripe_emulator
):
    start_checkout(billing_client, urls, stripe_catalogue["pro"])
    start_checkout(billing_client, urls, stripe_catalogue["starter"])
    assert len(stripe_emulator.all("customer")) == 1
    assert Customer.objects.count() == 1


def test_the_return_page_provisions_the_subscription(
    billing_client,
    subscriber,
    urls,
    stripe_catalogue,
    stripe_emulator,
    activations,
    django_capture_on_commit_callbacks,
):
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    success_url = stripe_emulator.complete_checkout(session_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = return_from(billing_client, success_url)
    assert response.status_code == 200
    assert 'data-testid="confirmed-plan">Pro<' in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.has_active_subscription()
    assert activations == [(subscriber.pk, subscriber.subscription.id)]


@pytest.mark.parametrize("webhooks_first", [False, True])
def test_the_confirm_page_names_the_card_just_used(
    billing_client,
    urls,
    stripe_catalogue,
    stripe_emulator,
    webhook_endpoint,
    webhooks_first,
):
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    success_url = stripe_emulator.complete_checkout(session_id)
    if webhooks_first:
        stripe_emulator.deliver_webhooks()
    page = return_from(billing_client, success_url).content.decode()
    [card] = [pm["card"] for pm in stripe_emulator.all("payment_method")]
    expected = f"{card['brand'].title()} ending {card['last4']}"
    assert re.search(rf'data-testid="payment-method">\s*{expected}\s*<', page)


def test_checkout_is_cancelled_back_to_a_page_that_says_so(
    billing_client, urls, stripe_catalogue, stripe_emulator
):
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    cancel_url = urlsplit(
        stripe_emulator.get("checkout.session", session_id)["cancel_url"]
    )
    response = billing_client.get(f"{cancel_url.path}?{cancel_url.query}", follow=True)
    assert response.redirect_chain[-1][0] == urls("subscription")
    assert "Checkout was cancelled; nothing was charged." in response.content.decode()


def test_a_declined_card_leaves_the_subscriber_unsubscribed(
    billing_client, subscriber, urls, stripe_catalogue, stripe_emulator
):
    from stripe_emulator.errors import StripeError

    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    with pytest.raises(StripeError):
        stripe_emulator.complete_checkout(session_id, card="decline")
    success_url = f"{urls('checkout_success')}?session_id={session_id}"
    response = billing_client.get(success_url)
    assert "Payment not complete" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.subscription is None
    assert not Subscription.objects.exists()


def test_an_open_session_shows_a_message_and_provisions_nothing(
    billing_client, subscriber, urls, stripe_catalogue
):
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    response = billing_client.get(f"{urls('checkout_success')}?session_id={session_id}")
    assert response.status_code == 200
    assert "has not gone through" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.subscription is None


def test_another_subscribers_session_is_404(
    client,
    billing_client,
    urls,
    stripe_catalogue,
    stripe_emulator,
    other_subscriber,
    other_billing_user,
):
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    stripe_emulator.complete_checkout(session_id)
    other = other_subscriber
    client.force_login(other_billing_user)
    other_url = checkout_url_for(other)
    assert client.get(f"{other_url}?session_id={session_id}").status_code == 404
    assert client.get(f"{other_url}?session_id=cs_nope").status_code == 404
    other.refresh_from_db()
    assert other.subscription is None


def checkout_url_for(subscriber):
    from apps.subscriptions.subscribers import subscriber_reverse

    return subscriber_reverse("checkout_success", subscriber)


def test_an_active_subscriber_is_sent_to_the_portal_not_a_second_checkout(
    billing_client, subscriber, urls, stripe_catalogue, stripe_emulator
):
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    return_from(billing_client, stripe_emulator.complete_checkout(session_id))
    response = billing_client.post(
        urls("checkout"), {"price_id": stripe_catalogue["starter"].id}
    )
    assert response.status_code == 302
    assert "/portal/" in response["Location"] or "billing" in response["Location"]
    assert len(stripe_emulator.all("checkout.session")) == 1


def test_paid_elsewhere_before_the_webhook_links_instead_of_selling_twice(
    billing_client, subscriber, urls, stripe_catalogue, stripe_emulator
):
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    stripe_emulator.complete_checkout(session_id)  # no return, no webhook yet
    billing_client.post(urls("checkout"), {"price_id": stripe_catalogue["pro"].id})
    subscriber.refresh_from_db()
    assert subscriber.has_active_subscription()
    assert len(stripe_emulator.all("checkout.session")) == 1


def test_return_page_then_webhook_provisions_once(
    billing_client,
    subscriber,
    urls,
    stripe_catalogue,
    stripe_emulator,
    webhook_endpoint,
    activations,
    django_capture_on_commit_callbacks,
):
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    with django_capture_on_commit_callbacks(execute=True):
        return_from(billing_client, stripe_emulator.complete_checkout(session_id))
    subscriber.refresh_from_db()
    linked = subscriber.subscription_id
    with django_capture_on_commit_callbacks(execute=True):
        attempts = stripe_emulator.deliver_webhooks()
    assert {a["status_code"] for a in attempts} == {200}
    assert "checkout.session.completed" in {a["type"] for a in attempts}
    subscriber.refresh_from_db()
    assert subscriber.subscription_id == linked
    assert len(activations) == 1
    assert Subscription.objects.count() == 1


def test_webhook_then_return_page_provisions_once(
    billing_client,
    subscriber,
    urls,
    stripe_catalogue,
    stripe_emulator,
    webhook_endpoint,
    activations,
    django_capture_on_commit_callbacks,
):
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    success_url = stripe_emulator.complete_checkout(session_id)
    with django_capture_on_commit_callbacks(execute=True):
        stripe_emulator.deliver_webhooks()
    subscriber.refresh_from_db()
    assert subscriber.has_active_subscription()
    linked = subscriber.subscription_id
    with django_capture_on_commit_callbacks(execute=True):
        result = checkout.complete_checkout_session(session_id, subscriber=subscriber)
        assert return_from(billing_client, success_url).status_code == 200
    assert result.outcome == checkout.CheckoutOutcome.ALREADY_PROVISIONED
    subscriber.refresh_from_db()
    assert subscriber.subscription_id == linked
    assert len(activations) == 1


@pytest.mark.django_db(transaction=True)
def test_return_page_and_webhook_at_once_provision_once(
    billing_client, subscriber, urls, stripe_catalogue, stripe_emulator, activations
):
    from apps.subscriptions.webhooks import provision_completed_checkout

    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    stripe_emulator.complete_checkout(session_id)
    session = stripe_emulator.get("checkout.session", session_id)
    event = type("Event", (), {"data": {"object": session}})()
    errors = run_at_once(
        lambda: checkout.complete_checkout_session(session_id, subscriber),
        lambda: provision_completed_checkout(None, event),
    )
    assert errors == []
    subscriber.refresh_from_db()
    assert subscriber.has_active_subscription()
    assert Subscription.objects.count() == 1
    assert len(activations) == 1


@pytest.mark.parametrize(("use_https", "scheme"), [(True, "https"), (False, "http")])
def test_use_https_in_absolute_urls_sets_the_scheme_of_every_url_stripe_gets(
    billing_client,
    subscriber,
    urls,
    stripe_catalogue,
    stripe_emulator,
    settings,
    use_https,
    scheme,
):
    settings.USE_HTTPS_IN_ABSOLUTE_URLS = use_https
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    session = stripe_emulator.get("checkout.session", session_id)
    return_from(billing_client, stripe_emulator.complete_checkout(session_id))
    billing_client.post(urls("portal"))
    [portal] = stripe_emulator.all("billing_portal.session")

    handed_to_stripe = [
        session["success_url"],
        session["cancel_url"],
        portal["return_url"],
    ]
    assert [urlsplit(url).scheme for url in handed_to_stripe] == [scheme] * 3
    assert {urlsplit(url).netloc for url in handed_to_stripe} == {"testserver"}


class Deadlock(Exception):
    sqlstate = "40P01"


def _deadlocked(calls, times):
    def link(subscriber, subscription_id):
        calls.append(subscription_id)
        if len(calls) <= times:
            raise OperationalError("deadlock detected") from Deadlock()
        return "linked"

    return link


@pytest.fixture
def on_postgresql(monkeypatch):
    monkeypatch.setattr(checkout.connection, "vendor", "postgresql")


def test_a_link_that_lost_a_deadlock_is_tried_once_more(monkeypatch, on_postgresql):
    calls = []
    monkeypatch.setattr(checkout, "link_subscription", _deadlocked(calls, 1))
    assert checkout._link_retrying_a_deadlock(None, "sub_1") == "linked"
    assert calls == ["sub_1", "sub_1"]


def test_a_second_deadlock_is_raised(monkeypatch, on_postgresql):
    calls = []
    monkeypatch.setattr(checkout, "link_subscription", _deadlocked(calls, 2))
    with pytest.raises(OperationalError):
        checkout._link_retrying_a_deadlock(None, "sub_1")
    assert calls == ["sub_1", "sub_1"]


def test_other_database_errors_are_not_tried_again(monkeypatch, on_postgresql):
    calls = []

    def link(subscriber, subscription_id):
        calls.append(subscription_id)
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(checkout, "link_subscription", link)
    with pytest.raises(OperationalError):
        checkout._link_retrying_a_deadlock(None, "sub_1")
    assert calls == ["sub_1"]
