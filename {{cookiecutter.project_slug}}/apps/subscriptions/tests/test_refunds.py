"""Refunds against the emulator: the admin's, in full or in part, and those made in
Stripe's dashboard, each signalled and mailed once."""

import pytest
import stripe
from django.core import mail

from apps.subscriptions import purchases, refunds
from apps.subscriptions.models import PaymentRefund, Purchase
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.subscribers import subscriber_reference
from apps.subscriptions.tests.test_admin import run_action

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_site_admins(settings):
    settings.ADMINS = []


@pytest.fixture
def pack(billing, stripe_catalogue, sent):
    """A paid credit pack of the subscriber; the log and the outbox empty."""
    [offer] = [o for o in purchases.get_one_off_offers() if not o.is_top_up]
    session = stripe.checkout.Session.create(
        mode="payment",
        customer=billing.customer_id,
        metadata={"subscriber": subscriber_reference(billing.subscriber)},
        line_items=[{"price": offer.price_id, "quantity": 1}],
        success_url="https://site.test/done?session_id={CHECKOUT_SESSION_ID}",
        **stripe_options(),
    )
    billing.emulator.complete_checkout(session.id)
    billing.deliver()
    purchase = Purchase.objects.get(checkout_session_id=session.id)
    sent.clear()
    mail.outbox.clear()
    return purchase


def refund_from_admin(client, subscriber, **data):
    """The admin's "Refund a payment..." action, its form filled in."""
    return run_action(
        client, "refund_payment", [subscriber], apply="1", token="t1", **data
    )


def charge(charge_id):
    return stripe.Charge.retrieve(charge_id, **stripe_options())


def test_the_admin_refunds_part_of_a_purchase_once(admin_client, billing, pack, sent):
    with billing.capture(execute=True):
        response = refund_from_admin(
            admin_client,
            billing.subscriber,
            payment=f"purchase:{pack.pk}",
            amount="10",
            reason="requested_by_customer",
            note="Half a pack unused",
        )
    assert "Refunded a payment" in response.content.decode()
    assert charge(pack.charge_id)["amount_refunded"] == 1000
    billing.deliver()  # charge.refunded, refund.created: known, nothing again
    [row] = PaymentRefund.objects.all()
    assert (row.amount, row.purchase, row.note) == (1000, pack, "Half a pack unused")
    assert row.reason == "requested_by_customer"
    pack.refresh_from_db()
    assert pack.amount_refunded == 1000
    assert sent.names() == ["payment_refunded"]
    refunded = sent.one("payment_refunded")
    assert refunded["amount"] == 1000
    assert refunded["purchase"] == pack
    assert refunded["invoice"] is None
    [message] = mail.outbox
    assert "We refunded $10.00" in message.subject
    assert "Half a pack unused" in message.body


def test_refunding_more_than_remains_is_refused(admin_client, billing, pack, sent):
    response = refund_from_admin(
        admin_client,
        billing.subscriber,
        payment=f"purchase:{pack.pk}",
        amount="25.01",
        note="Too much",
    )
    assert response.context["form"].errors["amount"] == [
        "At most $25.00 remains to refund."
    ]
    assert charge(pack.charge_id)["amount_refunded"] == 0
    assert sent.names() == []


def test_the_service_refuses_more_than_stripe_says_remains(billing, pack, sent):
    # Refunded in the dashboard a moment ago; its webhook has not arrived.
    stripe.Refund.create(charge=pack.charge_id, amount=2000, **stripe_options())
    with pytest.raises(refunds.RefundError, match=r"greater than what remains"):
        refunds.refund_payment(
            billing.subscriber, f"purchase:{pack.pk}", amount=1000, key="k"
        )
    assert charge(pack.charge_id)["amount_refunded"] == 2000


def test_a_dashboard_refund_of_an_invoice_arrives_once(billing, pro, sent):
    invoice = stripe.Invoice.retrieve(pro["latest_invoice"], **stripe_options())
    [payment] = stripe.InvoicePayment.list(invoice=invoice.id, **stripe_options()).data
    intent = payment["payment"]["payment_intent"]
    stripe.Refund.create(payment_intent=intent, reason="duplicate", **stripe_options())
    billing.deliver()
    [row] = PaymentRefund.objects.all()
    assert row.invoice_id == invoice.id
    assert row.amount == invoice["amount_paid"]
    assert sent.names() == ["payment_refunded"]
    assert sent.one("payment_refunded")["invoice"].id == invoice.id
    assert sent.one("payment_refunded")["reason"] == "duplicate"
    refunds.sync_charge_refunds(row.charge_id)  # seen again: nothing more
    assert sent.names() == ["payment_refunded"]
    assert len([m for m in mail.outbox if "We refunded" in m.subject]) == 1


def test_the_admin_refunds_an_invoice_in_full(admin_client, billing, pro, sent):
    invoice_id = pro["latest_invoice"]
    with billing.capture(execute=True):
        refund_from_admin(
            admin_client,
            billing.subscriber,
            payment=f"invoice:{invoice_id}",
            note="Goodwill",
        )
    billing.deliver()
    [row] = PaymentRefund.objects.all()
    assert row.invoice_id == invoice_id
    assert sent.names() == ["payment_refunded"]
    # Nothing is left of it to refund.
    assert refunds.refundable_payments(billing.subscriber) == []


def test_no_email_when_switched_off(billing, pack, sent, settings):
    settings.SUBSCRIPTIONS_CUSTOMER_EMAILS = []
    with billing.capture(execute=True):
        refunds.refund_payment(billing.subscriber, f"purchase:{pack.pk}", key="k")
    assert sent.names() == ["payment_refunded"]
    assert mail.outbox == []


def test_another_subscribers_payment_is_refused(billing, pack, other_subscriber):
    with pytest.raises(refunds.RefundError, match="not one of this subscriber's"):
        refunds.refund_payment(other_subscriber, f"purchase:{pack.pk}", key="k")
