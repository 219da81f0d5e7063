"""The public pricing page, and its way through sign-up into Checkout."""

import html
import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from djstripe.models import Price

from apps.subscriptions import metadata
from apps.subscriptions.subscribers import (
    billing_adapter,
    subscriber_reference,
    subscriber_reverse,
)

from .factories import make_catalogue, make_subscription

pytestmark = pytest.mark.django_db

PRICING = "/pricing/"


def checkout_path(price) -> str:
    return reverse("pricing:checkout", kwargs={"price_id": price.id})


def button_links(page: str) -> list[str]:
    return [
        html.unescape(href)
        for href in re.findall(r'class="button"\s+href="([^"]+)"', page)
    ]


def test_visitors_see_every_plan_and_price_without_logging_in(client, catalogue):
    response = client.get(PRICING)
    assert response.status_code == 200
    page = response.content.decode()
    for product in catalogue:
        assert product.name in page
    assert "$10.00" in page and "$100.00" in page


def test_a_visitors_button_signs_up_then_opens_checkout_for_its_price(
    client, catalogue
):
    links = button_links(client.get(PRICING).content.decode())
    expected = {
        f"{reverse('account_signup')}?next={checkout_path(price)}"
        for price in Price.objects.all()
    }
    assert set(links) == expected
    assert len(links) == len(expected)


def test_with_sign_up_closed_a_visitors_button_logs_in_first(
    client, catalogue, settings
):
    settings.ACCOUNT_ALLOW_REGISTRATION = False
    links = button_links(client.get(PRICING).content.decode())
    expected = {
        f"{reverse('account_login')}?next={checkout_path(price)}"
        for price in Price.objects.all()
    }
    assert set(links) == expected


def test_a_signed_in_users_button_opens_checkout_directly(
    billing_client, subscriber, catalogue
):
    links = button_links(billing_client.get(PRICING).content.decode())
    assert set(links) == {checkout_path(price) for price in Price.objects.all()}


def test_the_landing_page_and_the_visitors_navigation_link_to_pricing(client):
    page = client.get(reverse("web:home")).content.decode()
    assert page.count(f'href="{PRICING}"') >= 2


def test_pricing_costs_the_same_queries_for_any_number_of_plans(client, monkeypatch):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(PRICING).status_code == 200
        return len(captured)

    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", make_catalogue(3))
    with_three = queries()
    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", make_catalogue(12))
    assert queries() == with_three


def test_a_subscriber_with_a_plan_sees_it_marked_and_switches_offered(
    billing_client, subscriber, catalogue
):
    current = Price.objects.filter(product__id=catalogue[0].stripe_id).first()
    make_subscription(subscriber, current)
    page = billing_client.get(PRICING).content.decode()
    assert page.count("Your current plan") == 1
    assert f">Switch to {catalogue[1].name}</a>" in page
    assert "Subscribe to" not in page
    assert subscriber_reverse("subscription", subscriber) in page


def test_checkout_from_pricing_needs_a_log_in(client, catalogue):
    path = checkout_path(Price.objects.first())
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={path}"


def test_checkout_from_pricing_opens_checkout_for_the_managed_subscriber(
    billing_client, subscriber, stripe_catalogue, stripe_emulator
):
    response = billing_client.get(checkout_path(stripe_catalogue["pro"]))
    assert response.status_code == 302
    session_id = urlsplit(response["Location"]).path.rstrip("/").rsplit("/", 1)[-1]
    session = stripe_emulator.get("checkout.session", session_id)
    assert session["client_reference_id"] == subscriber_reference(subscriber)
    [line] = stripe_emulator.engine.private(session_id)["line_items"]
    assert line["price"]["id"] == stripe_catalogue["pro"].id
    cancel = urlsplit(session["cancel_url"])
    assert cancel.path == subscriber_reverse("subscription", subscriber)
    assert cancel.query == "checkout=cancelled"


def test_checkout_from_pricing_refuses_a_price_not_for_sale(
    billing_client, subscriber, catalogue
):
    response = billing_client.get(
        reverse("pricing:checkout", kwargs={"price_id": "price_nope"})
    )
    assert response.status_code == 400


def test_checkout_from_pricing_answers_only_get(billing_client, catalogue):
    response = billing_client.post(checkout_path(Price.objects.first()))
    assert response.status_code == 405


def test_a_failing_stripe_answers_that_billing_is_unavailable(
    billing_client, subscriber, stripe_catalogue, stripe_emulator
):
    stripe_emulator.fail_next("/v1/checkout/sessions", n=5, status=500)
    response = billing_client.get(checkout_path(stripe_catalogue["pro"]))
    assert response.status_code == 503
    assert "Billing is unavailable right now" in response.content.decode()


def test_someone_who_manages_no_billing_is_told_so(
    billing_client, catalogue, monkeypatch
):
    monkeypatch.setattr(billing_adapter(), "managed_subscriber", lambda user: None)
    response = billing_client.get(checkout_path(Price.objects.first()), follow=True)
    assert response.redirect_chain[-1][0] == PRICING
    assert "You do not manage any billing here" in response.content.decode()


def test_signing_up_from_pricing_lands_in_checkout_for_the_chosen_price(
    client, stripe_catalogue, stripe_emulator
):
    path = checkout_path(stripe_catalogue["business"])
    response = client.post(
        f"{reverse('account_signup')}?next={path}",
        {
            "email": "new.customer@example.com",
            "password1": "a-Long-passphrase-9",
            "password2": "a-Long-passphrase-9",
            "next": path,
        },
    )
    assert response["Location"] == path

    response = client.get(path)

    [session] = stripe_emulator.all("checkout.session")
    assert response["Location"] == session["url"]
    [line] = stripe_emulator.engine.private(session["id"])["line_items"]
    assert line["price"]["id"] == stripe_catalogue["business"].id
