"""dj-stripe 2.11 works unchanged against the emulator (in-process door)."""

import pytest
import stripe
from django.core.management import call_command
from djstripe import models as djstripe_models
from djstripe.admin.forms import WebhookEndpointAdminCreateForm

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed(stripe_emulator):
    """A product, two prices, a customer and an active subscription in the emulator."""
    product = stripe.Product.create(name="Studio", marketing_features=[{"name": "SSO"}])
    monthly = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=1200,
        recurring={"interval": "month"},
    )
    stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=12000,
        recurring={"interval": "year"},
    )
    customer = stripe.Customer.create(
        email="dj@example.com", payment_method="pm_card_visa"
    )
    return stripe.Subscription.create(
        customer=customer.id, items=[{"price": monthly.id, "quantity": 3}]
    )


def test_sync_models_mirrors_products_prices_customers_subscriptions(
    subscribed, capsys
):
    call_command("djstripe_sync_models", "Product", "Price", "Customer", "Subscription")

    assert "Error" not in capsys.readouterr().err
    assert djstripe_models.Product.objects.get().name == "Studio"
    assert djstripe_models.Price.objects.count() == 2
    assert djstripe_models.Customer.objects.get().email == "dj@example.com"
    sub = djstripe_models.Subscription.objects.get(id=subscribed.id)
    assert (sub.status, sub.items.get().quantity) == ("active", 3)


def create_endpoint_as_the_admin_does():
    form = WebhookEndpointAdminCreateForm(
        data={
            "base_url": "https://site.example.com",
            "enabled_events": ["*"],
            "api_version": "",
            "metadata": "{}",
            "djstripe_tolerance": 300,
            "djstripe_validation_method": "verify_signature",
        }
    )
    assert form.is_valid(), form.errors
    return form.save(commit=True)


def test_admin_created_endpoint_gets_a_secret_from_the_emulator(stripe_emulator):
    endpoint = create_endpoint_as_the_admin_does()

    assert endpoint.secret.startswith("whsec_")
    remote = stripe_emulator.get("webhook_endpoint", endpoint.id)
    assert (
        remote["url"]
        == f"https://site.example.com/stripe/webhook/{endpoint.djstripe_uuid}/"
    )
    assert stripe_emulator.engine.endpoint_secret(endpoint.id) == endpoint.secret


def test_djstripe_webhook_view_verifies_and_processes_deliveries(
    stripe_emulator, subscribed
):
    endpoint = create_endpoint_as_the_admin_does()
    stripe.Subscription.modify(
        subscribed.id, items=[{"id": subscribed["items"].data[0].id, "quantity": 5}]
    )

    attempts = stripe_emulator.deliver_webhooks()

    assert attempts
    assert {a["status_code"] for a in attempts} == {200}
    assert djstripe_models.WebhookEventTrigger.objects.filter(
        webhook_endpoint=endpoint, valid=True, processed=True
    ).exists()
    assert djstripe_models.Event.objects.filter(
        type="customer.subscription.updated"
    ).exists()
    sub = djstripe_models.Subscription.objects.get(id=subscribed.id)
    assert sub.items.get().quantity == 5


def test_a_forged_signature_is_refused_by_djstripe(stripe_emulator, client):
    endpoint = create_endpoint_as_the_admin_does()
    stripe.Customer.create(email="forged@example.com")
    delivery = stripe_emulator.deliveries()[-1]
    _, body, _ = stripe_emulator.engine.delivery_request(delivery["id"])

    response = client.post(
        f"/stripe/webhook/{endpoint.djstripe_uuid}/",
        body,
        content_type="application/json",
        headers={"Stripe-Signature": "t=1,v1=bad"},
    )

    assert response.status_code == 400
    assert not djstripe_models.Event.objects.exists()


def test_every_event_of_a_billing_lifecycle_is_accepted_by_djstripe(stripe_emulator):
    endpoint = create_endpoint_as_the_admin_does()
    product = stripe.Product.create(name="Studio")
    price = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=900,
        recurring={"interval": "month"},
    )
    clock = stripe_emulator.create_test_clock()
    customer = stripe.Customer.create(email="life@example.com", test_clock=clock)
    session = stripe.checkout.Session.create(
        mode="subscription",
        customer=customer.id,
        line_items=[{"price": price.id, "quantity": 2}],
        success_url="https://site.example.com/ok",
        subscription_data={"trial_period_days": 7},
    )
    stripe_emulator.complete_checkout(session.id)
    sub_id = stripe.checkout.Session.retrieve(session.id).subscription
    portal = stripe.billing_portal.Session.create(customer=customer.id)
    stripe_emulator.portal_action(portal.id, sub_id, "set_quantity", quantity=4)
    stripe_emulator.advance_clock(clock, days=8)
    stripe_emulator.portal_action(portal.id, sub_id, "cancel_at_period_end")

    attempts = stripe_emulator.deliver_webhooks()

    assert {a["status_code"] for a in attempts} == {200}
    assert len(attempts) == len(stripe_emulator.events())
    assert djstripe_models.Event.objects.count() == len(attempts)
    mirrored = djstripe_models.Subscription.objects.get(id=sub_id)
    assert (mirrored.status, mirrored.cancel_at_period_end) == ("active", True)
    assert mirrored.items.get().quantity == 4
    assert endpoint.webhookeventtrigger_set.filter(valid=True).count() == len(attempts)


def test_every_event_of_the_unhappy_paths_is_accepted_by_djstripe(stripe_emulator):
    """Trials without a card, pausing and resuming, declined renewals, voiding and
    pause_collection: every event goes through dj-stripe's webhook view."""
    endpoint = create_endpoint_as_the_admin_does()
    product = stripe.Product.create(name="Studio")
    price = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=900,
        recurring={"interval": "month"},
    )
    clock = stripe_emulator.create_test_clock()
    customer = stripe.Customer.create(email="unhappy@example.com", test_clock=clock)
    sub = stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": price.id}],
        trial_period_days=2,
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
    )
    stripe_emulator.advance_clock(clock, days=3)
    pm = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    stripe.Customer.modify(
        customer.id, invoice_settings={"default_payment_method": pm.id}
    )
    stripe.Subscription.resume(sub.id)
    stripe_emulator.set_card(customer.id, "fail")
    stripe_emulator.advance_clock(clock, days=32)
    stripe.Invoice.void_invoice(stripe.Subscription.retrieve(sub.id).latest_invoice)
    stripe.Subscription.modify(
        sub.id, pause_collection={"behavior": "mark_uncollectible"}
    )
    stripe_emulator.advance_clock(clock, days=31)
    stripe.Subscription.modify(sub.id, cancel_at_period_end=True)

    attempts = stripe_emulator.deliver_webhooks()

    types = {a["type"] for a in attempts}
    assert {
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "invoice.payment_failed",
        "invoice.voided",
        "invoice.marked_uncollectible",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
    } <= types
    assert {a["status_code"] for a in attempts} == {200}
    assert endpoint.webhookeventtrigger_set.filter(valid=True).count() == len(attempts)
    mirrored = djstripe_models.Subscription.objects.get(id=sub.id)
    assert (mirrored.status, mirrored.cancel_at_period_end) == ("active", True)
    assert mirrored.pause_collection == {
        "behavior": "mark_uncollectible",
        "resumes_at": None,
    }


def test_every_event_of_the_money_paths_is_accepted_by_djstripe(stripe_emulator):
    """Coupons, promotion codes, discounted renewals, one-off Checkout payments,
    refunds and balance credits: every event goes through dj-stripe's webhook view,
    which fetches each object again (with its expansions) and mirrors it."""
    endpoint = create_endpoint_as_the_admin_does()
    product = stripe.Product.create(name="Studio")
    monthly = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=900,
        recurring={"interval": "month"},
    )
    ebook = stripe.Price.create(product=product.id, currency="usd", unit_amount=2500)
    coupon = stripe.Coupon.create(
        percent_off=50, duration="repeating", duration_in_months=2
    )
    promo = stripe.PromotionCode.create(
        promotion={"type": "coupon", "coupon": coupon.id}, code="HALF"
    )
    clock = stripe_emulator.create_test_clock()
    customer = stripe.Customer.create(email="money@example.com", test_clock=clock)
    session = stripe.checkout.Session.create(
        mode="subscription",
        customer=customer.id,
        line_items=[{"price": monthly.id, "quantity": 1}],
        success_url="https://site.example.com/ok",
        allow_promotion_codes=True,
    )
    stripe_emulator.complete_checkout(session.id, promotion_code="half")
    stripe.Customer.create_balance_transaction(customer.id, amount=-300, currency="usd")
    stripe_emulator.advance_clock(clock, days=65)
    purchase = stripe.checkout.Session.create(
        mode="payment",
        customer=customer.id,
        line_items=[{"price": ebook.id, "quantity": 1}],
        success_url="https://site.example.com/ok",
        invoice_creation={"enabled": True},
    )
    stripe_emulator.complete_checkout(purchase.id)
    intent = stripe.checkout.Session.retrieve(purchase.id).payment_intent
    stripe.Refund.create(payment_intent=intent, amount=500)
    stripe.PromotionCode.modify(promo.id, active=False)

    attempts = stripe_emulator.deliver_webhooks()

    types = {a["type"] for a in attempts}
    assert {
        "coupon.created",
        "promotion_code.created",
        "promotion_code.updated",
        "customer.discount.created",
        "customer.discount.deleted",
        "charge.succeeded",
        "charge.refunded",
        "refund.created",
    } <= types
    assert {a["status_code"] for a in attempts} == {200}
    assert endpoint.webhookeventtrigger_set.filter(valid=True).count() == len(attempts)
    charge = djstripe_models.Charge.objects.get(payment_intent__id=intent)
    assert charge.stripe_data["amount_refunded"] == 500
    assert djstripe_models.Coupon.objects.get(id=coupon.id).times_redeemed == 1
    first = djstripe_models.Invoice.objects.order_by("created").first()
    assert first.stripe_data["total"] == 450
