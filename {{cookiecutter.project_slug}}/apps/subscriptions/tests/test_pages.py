"""The subscription page: plans with a toggle, or the current subscription."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format
from djstripe.models import Customer, Price, Product

from apps.subscriptions import metadata
from apps.subscriptions.linking import unlink_subscription
from apps.subscriptions.selectors import PriceOption, annual_saving
from apps.subscriptions.sync import mark_billing_details_changed

from .factories import make_catalogue, make_price, make_product, make_subscription
from .seat_scenario import fixed_seat_counts

pytestmark = pytest.mark.django_db


def test_plans_show_both_intervals_and_a_toggle(billing_client, catalogue, urls):
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'id="interval-month"' in page
    assert 'id="interval-year"' in page
    for product in catalogue:
        assert product.name in page
    # Each plan shows its annual price, and its annual button, only when Annual is on.
    assert page.count('class="plan-interval plan-interval-year"') == len(catalogue)
    assert page.count("plan-action plan-interval plan-interval-year") == len(catalogue)
    assert "$10.00" in page and "$100.00" in page


def test_the_default_plan_is_highlighted(billing_client, catalogue, urls):
    page = billing_client.get(urls("subscription")).content.decode()
    pattern = rf'class="plan plan-default"\s+data-plan="{catalogue[0].slug}"'
    assert re.search(pattern, page)


def test_features_are_listed(billing_client, catalogue, urls):
    page = billing_client.get(urls("subscription")).content.decode()
    assert "<li>One</li>" in page


def test_subscribe_buttons_post_each_price_to_checkout(billing_client, catalogue, urls):
    page = billing_client.get(urls("subscription")).content.decode()
    assert page.count(f'action="{urls("checkout")}"') == 2 * len(catalogue)
    for product in catalogue:
        assert page.count(f">Subscribe to {product.name}</button>") == 2
    assert "Switch to" not in page


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


def words(response) -> str:
    """The page's HTML with each run of whitespace made one space."""
    return " ".join(response.content.decode().split())


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
    assert "Subscribe to" not in page


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


def test_the_stylesheet_toggles_every_plan_interval():
    # The toggle is CSS only: each interval needs its own rule in site.css.
    css = (settings.BASE_DIR / "static" / "css" / "site.css").read_text()
    for interval in metadata.PlanInterval:
        rule = f"#interval-{interval.value}:checked ~ .plans .plan-interval-{interval.value}"
        assert rule in css


def test_the_annual_price_shows_what_it_saves(billing_client, catalogue, urls):
    page = billing_client.get(urls("subscription")).content.decode()
    savings = re.findall(
        r'class="plan-interval plan-interval-(\w+)">(?:(?!</div>).)*data-testid="saving"',
        page,
        re.DOTALL,
    )
    assert savings == ["year"] * len(catalogue)


@pytest.mark.parametrize(
    ("monthly", "annual", "saving"),
    [
        (1500, 15000, "2 months free"),
        (1000, 11000, "1 month free"),
        (1000, 10800, "Save 10%"),
        (1500, 15001, "Save 17%"),
        (1000, 12000, ""),
        (1000, 13000, ""),
    ],
)
def test_annual_saving_compares_with_twelve_monthly_payments(monthly, annual, saving):
    def option(interval, amount, currency="usd"):
        return PriceOption(
            interval=interval, price_id="price_x", unit_amount=amount, currency=currency
        )

    month, year = metadata.PlanInterval.month, metadata.PlanInterval.year
    assert annual_saving(option(month, monthly), option(year, annual)) == saving


def test_no_saving_without_a_comparable_monthly_price():
    month, year = metadata.PlanInterval.month, metadata.PlanInterval.year
    annual = PriceOption(interval=year, price_id="p", unit_amount=100, currency="usd")
    no_monthly = PriceOption(interval=month)
    in_euros = PriceOption(interval=month, price_id="p", unit_amount=50, currency="eur")
    assert annual_saving(no_monthly, annual) == ""
    assert annual_saving(in_euros, annual) == ""


def test_a_plan_without_a_monthly_price_shows_no_saving(
    billing_client, urls, monkeypatch
):
    product = make_product(name="Yearly only")
    make_price(product, "year", 5000)
    monkeypatch.setattr(
        metadata,
        "ACTIVE_PRODUCTS",
        [metadata.ProductMetadata(stripe_id=product.id, name="Yearly only")],
    )
    page = billing_client.get(urls("subscription")).content.decode()
    assert "No monthly price." in page
    assert 'data-testid="saving"' not in page


def test_a_subscriber_with_a_plan_is_offered_a_switch_to_the_others(
    billing_client, subscriber, catalogue, urls
):
    current = Price.objects.get(
        product__id=catalogue[1].stripe_id, stripe_data__recurring__interval="month"
    )
    make_subscription(subscriber, current)
    page = billing_client.get(urls("subscription")).content.decode()
    assert page.count("Your current plan") == 1
    assert page.count(f">Switch to {catalogue[0].name}</button>") == 2
    assert page.count(">Switch to annual billing</button>") == 1
    assert "Subscribe to" not in page
    # The toggle opens on the interval the subscriber pays by.
    assert re.search(r'id="interval-month"\s+value="month"\s+checked', page)


def test_a_cancelled_checkout_says_nothing_was_charged(billing_client, urls):
    response = billing_client.get(urls("subscription") + "?checkout=cancelled")
    assert response["Location"] == urls("subscription")
    page = billing_client.get(response["Location"]).content.decode()
    assert "Checkout was cancelled; nothing was charged." in page


def test_the_page_says_when_the_last_subscription_ended(
    billing_client, subscriber, catalogue, urls
):
    price = Price.objects.filter(product__id=catalogue[1].stripe_id).first()
    subscription = make_subscription(subscriber, price)
    ended_at = int(time.time()) - 86400
    subscription.stripe_data.update(status="canceled", ended_at=ended_at)
    subscription.save()
    unlink_subscription(subscriber, subscription)

    page = words(billing_client.get(urls("subscription")))

    ended_on = date_format(datetime.fromtimestamp(ended_at, tz=UTC), "DATE_FORMAT")
    assert f"Your {catalogue[1].name} subscription ended on {ended_on}." in page


def test_no_ended_notice_when_a_newer_subscription_has_not_ended(
    billing_client, subscriber, catalogue, urls
):
    price = Price.objects.filter(product__id=catalogue[1].stripe_id).first()
    ended = make_subscription(subscriber, price, status="canceled")
    newer = make_subscription(subscriber, price, status="incomplete_expired")
    ended.created, newer.created = timezone.now() - timedelta(days=2), timezone.now()
    ended.save()
    newer.save()
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="ended-notice"' not in page


def test_the_ended_notice_costs_the_same_queries_for_any_number_of_subscriptions(
    billing_client, subscriber, catalogue, urls
):
    price = Price.objects.filter(product__id=catalogue[0].stripe_id).first()

    def end_one():
        subscription = make_subscription(subscriber, price, status="canceled")
        unlink_subscription(subscriber, subscription)

    end_one()
    _page_queries(billing_client, urls("subscription"))  # warm the session
    after_one = _page_queries(billing_client, urls("subscription"))
    for _ in range(4):
        end_one()
    assert _page_queries(billing_client, urls("subscription")) == after_one


@pytest.fixture
def seats(settings, subscriber):
    """Per-seat billing on; `seats[subscriber.pk]` is the subscriber's seat count."""
    settings.SUBSCRIPTIONS_PER_SEAT = True
    with fixed_seat_counts() as counts:
        yield counts


def test_an_admin_is_told_of_seat_changes_waiting_for_the_sync(
    billing_client, subscriber, catalogue, urls, seats
):
    make_subscription(subscriber, Price.objects.first(), quantity=2)
    seats[subscriber.pk] = 3
    mark_billing_details_changed(subscriber)
    page = words(billing_client.get(urls("subscription")))
    assert "3 seats now, 2 billed until then" in page


def test_no_seat_notice_once_the_change_reached_stripe(
    billing_client, subscriber, catalogue, urls, seats
):
    make_subscription(subscriber, Price.objects.first(), quantity=2)
    seats[subscriber.pk] = 3
    mark_billing_details_changed(subscriber)
    subscriber.last_synced_with_stripe = timezone.now()
    subscriber.save(update_fields=["last_synced_with_stripe"])
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="pending-seats"' not in page


def test_no_seat_notice_when_the_count_is_what_stripe_bills(
    billing_client, subscriber, catalogue, urls, seats
):
    make_subscription(subscriber, Price.objects.first(), quantity=2)
    seats[subscriber.pk] = 2
    mark_billing_details_changed(subscriber)
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="pending-seats"' not in page


def test_no_seat_notice_without_per_seat_billing(
    billing_client, subscriber, catalogue, urls, seats, settings
):
    settings.SUBSCRIPTIONS_PER_SEAT = False
    make_subscription(subscriber, Price.objects.first(), quantity=2)
    seats[subscriber.pk] = 3
    mark_billing_details_changed(subscriber)
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="pending-seats"' not in page


@pytest.mark.parametrize(
    ("status", "label"), [("trialing", "Trial"), ("past_due", "Past due")]
)
def test_the_status_is_named_in_words(
    billing_client, subscriber, catalogue, urls, status, label
):
    make_subscription(subscriber, Price.objects.first(), status=status)
    page = billing_client.get(urls("subscription")).content.decode()
    assert f'data-testid="plan-status">{label}<' in page
