"""Billing actions on the subscriber's admin, and deleting a billed subscriber."""

from datetime import UTC, datetime

import pytest
import stripe
from django.contrib import admin
from django.db import transaction
from django.urls import reverse
from djstripe.models import Subscription

from apps.subscriptions.admin import SubscriberBillingAdmin
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.subscribers import get_subscriber_model

pytestmark = pytest.mark.django_db


def admin_url(name, *args):
    opts = get_subscriber_model()._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=args)


def run_action(client, action, subscribers, **data):
    return client.post(
        admin_url("changelist"),
        {"action": action, "_selected_action": [s.pk for s in subscribers], **data},
        follow=True,
    )


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_only_the_subscriber_admin_has_the_billing_actions():
    for model, model_admin in admin.site._registry.items():
        billed = isinstance(model_admin, SubscriberBillingAdmin)
        assert billed == (model is get_subscriber_model()), model


def test_the_changelist_offers_every_billing_action(admin_client, subscriber):
    page = admin_client.get(admin_url("changelist")).content.decode()
    for action in SubscriberBillingAdmin.billing_actions:
        assert f'value="{action}"' in page


def test_cancel_at_period_end_from_the_admin(admin_client, billing, pro):
    response = run_action(
        admin_client, "cancel_subscription_at_period_end", [billing.subscriber]
    )
    assert any("ends at the end of its period" in m for m in shown_messages(response))
    assert billing.stripe_subscription()["cancel_at_period_end"] is True


def test_each_subscriber_gets_its_own_message(
    admin_client, billing, pro, other_subscriber
):
    response = run_action(
        admin_client, "resume_subscription", [billing.subscriber, other_subscriber]
    )
    messages = shown_messages(response)
    assert any("is not paused" in m for m in messages)
    assert any("has no current subscription" in m for m in messages)


def test_change_plan_asks_for_the_price_then_changes_it(
    admin_client, billing, pro, stripe_catalogue
):
    page = run_action(admin_client, "change_subscription_plan", [billing.subscriber])
    assert page.status_code == 200
    starter = stripe_catalogue["starter"].id
    assert f'value="{starter}"' in page.content.decode()

    response = run_action(
        admin_client,
        "change_subscription_plan",
        [billing.subscriber],
        apply="1",
        price=starter,
        proration_behavior="none",
    )
    assert any("Changed" in m for m in shown_messages(response))
    [item] = billing.stripe_subscription()["items"]["data"]
    assert item["price"]["id"] == starter


def test_end_on_a_date_from_the_admin(admin_client, billing, pro):
    period_end = pro["items"]["data"][0]["current_period_end"]
    when = datetime.fromtimestamp(period_end - 86400, tz=UTC).replace(second=0)
    response = run_action(
        admin_client,
        "end_subscription_at",
        [billing.subscriber],
        apply="1",
        when=when.strftime("%Y-%m-%dT%H:%M"),
    )
    assert any("ends on" in m for m in shown_messages(response))
    assert billing.stripe_subscription()["cancel_at"] == int(when.timestamp())


def test_an_invalid_form_shows_the_form_again(admin_client, billing, pro):
    response = run_action(
        admin_client, "end_subscription_at", [billing.subscriber], apply="1", when=""
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()


# -- deletion -------------------------------------------------------------------------


def live_stripe_subscriptions(emulator):
    return [s for s in emulator.all("subscription") if s["status"] != "canceled"]


def test_deleting_a_billed_subscriber_cancels_its_stripe_subscription(billing, pro):
    with billing.capture(execute=True):
        billing.subscriber.delete()
    assert live_stripe_subscriptions(billing.emulator) == []


def never_synced_subscription(billing, price):
    """A subscription made in Stripe whose webhooks never reached the site."""
    subscription = stripe.Subscription.create(
        customer=billing.customer_id, items=[{"price": price.id}], **stripe_options()
    )
    assert not Subscription.objects.filter(id=subscription.id).exists()
    return subscription


def test_deleting_cancels_a_subscription_the_site_never_heard_of(
    billing, pro, stripe_catalogue
):
    never_synced_subscription(billing, stripe_catalogue["business"])
    assert len(live_stripe_subscriptions(billing.emulator)) == 2
    with billing.capture(execute=True):
        billing.subscriber.delete()
    assert live_stripe_subscriptions(billing.emulator) == []


def test_the_admin_cancels_a_subscription_the_site_never_heard_of(
    admin_client, billing, stripe_catalogue
):
    never_synced_subscription(billing, stripe_catalogue["pro"])
    response = admin_client.post(
        admin_url("delete", billing.subscriber.pk), {"post": "yes"}, follow=True
    )
    assert any("before deleting" in m for m in shown_messages(response))
    assert not get_subscriber_model().objects.filter(pk=billing.subscriber.pk).exists()
    assert live_stripe_subscriptions(billing.emulator) == []


def test_deleting_a_subscriber_without_a_subscription_calls_no_stripe(
    subscriber, stripe_emulator
):
    stripe_emulator.reset_counts()
    subscriber.delete()
    assert stripe_emulator.count() == 0


def test_when_stripe_fails_the_subscriber_is_not_deleted(billing, pro, monkeypatch):
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    billing.emulator.fail_next("/v1/subscriptions/*", status=500, method="DELETE")
    with pytest.raises(stripe.APIError), transaction.atomic():
        billing.subscriber.delete()
    assert get_subscriber_model().objects.filter(pk=billing.subscriber.pk).exists()
    assert len(live_stripe_subscriptions(billing.emulator)) == 1


def test_the_delete_page_warns_that_the_subscription_is_canceled(
    admin_client, billing, pro
):
    response = admin_client.get(admin_url("delete", billing.subscriber.pk))
    assert any("cancels that subscription now" in m for m in shown_messages(response))


def test_deleting_in_the_admin_cancels_first(admin_client, billing, pro):
    response = admin_client.post(
        admin_url("delete", billing.subscriber.pk), {"post": "yes"}, follow=True
    )
    assert any("before deleting" in m for m in shown_messages(response))
    assert not get_subscriber_model().objects.filter(pk=billing.subscriber.pk).exists()
    assert live_stripe_subscriptions(billing.emulator) == []


def test_deleting_several_in_the_admin_cancels_each_first(admin_client, billing, pro):
    response = run_action(
        admin_client, "delete_selected", [billing.subscriber], post="yes"
    )
    assert response.status_code == 200
    assert not get_subscriber_model().objects.filter(pk=billing.subscriber.pk).exists()
    assert live_stripe_subscriptions(billing.emulator) == []


def test_in_the_admin_a_stripe_failure_keeps_the_subscriber(
    admin_client, billing, pro, monkeypatch
):
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    billing.emulator.fail_next("/v1/subscriptions/*", status=500, method="DELETE")
    response = admin_client.post(
        admin_url("delete", billing.subscriber.pk), {"post": "yes"}, follow=True
    )
    assert any("Stripe error" in m for m in shown_messages(response))
    assert get_subscriber_model().objects.filter(pk=billing.subscriber.pk).exists()
    assert len(live_stripe_subscriptions(billing.emulator)) == 1
