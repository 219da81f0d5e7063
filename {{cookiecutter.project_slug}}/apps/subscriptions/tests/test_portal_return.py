"""Back from the customer portal, the subscription page re-reads Stripe once per
visit to the portal; loading it otherwise reads the local rows only."""

import pytest

from apps.subscriptions.tests.seat_scenario import create_price, subscribe

pytestmark = pytest.mark.django_db

RETURN = "?from=portal"


@pytest.fixture
def subscribed(subscriber, stripe_emulator):
    subscribe(subscriber, create_price())
    return subscriber


def stripe_calls(stripe_emulator) -> int:
    return stripe_emulator.reads + stripe_emulator.writes


def test_the_return_from_the_portal_re_reads_the_subscription(
    subscribed, billing_client, urls, stripe_emulator
):
    assert billing_client.post(urls("portal")).status_code == 302
    stripe_emulator.reset_counts()

    response = billing_client.get(urls("subscription") + RETURN)

    assert response["Location"] == urls("subscription")
    assert stripe_emulator.count(
        "GET", f"/v1/subscriptions/{subscribed.subscription.id}"
    )


def test_loading_the_return_page_again_calls_no_stripe(
    subscribed, billing_client, urls, stripe_emulator
):
    billing_client.post(urls("portal"))
    billing_client.get(urls("subscription") + RETURN)
    stripe_emulator.reset_counts()

    response = billing_client.get(urls("subscription") + RETURN)

    assert response.status_code == 302
    assert stripe_calls(stripe_emulator) == 0


def test_the_return_page_without_a_visit_to_the_portal_calls_no_stripe(
    subscribed, billing_client, urls, stripe_emulator
):
    stripe_emulator.reset_counts()

    response = billing_client.get(urls("subscription") + RETURN)

    assert response.status_code == 302
    assert stripe_calls(stripe_emulator) == 0
