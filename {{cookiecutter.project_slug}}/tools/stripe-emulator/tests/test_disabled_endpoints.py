"""Webhook endpoints that are disabled lose the events created meanwhile (which stay
listed by the events API), and re-enabling them replays nothing, as with Stripe."""

import json

import pytest
import stripe
from djstripe import models as djstripe_models

from .conftest import http, wait_for
from .test_djstripe import create_endpoint_as_the_admin_does

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(stripe_emulator):
    """An endpoint at dj-stripe's webhook view, known to dj-stripe (as the site's)."""
    return create_endpoint_as_the_admin_does()


def delivered_ids(attempts):
    return [a["event"] for a in attempts]


def set_disabled(endpoint_id, disabled):
    return stripe.WebhookEndpoint.modify(endpoint_id, disabled=disabled)


def test_disabling_sets_the_status(stripe_emulator, endpoint):
    assert set_disabled(endpoint.id, True).status == "disabled"
    assert stripe.WebhookEndpoint.retrieve(endpoint.id).status == "disabled"
    assert set_disabled(endpoint.id, False).status == "enabled"


def test_events_while_disabled_are_lost_but_listed(stripe_emulator, endpoint):
    set_disabled(endpoint.id, True)
    lost = stripe.Customer.create(email="lost@example.com")
    [created] = stripe.Event.list(type="customer.created").data

    assert stripe_emulator.deliver_webhooks() == []
    assert stripe_emulator.deliveries(created.id) == []
    assert created.data.object.id == lost.id
    assert created.pending_webhooks == 0

    set_disabled(endpoint.id, False)
    assert stripe_emulator.deliver_webhooks() == []  # no replay
    kept = stripe.Customer.create(email="kept@example.com")
    attempts = stripe_emulator.deliver_webhooks()

    [event] = stripe.Event.list(type="customer.created", limit=1).data
    assert event.data.object.id == kept.id
    assert delivered_ids(attempts) == [event.id]
    assert {a["status_code"] for a in attempts} == {200}
    assert djstripe_models.Customer.objects.filter(id=kept.id).exists()
    assert not djstripe_models.Customer.objects.filter(id=lost.id).exists()


def test_the_site_can_recover_lost_events_from_the_events_api(
    stripe_emulator, endpoint
):
    stripe.Customer.create(email="before@example.com")
    stripe_emulator.deliver_webhooks()
    last_seen = stripe.Event.list(limit=1).data[0]
    set_disabled(endpoint.id, True)
    missed = [stripe.Customer.create(email=f"m{i}@example.com").id for i in range(3)]
    set_disabled(endpoint.id, False)

    found = stripe.Event.list(
        ending_before=last_seen.id, types=["customer.created"], limit=100
    ).data

    assert [e.data.object.id for e in found] == list(reversed(missed))
    assert stripe_emulator.deliver_webhooks() == []


def test_deliveries_queued_before_disabling_wait_for_re_enabling(
    stripe_emulator, endpoint
):
    stripe.Customer.create(email="queued@example.com")
    set_disabled(endpoint.id, True)
    assert stripe_emulator.deliver_webhooks() == []

    set_disabled(endpoint.id, False)

    attempts = stripe_emulator.deliver_webhooks()
    assert [a["type"] for a in attempts] == ["customer.created"]


def test_a_disabled_endpoint_gets_no_redelivery(stripe_emulator, endpoint):
    set_disabled(endpoint.id, True)
    stripe.Customer.create(email="r@example.com")
    event = stripe.Event.list(limit=1).data[0]
    assert stripe_emulator.redeliver(event.id) == []


def test_over_http_a_disabled_endpoint_receives_nothing(server, receiver):
    hook = receiver()

    def api(method, path, body=None):
        return json.loads(http(method, server.url + path, body)[2])

    endpoint = api(
        "POST", "/v1/webhook_endpoints", f"url={hook.url}&enabled_events[]=*"
    )
    disabled = api("POST", f"/v1/webhook_endpoints/{endpoint['id']}", "disabled=true")
    assert disabled["status"] == "disabled"
    lost = api("POST", "/v1/customers", "email=lost@example.com")

    api("POST", f"/v1/webhook_endpoints/{endpoint['id']}", "disabled=false")
    kept = api("POST", "/v1/customers", "email=kept@example.com")
    wait_for(lambda: len(hook.posts) >= 1)

    delivered = [json.loads(body)["data"]["object"]["id"] for _, body in hook.posts]
    assert delivered == [kept["id"]]
    assert lost["id"] in {
        e["data"]["object"]["id"] for e in api("GET", "/v1/events")["data"]
    }
