"""A team's billing: admins manage it, members read it, outsiders get 404."""

import pytest
from django.urls import reverse

from apps.subscriptions.tests.factories import make_subscription
from apps.subscriptions.tests.seat_scenario import create_price, subscribe
from apps.teams.models import Membership
from apps.teams.tests.factories import MembershipFactory
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client(client, subscriber):
    client.force_login(MembershipFactory(team=subscriber).user)
    return client


def test_members_see_the_plans_without_subscribe_buttons(
    member_client, catalogue, urls
):
    page = member_client.get(urls("subscription")).content.decode()
    assert catalogue[0].name in page
    assert "Subscribe to" not in page
    assert "Only the people who manage this billing can subscribe" in page


def test_members_see_the_subscription_without_manage_button(
    member_client, subscriber, catalogue, urls
):
    from djstripe.models import Price

    make_subscription(subscriber, Price.objects.first())
    page = member_client.get(urls("subscription")).content.decode()
    assert "Active" in page
    assert "Manage billing" not in page
    assert "Switch to" not in page


@pytest.mark.parametrize("name", ["checkout", "portal", "promotion_code", "resume"])
def test_members_cannot_start_checkout_or_open_the_portal(
    member_client, catalogue, urls, name
):
    from djstripe.models import Price

    response = member_client.post(urls(name), {"price_id": Price.objects.first().id})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "page",
    [
        "subscription",
        "subscription?from=portal",
        "demo",
        "demo_subscribers",
        "demo_billing",
    ],
)
def test_a_members_page_load_calls_no_stripe(
    member_client, subscriber, urls, stripe_emulator, page
):
    subscribe(subscriber, create_price())
    name, _, query = page.partition("?")
    stripe_emulator.reset_counts()

    response = member_client.get(urls(name) + (f"?{query}" if query else ""))

    assert response.status_code in (200, 302)
    assert stripe_emulator.reads + stripe_emulator.writes == 0


@pytest.mark.parametrize(
    "name", ["subscription", "demo", "demo_subscribers", "demo_pro", "demo_billing"]
)
def test_non_members_get_404(client, subscriber, urls, name):
    client.force_login(UserFactory())
    assert client.get(urls(name)).status_code == 404


@pytest.mark.parametrize("name", ["checkout", "portal", "promotion_code", "resume"])
def test_non_members_get_404_on_posts(client, subscriber, urls, name):
    client.force_login(UserFactory())
    assert client.post(urls(name), {"price_id": "x"}).status_code == 404


def test_admins_of_another_team_get_404(
    client, subscriber, other_subscriber, other_billing_user, urls
):
    other_admin = other_billing_user
    client.force_login(other_admin)
    assert client.get(urls("subscription")).status_code == 404
    assert Membership.objects.filter(user=other_admin, team=subscriber).count() == 0


def test_a_member_who_administers_no_team_is_told_they_cannot_subscribe(
    member_client, catalogue
):
    from djstripe.models import Price

    page = member_client.get("/pricing/").content.decode()
    assert "You do not manage any billing here" in page
    assert "Subscribe to" not in page
    checkout = reverse(
        "pricing:checkout", kwargs={"price_id": Price.objects.first().id}
    )
    response = member_client.get(checkout, follow=True)
    assert response.redirect_chain[-1][0] == "/pricing/"
    assert "You do not manage any billing here" in response.content.decode()


@pytest.mark.parametrize(
    ("method", "name"), [("post", "buy"), ("get", "purchase_success")]
)
def test_non_members_get_404_on_payment_pages(client, subscriber, urls, method, name):
    client.force_login(UserFactory())
    response = getattr(client, method)(urls(name), {"price_id": "x", "session_id": "x"})
    assert response.status_code == 404


def test_members_cannot_buy(member_client, urls):
    assert member_client.post(urls("buy"), {"price_id": "x"}).status_code == 403


def test_members_read_the_billing_history_and_wallet(member_client, subscriber, urls):
    from djstripe.models import Price

    from apps.subscriptions.models import CustomerBalanceTransaction
    from apps.subscriptions.tests.factories import (
        make_catalogue,
        make_invoice,
        make_subscription,
    )

    make_catalogue(1)
    make_subscription(subscriber, Price.objects.first())
    subscriber.refresh_from_db()
    invoice = make_invoice(subscriber.customer)
    CustomerBalanceTransaction.objects.create(
        stripe_id="cbtxn_1",
        customer=subscriber.customer,
        amount=-500,
        currency="usd",
        type="adjustment",
        description="Welcome credit",
        ending_balance=-500,
        created=invoice.created,
    )
    page = member_client.get(urls("subscription")).content.decode()
    assert invoice.stripe_data["number"] in page
    assert "Welcome credit" in page
    assert 'data-testid="top-up"' not in page
    assert "Refund" not in page
