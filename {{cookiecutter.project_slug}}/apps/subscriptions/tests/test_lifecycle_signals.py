"""Each lifecycle signal, sent once, from real flows in the emulator: a subscription
on a test clock, its webhooks delivered through dj-stripe's endpoint."""

from datetime import UTC, datetime

import pytest
import stripe
from django.core import mail

from apps.subscriptions import lifecycle, signals
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.subscribers import get_subscriber_model

pytestmark = pytest.mark.django_db

DAY = 86400


def test_a_paid_subscription_is_created_then_activated(
    billing, stripe_catalogue, sent, subscriber
):
    subscription = billing.subscribe(stripe_catalogue["pro"])
    names = sent.names()
    assert names.count("subscription_created") == 1
    assert names.count("subscription_activated") == 1
    assert names.index("subscription_created") < names.index("subscription_activated")
    [(_, sender, kwargs)] = [s for s in sent.sent if s[0] == "subscription_activated"]
    assert sender is get_subscriber_model()
    assert kwargs["subscriber"].pk == kwargs["instance"].pk == subscriber.pk
    assert kwargs["subscription"].id == subscription.id
    assert subscriber.subscription.id == subscription.id


def test_the_first_invoice_sends_invoice_and_payment_signals(
    billing, stripe_catalogue, sent
):
    billing.subscribe(stripe_catalogue["pro"])
    names = sent.names()
    for name in ("invoice_created", "invoice_paid", "payment_succeeded"):
        assert names.count(name) == 1, name
    payment = sent.one("payment_succeeded")
    price = stripe_catalogue["pro"].stripe_data
    assert (payment["amount"], payment["currency"]) == (
        price["unit_amount"],
        price["currency"],
    )
    assert payment["invoice"].id == sent.one("invoice_paid")["invoice"].id
    assert "subscription_renewed" not in names  # the first invoice is no renewal


def test_a_renewal_sends_renewed_and_no_second_activation(billing, pro, sent):
    billing.advance(days=32)
    names = sent.names()
    assert names.count("subscription_renewed") == 1
    assert names.count("payment_succeeded") == 1
    assert "subscription_activated" not in names
    renewal = sent.one("subscription_renewed")["invoice"]
    assert renewal.stripe_data["billing_reason"] == "subscription_cycle"


def test_a_failed_renewal_sends_payment_failed_and_past_due(billing, pro, sent):
    billing.emulator.set_card(billing.customer_id, "fail")
    billing.advance(days=32)
    names = sent.names()
    assert names.count("subscription_past_due") == 1
    assert names.count("invoice_payment_failed") == 1
    failure = sent.one("payment_failed")
    assert failure["amount"] > 0
    assert failure["attempt_count"] == 1
    assert failure["next_payment_attempt"] is not None
    billing.subscriber.refresh_from_db()
    assert billing.subscriber.has_active_subscription()  # past_due still counts


def test_retries_run_out_to_unpaid_then_a_payment_recovers(billing, pro, sent):
    billing.emulator.settings(final_payment_failure="unpaid")
    billing.emulator.set_card(billing.customer_id, "fail")
    billing.advance(days=32)
    billing.advance(days=20)
    assert sent.names().count("subscription_unpaid") == 1
    assert sent.names().count("payment_failed") >= 2
    sent.clear()

    billing.emulator.set_card(billing.customer_id, "success")
    [invoice] = [
        i
        for i in billing.emulator.all("invoice")
        if i["status"] == "open" and i["customer"] == billing.customer_id
    ]
    stripe.Invoice.pay(invoice["id"], **stripe_options())
    billing.deliver()
    assert sent.names().count("subscription_activated") == 1


def test_a_trial_warns_before_its_end_then_converts(billing, stripe_catalogue, sent):
    subscription = billing.subscribe(stripe_catalogue["pro"], trial_period_days=14)
    assert "subscription_created" in sent.names()
    assert "subscription_activated" not in sent.names()
    billing.subscriber.refresh_from_db()
    assert billing.subscriber.has_active_subscription()  # trialing counts

    billing.advance(days=12)
    warning = sent.one("subscription_trial_will_end")
    assert warning["trial_end"] == datetime.fromtimestamp(
        subscription.trial_end, tz=UTC
    )

    billing.advance(days=3)
    assert sent.names().count("subscription_activated") == 1
    assert sent.names().count("subscription_trial_will_end") == 1


def test_the_trial_warning_is_sent_once_for_each_trial_end(billing, stripe_catalogue):
    from types import SimpleNamespace

    from apps.subscriptions.transitions import TRIAL_WILL_END, apply_subscription

    subscription = billing.subscribe(stripe_catalogue["pro"], trial_period_days=14)
    event = SimpleNamespace(type=TRIAL_WILL_END, id="evt_local")
    first = apply_subscription(subscription.id, event=event)
    again = apply_subscription(subscription.id, event=event)
    assert "subscription_trial_will_end" in first.sent
    assert again.sent == []


def test_pausing_and_resuming_collection(billing, pro, sent):
    stripe.Subscription.modify(
        pro.id, pause_collection={"behavior": "void"}, **stripe_options()
    )
    billing.deliver()
    assert sent.names() == ["subscription_paused", "subscription_updated"]
    sent.clear()

    billing.subscriber.refresh_from_db()
    with billing.capture(execute=True):
        lifecycle.resume(billing.subscriber)
    assert sent.names() == ["subscription_resumed", "subscription_updated"]
    billing.deliver()
    assert sent.names() == ["subscription_resumed", "subscription_updated"]


def test_a_paused_trial_resumes_and_activates(billing, stripe_catalogue, sent):
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
    assert sent.names().count("subscription_paused") == 1
    billing.subscriber.refresh_from_db()
    assert not billing.subscriber.has_active_subscription()
    sent.clear()

    card = stripe.PaymentMethod.attach(
        "pm_card_visa", customer=billing.customer_id, **stripe_options()
    )
    stripe.Customer.modify(
        billing.customer_id,
        invoice_settings={"default_payment_method": card.id},
        **stripe_options(),
    )
    with billing.capture(execute=True):
        lifecycle.resume(billing.subscriber)
    billing.deliver()
    names = sent.names()
    assert names.count("subscription_resumed") == 1
    assert names.count("subscription_activated") == 1
    billing.subscriber.refresh_from_db()
    assert billing.subscriber.has_active_subscription()


def test_a_plan_change_names_both_plans(billing, pro, sent, stripe_catalogue):
    with billing.capture(execute=True):
        lifecycle.change_plan(billing.subscriber, stripe_catalogue["starter"])
    billing.deliver()
    change = sent.one("subscription_plan_changed")
    assert (change["old_plan"].slug, change["new_plan"].slug) == ("pro", "starter")
    updated = sent.one("subscription_updated")
    assert updated["previous_attributes"]["price"] == stripe_catalogue["pro"].id


def test_a_quantity_change_sends_seats_changed(billing, pro, sent):
    [item] = pro["items"]["data"]
    stripe.Subscription.modify(
        pro.id, items=[{"id": item["id"], "quantity": 3}], **stripe_options()
    )
    billing.deliver()
    change = sent.one("subscription_seats_changed")
    assert (change["old_quantity"], change["new_quantity"]) == (1, 3)
    assert "subscription_plan_changed" not in sent.names()


def test_cancel_at_period_end_is_scheduled_then_undone(billing, pro, sent):
    with billing.capture(execute=True):
        lifecycle.cancel_at_period_end(billing.subscriber)
    billing.deliver()
    scheduled = sent.one("subscription_cancel_scheduled")
    period_end = pro["items"]["data"][0]["current_period_end"]
    assert scheduled["ends_at"] == datetime.fromtimestamp(period_end, tz=UTC)
    sent.clear()

    billing.subscriber.refresh_from_db()
    with billing.capture(execute=True):
        lifecycle.undo_cancellation(billing.subscriber)
    billing.deliver()
    assert sent.names() == ["subscription_cancellation_undone", "subscription_updated"]


def test_an_end_date_is_scheduled_and_reached(billing, pro, sent):
    when = datetime.fromtimestamp(
        pro["items"]["data"][0]["current_period_start"] + 10 * DAY, tz=UTC
    )
    with billing.capture(execute=True):
        lifecycle.end_at(billing.subscriber, when)
    assert sent.one("subscription_cancel_scheduled")["ends_at"] == when
    billing.advance(days=11)
    assert sent.names().count("subscription_canceled") == 1
    billing.subscriber.refresh_from_db()
    assert billing.subscriber.subscription is None


def test_canceling_now_unlinks_and_signals_once(billing, pro, sent, settings):
    settings.ADMINS = [("Admin", "admin@example.com")]
    with billing.capture(execute=True):
        lifecycle.cancel_now(billing.subscriber)
    billing.deliver()
    assert sent.names().count("subscription_canceled") == 1
    assert sent.one("subscription_canceled")["subscription"].id == pro.id
    assert signals.subscription_cancelled is signals.subscription_canceled
    billing.subscriber.refresh_from_db()
    assert billing.subscriber.subscription is None
    # The site admins' note; the subscriber's billing managers get their own.
    [message] = [m for m in mail.outbox if m.to == ["admin@example.com"]]
    assert "Subscription ended" in message.subject


def test_a_first_payment_that_never_goes_through_expires(
    billing, stripe_catalogue, sent
):
    billing.emulator.set_card(billing.customer_id, "fail")
    billing.subscribe(stripe_catalogue["pro"], payment_behavior="default_incomplete")
    assert "subscription_created" in sent.names()
    billing.subscriber.refresh_from_db()
    assert billing.subscriber.subscription is None  # incomplete: never linked
    billing.advance(days=2)
    names = sent.names()
    assert names.count("subscription_expired") == 1
    assert names.count("invoice_voided") == 1
    assert "subscription_canceled" not in names
