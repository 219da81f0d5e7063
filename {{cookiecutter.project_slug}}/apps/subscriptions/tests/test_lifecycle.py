"""Server-side management: one write to Stripe and one local sync each, clear
refusals, and idempotency keys that make a double click one change."""

from datetime import timedelta

import pytest
import stripe
from django.utils import timezone
from djstripe.models import Price

from apps.subscriptions import lifecycle
from apps.subscriptions.models import SubscriptionState
from apps.subscriptions.stripe_client import stripe_options

from .factories import make_price, make_product, make_subscription

pytestmark = pytest.mark.django_db

TOMORROW = timedelta(days=1)

EVERY_CHANGE = {
    "cancel_now": lifecycle.cancel_now,
    "cancel_at_period_end": lifecycle.cancel_at_period_end,
    "undo_cancellation": lifecycle.undo_cancellation,
    "resume": lifecycle.resume,
    "change_plan": lambda s: lifecycle.change_plan(s, "price_any"),
    "end_at": lambda s: lifecycle.end_at(s, timezone.now() + TOMORROW),
}


@pytest.fixture
def local_subscription(subscriber, catalogue):
    price = Price.objects.filter(product__id=catalogue[0].stripe_id).first()
    return make_subscription(subscriber, price)


@pytest.mark.parametrize("change", EVERY_CHANGE.values(), ids=EVERY_CHANGE.keys())
def test_without_a_subscription_every_change_is_refused(subscriber, change):
    with pytest.raises(lifecycle.NoSubscription):
        change(subscriber)


@pytest.mark.parametrize("change", EVERY_CHANGE.values(), ids=EVERY_CHANGE.keys())
def test_an_ended_subscription_counts_as_none(subscriber, local_subscription, change):
    local_subscription.stripe_data["status"] = "canceled"
    local_subscription.save()
    with pytest.raises(lifecycle.NoSubscription):
        change(subscriber)


def test_only_a_paused_subscription_resumes(subscriber, local_subscription):
    with pytest.raises(lifecycle.NotPaused, match="is not paused"):
        lifecycle.resume(subscriber)


def test_only_a_scheduled_end_can_be_undone(subscriber, local_subscription):
    with pytest.raises(lifecycle.NotSetToEnd):
        lifecycle.undo_cancellation(subscriber)


def test_a_price_not_for_sale_is_refused(subscriber, local_subscription):
    other = make_price(make_product(name="Not on sale"))
    for price in (other, other.id, "price_nope", None):
        with pytest.raises(lifecycle.PriceNotForSale):
            lifecycle.change_plan(subscriber, price)


def test_an_end_date_must_be_in_the_future(subscriber, local_subscription):
    with pytest.raises(lifecycle.InvalidEndDate):
        lifecycle.end_at(subscriber, timezone.now() - TOMORROW)


def test_each_change_is_one_write_to_stripe_and_syncs_the_local_row(
    billing, pro, stripe_emulator
):
    stripe_emulator.reset_counts()
    change = lifecycle.cancel_at_period_end(billing.subscriber)
    assert stripe_emulator.writes == 1
    assert change.subscription.stripe_data["cancel_at_period_end"] is True
    billing.subscriber.refresh_from_db()
    assert billing.subscriber.subscription.stripe_data["cancel_at_period_end"]


def test_change_plan_keeps_the_quantity_and_prorates_as_configured(
    billing, pro, stripe_catalogue, settings
):
    [item] = pro["items"]["data"]
    stripe.Subscription.modify(
        pro.id, items=[{"id": item["id"], "quantity": 2}], **stripe_options()
    )
    billing.deliver()
    billing.subscriber.refresh_from_db()
    settings.SUBSCRIPTIONS_PRORATION_BEHAVIOR = "none"
    lifecycle.change_plan(billing.subscriber, stripe_catalogue["starter"])
    [item] = billing.stripe_subscription()["items"]["data"]
    assert (item["price"]["id"], item["quantity"]) == (
        stripe_catalogue["starter"].id,
        2,
    )


def test_two_clicks_from_the_same_state_send_the_same_key(billing, pro):
    key = lifecycle.idempotency_key("end-at", pro.id, cancel_at=1)
    assert lifecycle.idempotency_key("end-at", pro.id, cancel_at=1) == key
    assert lifecycle.idempotency_key("end-at", pro.id, cancel_at=2) != key
    lifecycle.cancel_at_period_end(billing.subscriber)  # the state moves on
    assert lifecycle.idempotency_key("end-at", pro.id, cancel_at=1) != key


def test_a_second_click_before_the_first_is_synced_is_replayed_not_refused(
    billing, stripe_catalogue, monkeypatch
):
    """Resuming twice from the same (paused) state: Stripe would refuse the second
    resume of an active subscription, but the same key replays the first answer."""
    for card in stripe.Customer.list_payment_methods(
        billing.customer_id, **stripe_options()
    ):
        stripe.PaymentMethod.detach(card.id, **stripe_options())
    billing.subscribe(
        stripe_catalogue["pro"],
        trial_period_days=14,
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
    )
    billing.advance(days=15)
    billing.subscriber.refresh_from_db()
    card = stripe.PaymentMethod.attach(
        "pm_card_visa", customer=billing.customer_id, **stripe_options()
    )
    stripe.Customer.modify(
        billing.customer_id,
        invoice_settings={"default_payment_method": card.id},
        **stripe_options(),
    )
    first_click = billing.subscriber.__class__.objects.get(pk=billing.subscriber.pk)
    second_click = billing.subscriber.__class__.objects.get(pk=billing.subscriber.pk)
    applied = []
    with monkeypatch.context() as patch:
        # The first request's local sync has not committed when the second reads.
        patch.setattr(
            lifecycle, "apply_subscription", lambda *a, **k: applied.append(a)
        )
        lifecycle.resume(first_click)
    change = lifecycle.resume(second_click)
    assert applied
    assert change.subscription.stripe_data["status"] == "active"
    resumes = [
        e
        for e in billing.emulator.events("customer.subscription.resumed")
        if e["data"]["object"]["id"] == change.subscription.id
    ]
    assert len(resumes) == 1


def test_after_a_stripe_failure_trying_again_is_a_new_request(
    billing, pro, stripe_emulator, monkeypatch
):
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    key = lifecycle.idempotency_key(
        "cancel-at-period-end", pro.id, cancel_at_period_end=True
    )
    stripe_emulator.fail_next("/v1/subscriptions/*", status=500, method="POST")
    with pytest.raises(stripe.APIError):
        lifecycle.cancel_at_period_end(billing.subscriber)
    retry = lifecycle.idempotency_key(
        "cancel-at-period-end", pro.id, cancel_at_period_end=True
    )
    assert retry != key
    lifecycle.cancel_at_period_end(billing.subscriber)
    assert billing.stripe_subscription()["cancel_at_period_end"] is True


def test_canceling_twice_records_the_first_cancellation(billing, pro):
    second_click = billing.subscriber.__class__.objects.get(pk=billing.subscriber.pk)
    assert second_click.subscription.status == "active"  # read before the first
    lifecycle.cancel_now(billing.subscriber)
    change = lifecycle.cancel_now(second_click)
    assert change.subscription.stripe_data["status"] == "canceled"
    assert SubscriptionState.objects.get(subscription_id=pro.id).status == "canceled"
