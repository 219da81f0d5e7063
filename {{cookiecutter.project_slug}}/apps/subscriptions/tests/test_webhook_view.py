"""The webhook endpoint checks a delivery's signature against its endpoint's secret
before it stores anything, and answers Stripe so that it retries only what can
succeed later."""

import json
import logging
import time

import pytest
import stripe
from django.test import Client
from django.urls import reverse
from djstripe.models import Event, WebhookEventTrigger

from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.webhook_view import MAX_BODY_BYTES

from .signing import stripe_signature
from .test_checkout import start_checkout

pytestmark = pytest.mark.django_db

ATTACKER_SECRET = "whsec_" + "f" * 32


def _url(endpoint) -> str:
    return reverse(
        "djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid}
    )


def _post(endpoint, body: str, signature: str, **headers):
    client = Client(raise_request_exception=False)
    return client.post(
        _url(endpoint),
        body,
        content_type="application/json",
        headers={"Stripe-Signature": signature, **headers},
    )


def _event(type_: str, data_object: dict) -> str:
    return json.dumps(
        {
            "id": f"evt_{type_.replace('.', '_')}_{int(time.time() * 1000)}",
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
            "data": {"object": data_object},
        }
    )


def test_an_event_forged_with_the_secret_header_is_refused_under_debug(
    billing_client,
    subscriber,
    urls,
    stripe_catalogue,
    stripe_emulator,
    webhook_endpoint,
    settings,
):
    # A paid Checkout session of this subscriber that no webhook has told yet.
    session_id = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    stripe_emulator.complete_checkout(session_id)
    session = stripe.checkout.Session.retrieve(session_id, **stripe_options())
    body = _event("checkout.session.completed", session.to_dict())
    settings.DEBUG = True

    response = _post(
        webhook_endpoint,
        body,
        stripe_signature(body, ATTACKER_SECRET),
        **{"X-Djstripe-Webhook-Secret": ATTACKER_SECRET},
    )

    assert response.status_code == 400
    assert not WebhookEventTrigger.objects.exists()
    assert not Event.objects.exists()
    subscriber.refresh_from_db()
    assert subscriber.subscription is None


def test_a_delivery_signed_by_its_endpoint_ignores_the_secret_header(
    stripe_emulator, webhook_endpoint, settings
):
    stripe.Customer.create(email="header@example.com", **stripe_options())
    [event] = stripe_emulator.events("customer.created")
    body = json.dumps(event)
    settings.DEBUG = True

    response = _post(
        webhook_endpoint,
        body,
        stripe_signature(body, webhook_endpoint.secret),
        **{"X-Djstripe-Webhook-Secret": ATTACKER_SECRET},
    )

    assert response.status_code == 200
    assert Event.objects.filter(id=event["id"]).exists()
    [trigger] = WebhookEventTrigger.objects.all()
    assert "X-Djstripe-Webhook-Secret" not in trigger.headers


def test_a_bad_signature_stores_nothing(webhook_endpoint):
    body = _event("customer.subscription.deleted", {"id": "sub_forged"})

    response = _post(webhook_endpoint, body, stripe_signature(body, ATTACKER_SECRET))

    assert response.status_code == 400
    assert not WebhookEventTrigger.objects.exists()
    assert not Event.objects.exists()


def test_a_large_body_is_refused_unread_and_stores_nothing(webhook_endpoint):
    body = _event("customer.updated", {"id": "cus_big", "padding": "x" * 2**21})

    response = _post(webhook_endpoint, body, stripe_signature(body, ATTACKER_SECRET))

    assert len(body) > MAX_BODY_BYTES
    assert response.status_code == 413
    assert not WebhookEventTrigger.objects.exists()


def test_a_request_without_a_signature_is_refused(webhook_endpoint):
    response = Client().post(_url(webhook_endpoint), "{}", content_type="text/plain")
    assert response.status_code == 400
    assert not WebhookEventTrigger.objects.exists()


def test_only_post_is_allowed(client, webhook_endpoint):
    assert client.get(_url(webhook_endpoint)).status_code == 405
    assert not WebhookEventTrigger.objects.exists()


def test_an_unknown_endpoint_is_404(client, webhook_endpoint):
    url = reverse(
        "djstripe:djstripe_webhook_by_uuid",
        kwargs={"uuid": "00000000-0000-4000-8000-000000000000"},
    )
    body = _event("customer.updated", {"id": "cus_x"})
    response = client.post(
        url, body, content_type="application/json", headers={"Stripe-Signature": "x"}
    )
    assert response.status_code == 404


def test_an_event_about_an_object_stripe_does_not_have_is_acknowledged(
    webhook_endpoint, caplog
):
    body = _event(
        "customer.subscription.updated",
        {"id": "sub_gone", "object": "subscription", "customer": "cus_gone"},
    )

    with caplog.at_level(logging.WARNING, logger="apps.subscriptions.webhook_view"):
        response = _post(
            webhook_endpoint, body, stripe_signature(body, webhook_endpoint.secret)
        )

    assert response.status_code == 200
    assert "cus_gone" in caplog.text
    assert not Event.objects.exists()


def test_a_stripe_failure_while_processing_is_left_for_stripe_to_retry(
    stripe_emulator, webhook_endpoint
):
    customer = stripe.Customer.create(email="retry@example.com", **stripe_options())
    [event] = stripe_emulator.events("customer.created")
    body = json.dumps(event)
    stripe_emulator.engine.add_fault(f"/v1/customers/{customer.id}", times=10)

    response = _post(
        webhook_endpoint, body, stripe_signature(body, webhook_endpoint.secret)
    )

    assert response.status_code >= 500
    assert not Event.objects.exists()
    [trigger] = WebhookEventTrigger.objects.all()
    assert trigger.exception
