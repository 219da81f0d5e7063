"""The endpoint for events forwarded by the Stripe CLI: a local row whose secret is
the CLI's, so that dj-stripe accepts what `stripe listen` signs."""

import json
from io import StringIO

import pytest
import stripe
from django.core.management import CommandError, call_command
from djstripe.models import WebhookEndpoint, WebhookEventTrigger

from apps.subscriptions.stripe_client import stripe_options

from .signing import stripe_signature

pytestmark = pytest.mark.django_db

CLI_SECRET = "whsec_" + "c" * 32


def _store(*args) -> str:
    out = StringIO()
    call_command(
        "register_webhook_endpoint",
        "--base-url",
        "http://testserver",
        *args,
        stdout=out,
    )
    return out.getvalue()


def test_the_endpoint_is_stored_locally_and_named_for_stripe_listen(stripe_emulator):
    output = _store("--stripe-cli-secret", CLI_SECRET)

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == CLI_SECRET
    assert f"stripe listen --forward-to {endpoint.url}" in output
    assert endpoint.url.startswith("http://testserver/stripe/webhook/")
    # Nothing was made in Stripe.
    assert stripe_emulator.all("webhook_endpoint") == []


def test_a_new_secret_keeps_the_url_and_the_registered_endpoint_is_left_alone(
    stripe_emulator,
):
    _store()  # the endpoint registered in Stripe, for a public URL
    _store("--stripe-cli-secret", CLI_SECRET)
    url = WebhookEndpoint.objects.get(secret=CLI_SECRET).url

    _store("--stripe-cli-secret", "whsec_" + "d" * 32)
    output = _store()

    assert WebhookEndpoint.objects.count() == 2
    assert WebhookEndpoint.objects.get(secret="whsec_" + "d" * 32).url == url
    assert "Webhook endpoint ready" in output


def test_a_secret_that_is_not_the_clis_is_refused_in_one_line(stripe_emulator):
    with pytest.raises(CommandError, match="starts with whsec_"):
        _store("--stripe-cli-secret", "sk_test_" + "a" * 24)
    assert not WebhookEndpoint.objects.exists()


def test_an_event_signed_with_the_cli_secret_is_accepted(client, stripe_emulator):
    _store("--stripe-cli-secret", CLI_SECRET)
    endpoint = WebhookEndpoint.objects.get()
    stripe.Customer.create(email="cli@example.com", **stripe_options())
    [event] = stripe_emulator.events("customer.created")
    body = json.dumps(event)
    path = endpoint.url.removeprefix("http://testserver")

    accepted = client.post(
        path,
        body,
        content_type="application/json",
        headers={"Stripe-Signature": stripe_signature(body, CLI_SECRET)},
    )
    forged = client.post(
        path,
        body,
        content_type="application/json",
        headers={"Stripe-Signature": stripe_signature(body, "whsec_" + "x" * 32)},
    )

    assert (accepted.status_code, forged.status_code) == (200, 400)
    assert WebhookEventTrigger.objects.filter(valid=True).count() == 1
