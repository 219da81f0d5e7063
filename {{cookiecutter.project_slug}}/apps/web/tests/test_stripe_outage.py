"""A Stripe that hangs or fails costs one request at most 15 s and ends on a page that
says billing is unavailable (503), never a server error."""

import time
from logging import WARNING

import pytest
import stripe
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from apps.subscriptions.stripe_client import (
    configure_stripe_client,
    is_stripe_outage,
    worst_case_seconds,
)
from apps.web.middleware import StripeOutageMiddleware

pytestmark = pytest.mark.django_db

# What the site promises a visitor when Stripe hangs.
WORST_CASE_BOUND = 15
UNAVAILABLE = "Billing is unavailable right now"


@pytest.fixture(autouse=True)
def site_stripe_client():
    """stripe-python's client and retries as the site set them up at start, before
    the stripe_emulator fixture swaps the client for its own."""
    return stripe.default_http_client, stripe.max_network_retries


@pytest.fixture
def hung_checkout(site_stripe_client, stripe_emulator, stripe_catalogue, monkeypatch):
    """The emulator's state served on loopback to the site's own HTTP client, with
    Checkout sessions hanging longer than any timeout; the emulator's engine."""
    from stripe_emulator.server import EmulatorServer

    server = EmulatorServer(port=0, engine=stripe_emulator.engine).start()
    monkeypatch.setattr(stripe, "api_base", server.url)
    client, retries = site_stripe_client
    monkeypatch.setattr(stripe, "default_http_client", client)
    monkeypatch.setattr(stripe, "max_network_retries", retries)
    stripe_emulator.engine.add_fault(
        "/v1/checkout/sessions",
        times=10,
        status="timeout",
        method="POST",
        hang_seconds=WORST_CASE_BOUND + 10,
    )
    yield stripe_emulator.engine
    stripe_emulator.engine.clear_faults()
    server.stop()


def test_stripe_python_gets_a_short_timeout_and_one_retry(settings, site_stripe_client):
    client, retries = site_stripe_client
    assert isinstance(client, stripe.RequestsClient)
    assert client._timeout == (2.0, settings.STRIPE_HTTP_TIMEOUT_SECONDS) == (2.0, 5.0)
    assert retries == settings.STRIPE_MAX_NETWORK_RETRIES == 1


def test_the_defaults_keep_a_hung_call_under_15_seconds(settings):
    worst = worst_case_seconds(
        settings.STRIPE_HTTP_TIMEOUT_SECONDS, settings.STRIPE_MAX_NETWORK_RETRIES
    )
    # Two tries of 2 s to connect and 5 s to read, and half a second between them.
    assert worst == 14.5 < WORST_CASE_BOUND


def test_the_timeout_and_retries_come_from_the_settings(settings, monkeypatch):
    monkeypatch.setattr(stripe, "default_http_client", stripe.default_http_client)
    monkeypatch.setattr(stripe, "max_network_retries", stripe.max_network_retries)
    settings.STRIPE_HTTP_TIMEOUT_SECONDS = 1.5
    settings.STRIPE_MAX_NETWORK_RETRIES = 3
    configure_stripe_client()
    assert stripe.default_http_client._timeout == (1.5, 1.5)
    assert stripe.max_network_retries == 3
    assert worst_case_seconds(1.5, 3) == 4 * 3.0 + 0.5 + 1 + 2


@pytest.mark.parametrize(
    ("name", "value"),
    [("STRIPE_HTTP_TIMEOUT_SECONDS", 0), ("STRIPE_MAX_NETWORK_RETRIES", -1)],
)
def test_a_timeout_or_retries_out_of_range_stop_the_start(settings, name, value):
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        configure_stripe_client()


def test_a_hung_stripe_answers_checkout_with_a_503_page_within_15_seconds(
    billing_client, urls, stripe_catalogue, hung_checkout, caplog
):
    started = time.monotonic()
    response = billing_client.post(
        urls("checkout"), {"price_id": stripe_catalogue["pro"].id}
    )
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert UNAVAILABLE in response.content.decode()
    assert elapsed < WORST_CASE_BOUND
    # One try and one retry.
    assert hung_checkout.count(method="POST", path="/v1/checkout/sessions") == 2
    # One warning, and no error report (nor a mail to the ADMINS) per visitor.
    logged = [(r.name, r.levelname) for r in caplog.records if r.levelno >= WARNING]
    assert logged == [("apps.web.middleware", "WARNING")]


@pytest.mark.parametrize(
    "error",
    [
        stripe.APIConnectionError("Request timed out"),
        stripe.RateLimitError("Too many requests", http_status=429),
        stripe.APIError("Internal error", http_status=500),
        stripe.APIError("Service unavailable", http_status=503),
    ],
    ids=["connection", "rate-limit", "500", "503"],
)
def test_an_outage_a_view_lets_through_becomes_the_503_page(
    visitor_request, error, caplog
):
    middleware = StripeOutageMiddleware(lambda request: None)
    response = middleware.process_exception(visitor_request, error)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert UNAVAILABLE in response.content.decode()
    [record] = [r for r in caplog.records if r.name == "apps.web.middleware"]
    assert record.levelname == "WARNING"


@pytest.mark.parametrize(
    "error",
    [
        stripe.InvalidRequestError("No such price", param="price", http_status=400),
        stripe.CardError("Declined", param=None, code="card_declined"),
        stripe.AuthenticationError("Invalid API key", http_status=401),
        ValueError("not Stripe"),
    ],
    ids=["invalid-request", "card", "authentication", "other"],
)
def test_other_errors_are_left_to_django(visitor_request, error):
    assert not is_stripe_outage(error)
    middleware = StripeOutageMiddleware(lambda request: None)
    assert middleware.process_exception(visitor_request, error) is None


@pytest.fixture
def visitor_request():
    request = RequestFactory().post("/pricing/")
    request.user = AnonymousUser()
    return request
