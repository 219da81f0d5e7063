"""Fixtures for the billing tests, which read the same whoever the subscriber is."""

import pytest

from apps.subscriptions import metadata
from apps.subscriptions.subscribers import subscriber_reverse

from .factories import make_catalogue


def _new_subscriber():
    """A subscriber and the user who manages its billing."""
    # >>> team builds
    from apps.teams.models import Membership
    from apps.teams.tests.factories import MembershipFactory, TeamFactory

    team = TeamFactory()
    admin = MembershipFactory(team=team, role=Membership.Role.ADMIN).user
    return team, admin
    # <<< team builds
    # >>> user builds
    from apps.users.tests.factories import UserFactory

    user = UserFactory()
    return user, user
    # <<< user builds


@pytest.fixture
def subscriber(db):
    """A new subscriber (`DJSTRIPE_SUBSCRIBER_MODEL`) with a user to manage it."""
    return _new_subscriber()[0]


@pytest.fixture
def billing_user(subscriber):
    """The person who may manage the subscriber's billing."""
    # >>> team builds
    return subscriber.memberships.get(role="admin").user
    # <<< team builds
    # >>> user builds
    return subscriber
    # <<< user builds


@pytest.fixture
def billing_client(client, billing_user):
    client.force_login(billing_user)
    return client


@pytest.fixture
def other_subscriber(db):
    return _new_subscriber()


@pytest.fixture
def catalogue(db, monkeypatch):
    """Three local products with monthly and annual prices, as ACTIVE_PRODUCTS."""
    products = make_catalogue(3)
    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", products)
    return products


@pytest.fixture
def urls(subscriber):
    def url(name):
        return subscriber_reverse(name, subscriber)

    return url


@pytest.fixture
def stripe_catalogue(stripe_emulator, db):
    """The demo catalogue in the emulator, synced; monthly prices by plan slug."""
    from io import StringIO

    from django.core.management import call_command
    from djstripe.models import Price

    call_command("bootstrap_subscriptions", "--create-demo-products", stdout=StringIO())
    return {
        price.product.stripe_data["name"].lower(): price
        for price in Price.objects.select_related("product")
        if price.stripe_data["recurring"]["interval"] == "month"
    }


@pytest.fixture
def webhook_endpoint(stripe_emulator, db):
    """A dj-stripe webhook endpoint registered with the emulator, for testserver."""
    from io import StringIO

    from django.core.management import call_command
    from djstripe.models import WebhookEndpoint

    call_command(
        "register_webhook_endpoint", base_url="http://testserver", stdout=StringIO()
    )
    return WebhookEndpoint.objects.get()
