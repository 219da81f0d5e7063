"""One-off purchases and top-ups against the emulator: Checkout in payment mode,
fulfilled once whichever of the return page and the webhook comes first."""

from urllib.parse import urlsplit

import pytest
import stripe
from djstripe.models import Price

from apps.subscriptions import purchases
from apps.subscriptions.models import CustomerBalanceTransaction, Purchase
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.subscribers import subscriber_reverse
from apps.subscriptions.tests.concurrency import run_at_once

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_offs(stripe_catalogue):
    """The demo's one-time prices by product slug ("credit-pack", "wallet-top-up")."""
    return {offer.product.slug: offer for offer in purchases.get_one_off_offers()}


def buy(client, urls, offer, **data) -> str:
    """POST a one-off purchase; the id of the Checkout session it redirects to."""
    response = client.post(urls("buy"), {"price_id": offer.price_id, **data})
    assert response.status_code == 302, response.content
    return urlsplit(response["Location"]).path.rstrip("/").rsplit("/", 1)[-1]


def return_from(client, success_url):
    parts = urlsplit(success_url)
    return client.get(f"{parts.path}?{parts.query}", follow=True)


def deliver(stripe_emulator, capture):
    with capture(execute=True):
        attempts = stripe_emulator.deliver_webhooks()
    assert {a["status_code"] for a in attempts} <= {200}, attempts
    return attempts


def test_the_demo_catalogue_sells_a_pack_and_a_top_up(one_offs):
    pack, top_up = one_offs["credit-pack"], one_offs["wallet-top-up"]
    assert not pack.is_top_up and pack.unit_amount > 0
    assert top_up.is_top_up
    for offer in (pack, top_up):
        price = Price.objects.get(id=offer.price_id)
        assert price.stripe_data["type"] == "one_time"


def test_the_one_off_products_have_their_own_section(billing_client, urls, one_offs):
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="one-off-products"' in page
    assert "Buy Credit pack" in page
    assert 'data-testid="top-up-amount"' in page


def test_the_public_pricing_page_lists_them_without_buttons(client, one_offs):
    page = client.get("/pricing/").content.decode()
    assert "Credit pack" in page
    assert "Buy Credit pack" not in page


def test_buying_opens_checkout_in_payment_mode(
    billing_client, subscriber, urls, one_offs, stripe_emulator
):
    session_id = buy(billing_client, urls, one_offs["credit-pack"])
    session = stripe_emulator.get("checkout.session", session_id)
    assert session["mode"] == "payment"
    subscriber.refresh_from_db()
    assert session["customer"] == subscriber.customer.id
    [line] = stripe_emulator.engine.private(session_id)["line_items"]
    assert line["price"]["id"] == one_offs["credit-pack"].price_id
    assert line["quantity"] == 1


def test_the_return_page_fulfils_the_purchase_once(
    billing_client,
    subscriber,
    urls,
    one_offs,
    stripe_emulator,
    webhook_endpoint,
    sent,
    django_capture_on_commit_callbacks,
):
    pack = one_offs["credit-pack"]
    session_id = buy(billing_client, urls, pack)
    with django_capture_on_commit_callbacks(execute=True):
        response = return_from(
            billing_client, stripe_emulator.complete_checkout(session_id)
        )
    assert "Credit pack is paid" in response.content.decode()
    purchase = Purchase.objects.get()
    assert purchase.checkout_session_id == session_id
    assert purchase.amount == pack.unit_amount
    assert purchase.charge_id.startswith("ch_")
    assert purchase.receipt_url
    assert sent.names() == ["purchase_completed", "payment_succeeded"]
    paid = sent.one("payment_succeeded")
    assert paid["invoice"] is None
    assert paid["purchase"] == purchase
    assert paid["amount"] == pack.unit_amount
    assert paid["subscriber"] == subscriber
    sent.clear()
    attempts = deliver(stripe_emulator, django_capture_on_commit_callbacks)
    assert "checkout.session.completed" in {a["type"] for a in attempts}
    return_from(billing_client, f"{urls('purchase_success')}?session_id={session_id}")
    assert sent.names() == []
    assert Purchase.objects.count() == 1


def test_the_webhook_fulfils_before_the_return_page(
    billing_client,
    urls,
    one_offs,
    stripe_emulator,
    webhook_endpoint,
    sent,
    django_capture_on_commit_callbacks,
):
    session_id = buy(billing_client, urls, one_offs["credit-pack"])
    success_url = stripe_emulator.complete_checkout(session_id)
    deliver(stripe_emulator, django_capture_on_commit_callbacks)
    assert Purchase.objects.count() == 1
    assert sent.names() == ["purchase_completed", "payment_succeeded"]
    with django_capture_on_commit_callbacks(execute=True):
        return_from(billing_client, success_url)
    assert Purchase.objects.count() == 1
    assert len(sent.names()) == 2


@pytest.mark.django_db(transaction=True)
def test_return_page_and_webhook_at_once_fulfil_once(
    billing_client, subscriber, urls, one_offs, stripe_emulator, sent
):
    from apps.subscriptions.payment_webhooks import fulfil_completed_purchase

    session_id = buy(billing_client, urls, one_offs["wallet-top-up"], amount="20")
    stripe_emulator.complete_checkout(session_id)
    session = stripe_emulator.get("checkout.session", session_id)
    event = type("Event", (), {"id": "evt_test", "data": {"object": session}})()
    errors = run_at_once(
        lambda: purchases.fulfil_purchase(session_id, subscriber),
        lambda: fulfil_completed_purchase(None, event),
    )
    assert errors == []
    assert Purchase.objects.count() == 1
    assert sent.names().count("topup_completed") == 1
    customer = stripe.Customer.retrieve(session["customer"], **stripe_options())
    assert customer["balance"] == -2000


def test_a_top_up_credits_the_wallet_once(
    billing_client,
    subscriber,
    urls,
    one_offs,
    stripe_emulator,
    webhook_endpoint,
    sent,
    django_capture_on_commit_callbacks,
):
    session_id = buy(billing_client, urls, one_offs["wallet-top-up"], amount="25")
    [line] = stripe_emulator.engine.private(session_id)["line_items"]
    assert line["quantity"] == 2500 // one_offs["wallet-top-up"].unit_amount
    with django_capture_on_commit_callbacks(execute=True):
        return_from(billing_client, stripe_emulator.complete_checkout(session_id))
    deliver(stripe_emulator, django_capture_on_commit_callbacks)
    subscriber.refresh_from_db()
    customer = stripe.Customer.retrieve(subscriber.customer.id, **stripe_options())
    assert customer["balance"] == -2500
    purchase = Purchase.objects.get()
    assert purchase.kind == Purchase.Kind.TOP_UP
    [entry] = CustomerBalanceTransaction.objects.all()
    assert entry.amount == -2500
    assert sorted(sent.names()) == sorted(
        [
            "purchase_completed",
            "payment_succeeded",
            "wallet_credited",
            "topup_completed",
        ]
    )
    assert sent.one("topup_completed")["balance_transaction"] == entry
    assert sent.one("wallet_credited")["amount"] == 2500


@pytest.mark.parametrize("amount", ["1", "100000", "abc", "", "10.001", "10.50"])
def test_a_top_up_outside_the_limits_opens_no_checkout(
    billing_client, urls, one_offs, stripe_emulator, settings, amount
):
    settings.SUBSCRIPTIONS_WALLET_TOP_UP_MIN = 500
    settings.SUBSCRIPTIONS_WALLET_TOP_UP_MAX = 50000
    offer = one_offs["wallet-top-up"]
    response = billing_client.post(
        urls("buy"), {"price_id": offer.price_id, "amount": amount}, follow=True
    )
    assert response.redirect_chain[-1][0] == urls("subscription")
    assert "Choose" in response.content.decode()
    assert stripe_emulator.all("checkout.session") == []


def test_a_pack_is_bought_by_the_quantity_within_the_limit(
    billing_client, urls, one_offs, stripe_emulator, settings
):
    settings.SUBSCRIPTIONS_ONE_OFF_MAX_QUANTITY = 3
    session_id = buy(billing_client, urls, one_offs["credit-pack"], quantity="3")
    [line] = stripe_emulator.engine.private(session_id)["line_items"]
    assert line["quantity"] == 3
    for quantity in ("4", "0", "x"):
        response = billing_client.post(
            urls("buy"),
            {"price_id": one_offs["credit-pack"].price_id, "quantity": quantity},
            follow=True,
        )
        assert "Choose a quantity from 1 to 3." in response.content.decode()
    assert len(stripe_emulator.all("checkout.session")) == 1


def test_a_price_not_sold_once_is_a_400(
    billing_client, urls, stripe_catalogue, stripe_emulator
):
    plan_price = stripe_catalogue["pro"]
    assert (
        billing_client.post(urls("buy"), {"price_id": plan_price.id}).status_code == 400
    )
    assert billing_client.post(urls("buy"), {"price_id": "nope"}).status_code == 400
    assert stripe_emulator.all("checkout.session") == []


def test_a_declined_card_fulfils_nothing(
    billing_client,
    urls,
    one_offs,
    stripe_emulator,
    webhook_endpoint,
    sent,
    django_capture_on_commit_callbacks,
):
    from stripe_emulator.errors import StripeError

    session_id = buy(billing_client, urls, one_offs["credit-pack"])
    with pytest.raises(StripeError):
        stripe_emulator.complete_checkout(session_id, card="decline")
    deliver(stripe_emulator, django_capture_on_commit_callbacks)
    response = return_from(
        billing_client, f"{urls('purchase_success')}?session_id={session_id}"
    )
    assert "nothing was bought" in response.content.decode()
    assert Purchase.objects.count() == 0
    assert sent.names() == []


def test_an_expired_session_fulfils_nothing(
    billing_client,
    urls,
    one_offs,
    stripe_emulator,
    webhook_endpoint,
    sent,
    django_capture_on_commit_callbacks,
):
    session_id = buy(billing_client, urls, one_offs["credit-pack"])
    stripe.checkout.Session.expire(session_id, **stripe_options())
    deliver(stripe_emulator, django_capture_on_commit_callbacks)
    result = purchases.fulfil_purchase(session_id)
    assert result.outcome == purchases.PurchaseOutcome.NOT_PAID
    assert Purchase.objects.count() == 0
    assert sent.names() == []


def test_another_subscribers_session_is_404(
    billing_client,
    urls,
    one_offs,
    stripe_emulator,
    client,
    other_subscriber,
    other_billing_user,
):
    session_id = buy(billing_client, urls, one_offs["credit-pack"])
    stripe_emulator.complete_checkout(session_id)
    client.force_login(other_billing_user)
    url = subscriber_reverse("purchase_success", other_subscriber)
    assert client.get(f"{url}?session_id={session_id}").status_code == 404
    assert Purchase.objects.count() == 0
