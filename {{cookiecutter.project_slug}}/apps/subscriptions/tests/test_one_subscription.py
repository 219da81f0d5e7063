"""One subscription per subscriber: open Checkout sessions expired before a new one,
a second subscription that still gets paid canceled and refunded at once, sessions
re-read and checked before anything is linked, and nothing archived sold."""

from urllib.parse import urlsplit

import pytest
import stripe
from django.core import mail

from apps.subscriptions import checkout, duplicates
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.subscribers import subscriber_reference, subscriber_reverse
from apps.subscriptions.tests.concurrency import run_at_once
from apps.subscriptions.webhooks import provision_completed_checkout

from .test_checkout import return_from, start_checkout

pytestmark = pytest.mark.django_db

NOTICE = "second subscription was canceled"


def open_session(customer_id, subscriber, price) -> str:
    """A subscription Checkout session for `subscriber` made straight in Stripe, as a
    second tab's (its return page is the subscriber's)."""
    reference = subscriber_reference(subscriber)
    page = subscriber_reverse("checkout_success", subscriber)
    # Stripe puts the session's id in its place.
    success_url = "http://testserver" + page + "?session_id={CHECKOUT_SESSION_ID}"
    return stripe.checkout.Session.create(
        mode="subscription",
        customer=customer_id,
        client_reference_id=reference,
        metadata={"subscriber": reference},
        line_items=[{"price": price.id, "quantity": 1}],
        success_url=success_url,
        **stripe_options(),
    ).id


def event_of(session) -> object:
    """A stand-in for the dj-stripe Event of `checkout.session.completed`."""
    return type("Event", (), {"data": {"object": session}})()


def refunds_of(emulator, subscription_id) -> list:
    """The refunds of the payment of the subscription's latest invoice."""
    invoice = stripe.Invoice.retrieve(
        emulator.get("subscription", subscription_id)["latest_invoice"],
        expand=["payments"],
        **stripe_options(),
    )
    [payment] = invoice.payments.data
    intent = payment.payment.payment_intent
    return [r for r in emulator.all("refund") if r["payment_intent"] == intent]


@pytest.fixture
def capture_and_deliver(stripe_emulator, django_capture_on_commit_callbacks):
    def deliver():
        with django_capture_on_commit_callbacks(execute=True):
            attempts = stripe_emulator.deliver_webhooks()
        assert {a["status_code"] for a in attempts} <= {200}, attempts

    return deliver


def test_a_new_checkout_expires_the_open_one(
    billing_client, urls, stripe_catalogue, stripe_emulator
):
    first = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    second = start_checkout(billing_client, urls, stripe_catalogue["starter"])
    assert stripe_emulator.get("checkout.session", first)["status"] == "expired"
    assert stripe_emulator.get("checkout.session", second)["status"] == "open"


def test_a_second_paid_session_is_canceled_refunded_and_told_once(
    billing_client,
    billing_user,
    subscriber,
    urls,
    stripe_catalogue,
    stripe_emulator,
    webhook_endpoint,
    django_capture_on_commit_callbacks,
):
    first = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    subscriber.refresh_from_db()
    # A second tab's session, opened before either was paid; both are paid.
    second = open_session(subscriber.customer.id, subscriber, stripe_catalogue["pro"])
    with django_capture_on_commit_callbacks(execute=True):
        return_from(billing_client, stripe_emulator.complete_checkout(first))
    subscriber.refresh_from_db()
    kept = subscriber.subscription.id
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        page = return_from(billing_client, stripe_emulator.complete_checkout(second))
        stripe_emulator.deliver_webhooks()
    assert page.status_code == 200
    duplicate = stripe_emulator.get("checkout.session", second)["subscription"]
    assert stripe_emulator.get("subscription", duplicate)["status"] == "canceled"
    [refund] = refunds_of(stripe_emulator, duplicate)
    assert refund["amount"] == stripe_catalogue["pro"].unit_amount
    subscriber.refresh_from_db()
    assert subscriber.subscription.id == kept
    [notice] = [m for m in mail.outbox if NOTICE in m.subject]
    assert notice.to == [billing_user.email]
    assert "Pro subscription carries on" in notice.body


def test_a_subscription_made_in_stripe_beside_the_linked_one_is_ended(
    billing, pro, stripe_catalogue, stripe_emulator
):
    duplicate = stripe.Subscription.create(
        customer=billing.customer_id,
        items=[{"price": stripe_catalogue["starter"].id, "quantity": 1}],
        **stripe_options(),
    )
    billing.deliver()
    assert stripe_emulator.get("subscription", duplicate.id)["status"] == "canceled"
    assert len(refunds_of(stripe_emulator, duplicate.id)) == 1
    assert stripe_emulator.get("subscription", pro.id)["status"] == "active"
    billing.subscriber.refresh_from_db()
    assert billing.subscriber.subscription.id == pro.id
    assert len([m for m in mail.outbox if NOTICE in m.subject]) == 1


def test_a_duplicate_refunded_by_hand_first_is_still_ended_and_told(
    billing, pro, stripe_catalogue, stripe_emulator
):
    duplicate = stripe.Subscription.create(
        customer=billing.customer_id,
        items=[{"price": stripe_catalogue["starter"].id, "quantity": 1}],
        **stripe_options(),
    )
    invoice = stripe.Invoice.retrieve(
        duplicate.latest_invoice, expand=["payments"], **stripe_options()
    )
    [payment] = invoice.payments.data
    stripe.Refund.create(
        payment_intent=payment.payment.payment_intent, **stripe_options()
    )
    billing.deliver()
    assert stripe_emulator.get("subscription", duplicate.id)["status"] == "canceled"
    assert len(refunds_of(stripe_emulator, duplicate.id)) == 1
    [notice] = [m for m in mail.outbox if NOTICE in m.subject]
    assert "refunded" not in notice.subject


@pytest.mark.django_db(transaction=True)
def test_the_return_page_and_the_webhook_at_once_settle_a_duplicate_once(
    billing_client, subscriber, urls, stripe_catalogue, stripe_emulator, monkeypatch
):
    first = start_checkout(billing_client, urls, stripe_catalogue["pro"])
    subscriber.refresh_from_db()
    second = open_session(subscriber.customer.id, subscriber, stripe_catalogue["pro"])
    return_from(billing_client, stripe_emulator.complete_checkout(first))
    stripe_emulator.complete_checkout(second)
    session = stripe_emulator.get("checkout.session", second)
    settle, found = duplicates.settle_duplicate, []
    monkeypatch.setattr(duplicates, "settle_duplicate", lambda *a: found.append(a))
    errors = run_at_once(
        lambda: checkout.complete_checkout_session(second, subscriber),
        lambda: provision_completed_checkout(None, event_of(session)),
    )
    assert errors == []
    assert len(found) == 2  # both saw the duplicate
    # One after the other: SQLite's in-memory database fails rather than waits.
    for args in found:
        settle(*args)
    duplicate = session["subscription"]
    assert stripe_emulator.get("subscription", duplicate)["status"] == "canceled"
    assert len(refunds_of(stripe_emulator, duplicate)) == 1
    assert len([m for m in mail.outbox if NOTICE in m.subject]) == 1
    subscriber.refresh_from_db()
    assert subscriber.subscription.id != duplicate


def test_a_forged_event_links_no_one_to_anothers_subscription(
    billing, pro, other_subscriber
):
    attacker = subscriber_reference(other_subscriber)
    forged = {
        "id": "cs_forged",
        "object": "checkout.session",
        "mode": "subscription",
        "status": "complete",
        "payment_status": "paid",
        "client_reference_id": attacker,
        "metadata": {"subscriber": attacker},
        "customer": billing.customer_id,
        "subscription": pro.id,
    }
    provision_completed_checkout(None, event_of(forged))
    other_subscriber.refresh_from_db()
    assert other_subscriber.subscription is None
    billing.subscriber.refresh_from_db()
    assert billing.subscriber.subscription.id == pro.id


def test_a_session_of_one_customer_naming_another_subscriber_links_nothing(
    client,
    billing_client,
    subscriber,
    urls,
    stripe_catalogue,
    stripe_emulator,
    other_subscriber,
    other_billing_user,
    capture_and_deliver,
):
    start_checkout(billing_client, urls, stripe_catalogue["pro"])
    subscriber.refresh_from_db()
    # The subscriber's customer pays; the session names the other subscriber.
    session_id = open_session(
        subscriber.customer.id, other_subscriber, stripe_catalogue["pro"]
    )
    success_url = stripe_emulator.complete_checkout(session_id)
    capture_and_deliver()
    with pytest.raises(checkout.CheckoutSessionNotFound):
        checkout.complete_checkout_session(session_id)
    client.force_login(other_billing_user)
    other_url = subscriber_reverse("checkout_success", other_subscriber)
    query = urlsplit(success_url).query
    assert client.get(f"{other_url}?{query}").status_code == 404
    other_subscriber.refresh_from_db()
    assert other_subscriber.subscription is None
    assert other_subscriber.customer is None


def archive(stripe_catalogue, plan, what):
    price = stripe_catalogue[plan]
    if what == "product":
        stripe.Product.modify(price.product_id, active=False, **stripe_options())
    else:
        stripe.Price.modify(price.id, active=False, **stripe_options())
    return price


@pytest.mark.parametrize("what", ["product", "price"])
def test_an_archived_plan_is_not_sold_and_no_longer_listed(
    what, billing_client, urls, stripe_catalogue, stripe_emulator
):
    # Archived in Stripe; its webhook has not arrived.
    price = archive(stripe_catalogue, "pro", what)
    assert price.id in billing_client.get(urls("subscription")).content.decode()
    response = billing_client.post(urls("checkout"), {"price_id": price.id})
    assert response.status_code == 400
    assert "not for sale" in response.content.decode()
    assert stripe_emulator.all("checkout.session") == []
    assert price.id not in billing_client.get(urls("subscription")).content.decode()


def test_a_product_archived_by_webhook_is_not_listed(
    billing_client, urls, stripe_catalogue, webhook_endpoint, capture_and_deliver
):
    price = archive(stripe_catalogue, "pro", "product")
    capture_and_deliver()
    assert price.id not in billing_client.get(urls("subscription")).content.decode()
    response = billing_client.post(urls("checkout"), {"price_id": price.id})
    assert response.status_code == 400
