"""The wallet on Stripe's customer balance: the admin's credits and debits, those
made in Stripe's dashboard, and the invoices that use it, against the emulator."""

import pytest
import stripe

from apps.subscriptions import wallet
from apps.subscriptions.models import CustomerBalanceTransaction
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.tests.test_admin import run_action

pytestmark = pytest.mark.django_db


def adjust_from_admin(client, subscriber, **data):
    """The admin's "Credit or debit the wallet..." action, its form filled in."""
    return run_action(
        client, "adjust_wallet", [subscriber], apply="1", token="t1", **data
    )


def stripe_balance(billing) -> int:
    return stripe.Customer.retrieve(billing.customer_id, **stripe_options())["balance"]


def test_the_admin_credits_the_wallet_once(admin_client, billing, sent):
    with billing.capture(execute=True):
        response = adjust_from_admin(
            admin_client,
            billing.subscriber,
            direction="credit",
            amount="12.50",
            reason="Sorry for the outage",
        )
    assert "Credited" in response.content.decode()
    assert stripe_balance(billing) == -1250
    billing.deliver()  # customer.updated: the entry is known, nothing is sent again
    [entry] = CustomerBalanceTransaction.objects.all()
    assert entry.amount == -1250
    assert entry.description == "Sorry for the outage"
    assert sent.names() == ["wallet_credited"]
    credited = sent.one("wallet_credited")
    assert credited["amount"] == 1250
    assert credited["balance_transaction"] == entry
    assert credited["subscriber"] == billing.subscriber


def test_submitting_the_same_form_twice_credits_once(admin_client, billing, sent):
    for _ in range(2):
        with billing.capture(execute=True):
            adjust_from_admin(
                admin_client,
                billing.subscriber,
                direction="credit",
                amount="5",
                reason="Goodwill",
            )
    assert stripe_balance(billing) == -500
    assert sent.names() == ["wallet_credited"]


def test_the_admin_debits_the_wallet(admin_client, billing, sent):
    with billing.capture(execute=True):
        adjust_from_admin(
            admin_client,
            billing.subscriber,
            direction="debit",
            amount="3",
            reason="Late fee",
        )
    assert stripe_balance(billing) == 300
    assert sent.names() == ["wallet_debited"]
    assert sent.one("wallet_debited")["amount"] == 300


def test_the_admin_form_refuses_a_missing_reason_and_a_zero_amount(
    admin_client, billing, sent
):
    response = adjust_from_admin(
        admin_client, billing.subscriber, direction="credit", amount="0", reason=""
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"amount", "reason"}
    assert stripe_balance(billing) == 0
    assert sent.names() == []


def test_a_subscriber_without_a_customer_is_told_so(admin_client, subscriber):
    response = adjust_from_admin(
        admin_client, subscriber, direction="credit", amount="5", reason="Hi"
    )
    assert "no Stripe customer" in response.content.decode()


def test_a_credit_made_in_stripes_dashboard_arrives_once(billing, sent):
    stripe.Customer.create_balance_transaction(
        billing.customer_id,
        amount=-700,
        currency="usd",
        description="Dashboard credit",
        **stripe_options(),
    )
    billing.deliver()
    [entry] = CustomerBalanceTransaction.objects.all()
    assert entry.description == "Dashboard credit"
    assert sent.names() == ["wallet_credited"]
    # Redelivered, or the balance changing again, sends nothing more for it.
    wallet.sync_balance_transactions(billing.customer_id)
    assert sent.names() == ["wallet_credited"]


def test_the_next_invoice_uses_the_balance(
    billing, pro, stripe_catalogue, sent, billing_client, urls
):
    price = stripe_catalogue["pro"].stripe_data["unit_amount"]
    credit = price // 2
    with billing.capture(execute=True):
        wallet.adjust_wallet(billing.subscriber, credit, "Credit", key="k")
    subscription = billing.stripe_subscription()
    billing.advance(to=subscription["items"]["data"][0]["current_period_end"] + 60)
    [renewal] = stripe.Invoice.list(
        subscription=subscription.id, limit=1, **stripe_options()
    ).data
    assert renewal["billing_reason"] == "subscription_cycle"
    assert renewal["starting_balance"] == -credit
    assert renewal["amount_paid"] == renewal["total"] - credit
    assert stripe_balance(billing) == 0
    # What the invoice used is mirrored, and is no credit nor debit.
    used = CustomerBalanceTransaction.objects.get(type="applied_to_invoice")
    assert used.invoice_id == renewal.id
    assert sent.names().count("wallet_credited") == 1
    assert "wallet_debited" not in sent.names()
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="wallet-balance">$0.00<' in page
    assert page.count('data-testid="wallet-transaction"') == 2


def test_the_page_shows_the_balance(billing, billing_client, urls, sent):
    with billing.capture(execute=True):
        wallet.adjust_wallet(billing.subscriber, 4200, "Welcome", key="k")
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="wallet-balance">$42.00<' in page
    assert "Welcome" in page


def test_no_wallet_is_shown_before_any_balance(billing, billing_client, urls):
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="wallet"' not in page
