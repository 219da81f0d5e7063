"""The subscription page: plans with a toggle, or the current subscription."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from djstripe.models import Customer, Price, Product

from apps.subscriptions import metadata

from .factories import make_catalogue, make_price, make_subscription

pytestmark = pytest.mark.django_db


def test_plans_show_both_intervals_and_a_toggle(billing_client, catalogue, urls):
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'id="interval-month"' in page
    assert 'id="interval-year"' in page
    for product in catalogue:
        assert product.name in page
    assert page.count("plan-interval plan-interval-year") == len(catalogue)
    assert "$10.00" in page and "$100.00" in page


def test_the_default_plan_is_highlighted(billing_client, catalogue, urls):
    page = billing_client.get(urls("subscription")).content.decode()
    pattern = rf'class="plan plan-default"\s+data-plan="{catalogue[0].slug}"'
    assert re.search(pattern, page)


def test_features_are_listed(billing_client, catalogue, urls):
    page = billing_client.get(urls("subscription")).content.decode()
    assert "<li>One</li>" in page


def test_upgrade_buttons_post_each_price_to_checkout(billing_client, catalogue, urls):
    page = billing_client.get(urls("subscription")).content.decode()
    assert f'action="{urls("checkout")}"' in page
    assert page.count("Upgrade to") == 2 * len(catalogue)


def test_price_displays_replace_amounts_without_one(
    billing_client, catalogue, urls, monkeypatch
):
    tiered = metadata.ProductMetadata(
        stripe_id=catalogue[0].stripe_id,
        slug="tiered",
        name="Tiered",
        price_displays={"month": "From $5 a month", "year": "From $50 a year"},
    )
    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", [tiered])
    page = billing_client.get(urls("subscription")).content.decode()
    assert "From $5 a month" in page and "From $50 a year" in page


def _page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_products(billing_client, urls, monkeypatch):
    three, twelve = make_catalogue(3), make_catalogue(12)
    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", three)
    _page_queries(billing_client, urls("subscription"))  # warm the session
    with_three = _page_queries(billing_client, urls("subscription"))
    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", twelve)
    with_twelve = _page_queries(billing_client, urls("subscription"))
    print(f"queries: 3 products {with_three}, 12 products {with_twelve}")
    assert with_three == with_twelve


def test_subscribed_page_shows_plan_status_and_manage_button(
    billing_client, subscriber, catalogue, urls
):
    price = make_price(
        Product.objects.get(id=catalogue[1].stripe_id),
        "month",
        2500,
    )
    make_subscription(subscriber, price, quantity=3)
    page = billing_client.get(urls("subscription")).content.decode()
    assert catalogue[1].name in page
    assert "Active" in page
    assert "$75.00 / month" in page
    assert "Next billing date" in page
    assert "Manage billing" in page
    assert "Upgrade to" not in page


def test_cancel_at_period_end_shows_the_end_date(
    billing_client, subscriber, catalogue, urls
):
    price = Price.objects.filter(product__id=catalogue[0].stripe_id).first()
    make_subscription(subscriber, price, cancel_at_period_end=True)
    page = billing_client.get(urls("subscription")).content.decode()
    assert "Ends on" in page


def test_anonymous_users_go_to_log_in(client, subscriber, urls):
    response = client.get(urls("subscription"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_checkout_with_a_price_not_for_sale_is_400_and_creates_nothing(
    billing_client, catalogue, urls, monkeypatch
):
    import stripe

    def no_stripe(*args, **kwargs):
        raise AssertionError("Stripe must not be called")

    monkeypatch.setattr(stripe.Customer, "create", no_stripe)
    monkeypatch.setattr(stripe.checkout.Session, "create", no_stripe)
    inactive = make_price(
        Product.objects.get(id=catalogue[0].stripe_id),
        active=False,
    )
    other = make_price(
        Product.objects.create(
            id="prod_other", name="Other", active=True, stripe_data={}
        )
    )
    for price_id in ["", "price_nope", inactive.id, other.id]:
        response = billing_client.post(urls("checkout"), {"price_id": price_id})
        assert response.status_code == 400, price_id
    assert Customer.objects.count() == 0


def test_checkout_answers_only_post(billing_client, urls):
    assert billing_client.get(urls("checkout")).status_code == 405
