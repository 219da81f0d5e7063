"""Fixtures shared by every app's tests."""

from io import StringIO

import pytest
from django.core.management import call_command
from djstripe.models import Price, WebhookEndpoint

from apps.subscriptions import metadata
from apps.subscriptions.subscribers import billing_adapter, subscriber_reverse
from apps.subscriptions.tests.factories import make_catalogue
from apps.users.tests.factories import UserFactory
from tests.processes import EMULATOR_MISSING, emulator_installed, require

if not emulator_installed():
    # The emulator (tools/stripe-emulator, installed by `make install`) provides the
    # `stripe_emulator` fixture. Without it, the tests that need it say why they
    # cannot run, and fail where every service is required.

    @pytest.fixture
    def stripe_emulator():
        require(False, EMULATOR_MISSING)


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def billing_user(db):
    """The person who manages the billing of `subscriber`."""
    return UserFactory()


@pytest.fixture
def subscriber(billing_user):
    """A subscriber (`DJSTRIPE_SUBSCRIBER_MODEL`) whose billing `billing_user` manages."""
    return billing_adapter().create_subscriber(billing_user)


@pytest.fixture
def other_billing_user(db):
    return UserFactory()


@pytest.fixture
def other_subscriber(other_billing_user):
    """Another subscriber, managed by `other_billing_user`."""
    return billing_adapter().create_subscriber(other_billing_user)


@pytest.fixture
def billing_client(client, billing_user):
    client.force_login(billing_user)
    return client


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
    call_command("bootstrap_subscriptions", "--create-demo-products", stdout=StringIO())
    return {
        price.product.stripe_data["name"].lower(): price
        for price in Price.objects.select_related("product")
        if (price.stripe_data.get("recurring") or {}).get("interval") == "month"
    }


@pytest.fixture
def webhook_endpoint(stripe_emulator, db):
    """A dj-stripe webhook endpoint registered with the emulator, for testserver."""
    call_command(
        "register_webhook_endpoint", base_url="http://testserver", stdout=StringIO()
    )
    return WebhookEndpoint.objects.get()
