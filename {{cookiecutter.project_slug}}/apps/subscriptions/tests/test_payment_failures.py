"""A failed renewal: the banner on every page of the subscriber, access kept for the
grace period and then closed, and paying (the card updated in the portal) clearing
both within one webhook."""

import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import stripe
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.subscriptions.decorators import PAYMENT_OVERDUE
from apps.subscriptions.selectors import billing_alert
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.subscribers import get_subscriber_model

from .factories import make_price, make_product, make_subscription

pytestmark = pytest.mark.django_db

DAY = 86400
BANNER = re.compile(r'data-billing-alert="(\w+)"')


def banner(client, url) -> str | None:
    """The kind of billing banner the page shows, or None."""
    found = BANNER.search(client.get(url, follow=True).content.decode())
    return found.group(1) if found else None


def gate_open(client, urls) -> bool:
    response = client.get(urls("demo_subscribers"))
    return response.status_code == 200


def fail_the_renewal(billing):
    """Make the card fail, then move past the period end: the renewal fails."""
    billing.emulator.set_card(billing.customer_id, "fail")
    billing.advance(days=32)
    assert billing.stripe_subscription().status == "past_due"


def pay_in_the_portal(client, urls, billing):
    """Update the card in Stripe's portal, reached through the update-card page."""
    response = client.get(urls("update_card"))
    assert response.status_code == 302
    portal_session = urlsplit(response["Location"]).path.rsplit("/", 1)[-1]
    billing.emulator.portal_action(portal_session, None, "update_card")
    billing.deliver()


@pytest.fixture
def failed(billing, pro):
    """The subscriber on Pro, its renewal just failed (within the grace period)."""
    fail_the_renewal(billing)
    return billing


@pytest.fixture
def failed_long_ago(billing_at, stripe_catalogue):
    """A renewal that failed more than the grace period ago: the test clock started
    40 days back, so the failed renewal (day 30) is ten days old now."""
    billing = billing_at(frozen_time=int(time.time()) - 40 * DAY)
    billing.subscribe(stripe_catalogue["pro"])
    fail_the_renewal(billing)
    return billing


def test_a_failed_renewal_shows_the_banner_on_every_page(failed, billing_client, urls):
    for url in (reverse("web:dashboard"), urls("subscription"), urls("demo")):
        assert banner(billing_client, url) == "past_due", url
    page = billing_client.get(urls("subscription")).content.decode()
    assert f'href="{urls("update_card")}" data-testid="billing-alert-link"' in page
    assert 'data-testid="update-card"' in page


def test_no_banner_while_payments_go_through(billing, pro, billing_client, urls):
    assert banner(billing_client, urls("subscription")) is None


def test_within_the_grace_period_the_gates_stay_open(failed, billing_client, urls):
    assert gate_open(billing_client, urls)
    page = billing_client.get(urls("subscription")).content.decode()
    assert "to keep access" in page


def test_after_the_grace_period_the_gates_close_saying_how_to_pay(
    failed_long_ago, billing_client, urls
):
    response = billing_client.get(urls("demo_subscribers"))
    assert response.status_code == 302
    assert response["Location"] == urls("subscription")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [PAYMENT_OVERDUE]
    # The page still shows the subscription, and how to pay it.
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="plan-name">Pro<' in page
    assert 'data-testid="update-card"' in page
    assert banner(billing_client, urls("subscription")) == "past_due"


def test_when_the_retries_run_out_the_subscription_ends(
    failed, billing_client, urls, sent, mailoutbox, billing_user
):
    # The default, in Stripe as in the emulator: cancel after the last retry.
    subscription_id = failed.subscriber.subscription.id
    sent.clear()
    mailoutbox.clear()
    failed.advance(days=20)  # past the retries, 3, 5 and 7 days apart
    ended = stripe.Subscription.retrieve(subscription_id, **stripe_options())
    assert ended.status == "canceled"
    failed.subscriber.refresh_from_db()
    assert failed.subscriber.subscription is None
    [canceled] = sent.of("subscription_canceled")
    assert canceled["subscription"].id == subscription_id
    [email] = [m for m in mailoutbox if m.subject.endswith("subscription has ended")]
    assert email.to == [billing_user.email]
    assert not gate_open(billing_client, urls)
    assert banner(billing_client, urls("subscription")) is None
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="ended-notice"' in page
    # Redelivered, the end is neither signalled nor mailed again.
    failed.deliver()
    assert len(sent.of("subscription_canceled")) == 1


def test_paying_clears_the_banner_and_reopens_the_gates(
    failed_long_ago, billing_client, urls
):
    pay_in_the_portal(billing_client, urls, failed_long_ago)
    assert banner(billing_client, urls("subscription")) is None
    assert gate_open(billing_client, urls)


def test_an_overdue_subscriber_is_sent_to_the_portal_not_sold_a_second_plan(
    failed_long_ago, billing_client, urls, stripe_catalogue, stripe_emulator
):
    response = billing_client.post(
        urls("checkout"), {"price_id": stripe_catalogue["business"].id}
    )
    assert "/portal/" in response["Location"]
    assert stripe_emulator.all("checkout.session") == []


def test_the_grace_period_comes_from_a_setting(
    failed_long_ago, billing_client, urls, settings
):
    assert not gate_open(billing_client, urls)
    settings.SUBSCRIPTIONS_GRACE_PERIOD_DAYS = 30
    assert gate_open(billing_client, urls)


def test_past_due_left_out_of_the_active_statuses_closes_at_once(
    failed, billing_client, urls, settings
):
    settings.SUBSCRIPTIONS_ACTIVE_STATUSES = ["active", "trialing"]
    assert not gate_open(billing_client, urls)
    assert banner(billing_client, urls("subscription")) == "past_due"


# -- local rows ---------------------------------------------------------------------


@pytest.fixture
def price(db):
    return make_price(make_product(), "month", 1000)


def _started(days_ago: float) -> int:
    return int((datetime.now(tz=UTC) - timedelta(days=days_ago)).timestamp())


def _set_period_start(subscription, timestamp):
    subscription.stripe_data["items"]["data"][0]["current_period_start"] = timestamp
    subscription.save(update_fields=["stripe_data"])


@pytest.mark.parametrize(
    ("days_ago", "open_"), [(0, True), (6.9, True), (7.1, False), (30, False)]
)
def test_past_due_grants_access_for_the_grace_period_from_the_period_start(
    subscriber, price, days_ago, open_
):
    subscription = make_subscription(subscriber, price, status="past_due")
    _set_period_start(subscription, _started(days_ago))
    subscriber = get_subscriber_model().objects.get(pk=subscriber.pk)
    assert subscriber.has_active_subscription() is open_
    assert subscriber.has_current_subscription()


@pytest.mark.parametrize(
    "status", ["unpaid", "incomplete_expired", "canceled", "paused"]
)
def test_other_unpaid_statuses_close_at_once(subscriber, price, status):
    subscription = make_subscription(subscriber, price, status=status)
    _set_period_start(subscription, _started(0))
    assert not subscriber.has_active_subscription()


def test_an_unpaid_subscription_shows_its_own_banner_and_a_way_to_pay(
    subscriber, price, billing_client, urls
):
    make_subscription(subscriber, price, status="unpaid")
    assert banner(billing_client, urls("subscription")) == "unpaid"
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="update-card"' in page
    assert "paid features are closed" in page


def test_the_banner_costs_one_small_query_and_none_without_a_subscription(
    subscriber, price, django_assert_num_queries
):
    fresh = get_subscriber_model().objects.get(pk=subscriber.pk)
    with django_assert_num_queries(0):
        assert billing_alert(fresh) is None
    make_subscription(subscriber, price, status="past_due")
    fresh = get_subscriber_model().objects.get(pk=subscriber.pk)
    with django_assert_num_queries(1):
        alert = billing_alert(fresh)
    assert alert.kind == "past_due"
    # The gate loaded the row already: nothing more to read.
    fresh.has_active_subscription()
    with django_assert_num_queries(0):
        assert billing_alert(fresh).kind == "past_due"


def test_visitors_pages_cost_no_query_for_the_banner(client):
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("web:home")).content.decode()
    # ATOMIC_REQUESTS wraps the view in a savepoint; nothing is read.
    assert [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]] == []
    assert "data-billing-alert" not in page


def test_a_banner_tells_whether_access_is_still_open(subscriber, price):
    subscription = make_subscription(subscriber, price, status="past_due")
    _set_period_start(subscription, _started(1))
    alert = billing_alert(get_subscriber_model().objects.get(pk=subscriber.pk))
    assert alert.access_open
    assert alert.access_ends.date() == (datetime.now(tz=UTC) + timedelta(days=6)).date()
    _set_period_start(subscription, _started(8))
    alert = billing_alert(get_subscriber_model().objects.get(pk=subscriber.pk))
    assert not alert.access_open


def test_the_update_card_page_opens_the_portal_back_to_the_subscription(
    failed, billing_client, urls, stripe_emulator
):
    response = billing_client.get(urls("update_card"))
    assert response.status_code == 302
    portal_session = urlsplit(response["Location"]).path.rsplit("/", 1)[-1]
    session = stripe_emulator.get("billing_portal.session", portal_session)
    assert session["customer"] == failed.customer_id
    expected = f"http://testserver{urls('subscription')}?from=portal"
    assert session["return_url"] == expected


def test_the_update_card_page_needs_a_log_in(client, subscriber, urls):
    response = client.get(urls("update_card"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]
