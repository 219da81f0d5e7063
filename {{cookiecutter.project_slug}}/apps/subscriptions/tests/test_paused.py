"""A paused subscription (a trial that ended without a card, with the end behavior
"pause"): kept on the pages, never sold a second time, and resumed by a billing
manager once a card is added."""

import re
from urllib.parse import urlsplit

import pytest
import stripe
from django.contrib.messages import get_messages

from apps.subscriptions.decorators import SUBSCRIPTION_PAUSED as GATE_PAUSED
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.views import SUBSCRIPTION_PAUSED

from .test_trials import open_checkout

pytestmark = pytest.mark.django_db

STATUS = re.compile(r'data-testid="plan-status">([^<]*)<')


def page_of(client, urls) -> str:
    return client.get(urls("subscription")).content.decode()


def gate_open(client, urls) -> bool:
    return client.get(urls("demo_subscribers")).status_code == 200


def stripe_subscriptions(billing) -> list:
    listing = stripe.Subscription.list(
        customer=billing.customer_id, status="all", **stripe_options()
    )
    return list(listing.data)


@pytest.fixture
def paused(
    billing_client, urls, billing_at, stripe_catalogue, stripe_emulator, settings, sent
):
    """The subscriber's Starter trial, started without a card, ended and paused."""
    settings.SUBSCRIPTIONS_TRIAL_END_BEHAVIOR = "pause"
    billing = billing_at(card=False)
    session_id = open_checkout(billing_client, urls, stripe_catalogue["starter"])
    stripe_emulator.complete_checkout(session_id, card=None)
    billing.deliver()
    billing.advance(days=15)
    assert billing.stripe_subscription().status == "paused"
    sent.clear()
    return billing


def test_a_paused_subscription_stays_on_the_page_without_plans_to_buy(
    paused, billing_client, urls
):
    page = page_of(billing_client, urls)
    assert STATUS.search(page).group(1) == "Paused"
    assert 'data-testid="subscription-paused"' in page
    assert re.search(r'data-testid="resume">\s*Add a card and resume', page)
    assert "data-plan=" not in page
    assert paused.subscriber.has_current_subscription()
    assert not gate_open(billing_client, urls)


def test_the_gate_says_the_subscription_is_paused(paused, billing_client, urls):
    response = billing_client.get(urls("demo_subscribers"), follow=True)
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert GATE_PAUSED in shown


def test_checkout_is_refused_while_paused(
    paused, billing_client, urls, stripe_catalogue
):
    response = billing_client.post(
        urls("checkout"), {"price_id": stripe_catalogue["pro"].id}, follow=True
    )
    assert response.redirect_chain[-1][0] == urls("subscription")
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert SUBSCRIPTION_PAUSED in shown
    assert len(stripe_subscriptions(paused)) == 1


def test_checkout_is_refused_for_a_paused_subscription_never_synced(
    paused, billing_client, urls, stripe_catalogue, subscriber
):
    # The pause's webhooks lost: the local row is gone, Stripe still has it.
    subscriber.subscription = None
    subscriber.save(update_fields=["subscription"])
    response = billing_client.post(
        urls("checkout"), {"price_id": stripe_catalogue["pro"].id}
    )
    assert response.status_code == 302
    assert response["Location"] == urls("subscription")
    assert len(stripe_subscriptions(paused)) == 1
    subscriber.refresh_from_db()
    assert subscriber.subscription.stripe_data["status"] == "paused"


def test_add_a_card_then_resume(paused, billing_client, urls, stripe_emulator, sent):
    # Without a card, resuming starts in the portal, to add one.
    response = billing_client.post(urls("resume"))
    assert response.status_code == 302
    portal_session = urlsplit(response["Location"]).path.rsplit("/", 1)[-1]
    assert portal_session.startswith("bps_")
    assert paused.stripe_subscription().status == "paused"
    stripe_emulator.portal_action(portal_session, None, "update_card")
    paused.deliver()
    billing_client.get(urls("subscription") + "?from=portal")
    page = page_of(billing_client, urls)
    assert re.search(r'data-testid="resume">\s*Resume\s*<', page)

    with paused.capture(execute=True):
        response = billing_client.post(urls("resume"))
    assert response["Location"] == urls("subscription")
    paused.deliver()
    assert paused.stripe_subscription().status == "active"
    paused.subscriber.refresh_from_db()
    assert paused.subscriber.has_active_subscription()
    assert gate_open(billing_client, urls)
    assert len(sent.of("subscription_resumed")) == 1
    page = page_of(billing_client, urls)
    assert STATUS.search(page).group(1) == "Active"
    assert 'data-testid="resume"' not in page
    # Redelivered and reconciled, the resumption is not signalled again.
    paused.deliver()
    assert len(sent.of("subscription_resumed")) == 1


def test_resume_with_a_declined_card_keeps_it_paused(
    paused, billing_client, urls, stripe_emulator
):
    stripe_emulator.portal_action(
        urlsplit(billing_client.post(urls("resume"))["Location"]).path.rsplit("/")[-1],
        None,
        "update_card",
    )
    paused.deliver()
    billing_client.get(urls("subscription") + "?from=portal")
    stripe_emulator.set_card(paused.customer_id, "fail")
    response = billing_client.post(urls("resume"), follow=True)
    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "still paused" in shown
    assert paused.stripe_subscription().status == "paused"


def test_collection_paused_keeps_access_and_says_so(
    billing, pro, billing_client, urls, sent
):
    stripe.Subscription.modify(
        pro.id, pause_collection={"behavior": "void"}, **stripe_options()
    )
    billing.deliver()
    page = page_of(billing_client, urls)
    assert STATUS.search(page).group(1) == "Active"
    assert 'data-testid="collection-paused"' in page
    assert gate_open(billing_client, urls)
    with billing.capture(execute=True):
        billing_client.post(urls("resume"))
    billing.deliver()
    assert not billing.stripe_subscription().pause_collection
    assert 'data-testid="collection-paused"' not in page_of(billing_client, urls)
    assert len(sent.of("subscription_resumed")) == 1


def test_nothing_to_resume_changes_nothing(billing, pro, billing_client, urls):
    response = billing_client.post(urls("resume"), follow=True)
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert "There is nothing paused to resume." in shown
    assert billing.stripe_subscription().status == "active"


def test_resume_is_a_post_with_a_csrf_token(paused, billing_user, urls):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(billing_user)
    assert client.get(urls("resume")).status_code == 405
    assert client.post(urls("resume")).status_code == 403
    assert paused.stripe_subscription().status == "paused"
