"""`@active_subscription_required` and its mixin: who gets in, and at what cost."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.subscriptions.metadata import get_active_products
from apps.subscriptions.subscribers import billing_adapter

from .factories import make_price, make_product, make_subscription

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("apps.subscriptions.tests.gate_urls"),
]


@pytest.fixture
def plan_prices(db):
    """A monthly price for each shipped ACTIVE_PRODUCTS entry, by slug."""
    prices = {}
    for product in get_active_products():
        row = make_product(product.stripe_id, product.name)
        prices[product.slug] = make_price(row, "month", 1000)
    return prices


def gate_url(name, subscriber):
    return reverse(name, kwargs=billing_adapter().url_kwargs(subscriber))


def test_anonymous_users_go_to_log_in(client, subscriber):
    response = client.get(gate_url("gate_any", subscriber))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_unsubscribed_is_sent_to_the_subscription_page(
    billing_client, subscriber, urls
):
    response = billing_client.get(gate_url("gate_any", subscriber))
    assert response.status_code == 302
    assert response["Location"] == urls("subscription")


def test_active_subscriber_reaches_the_view_as_subscription_holder(
    billing_client, subscriber, plan_prices
):
    make_subscription(subscriber, plan_prices["starter"])
    response = billing_client.get(gate_url("gate_any", subscriber))
    assert response.content.decode() == f"ok {subscriber.pk}"


@pytest.mark.parametrize("status", ["active", "trialing", "past_due"])
def test_active_statuses_count_as_active(
    billing_client, subscriber, plan_prices, status
):
    make_subscription(subscriber, plan_prices["starter"], status=status)
    assert billing_client.get(gate_url("gate_any", subscriber)).status_code == 200


@pytest.mark.parametrize("status", ["canceled", "unpaid", "incomplete"])
def test_other_statuses_do_not(billing_client, subscriber, plan_prices, status):
    make_subscription(subscriber, plan_prices["starter"], status=status)
    assert billing_client.get(gate_url("gate_any", subscriber)).status_code == 302


def test_the_active_statuses_come_from_a_setting(
    billing_client, subscriber, plan_prices, settings
):
    settings.SUBSCRIPTIONS_ACTIVE_STATUSES = ["active"]
    make_subscription(subscriber, plan_prices["starter"], status="past_due")
    assert billing_client.get(gate_url("gate_any", subscriber)).status_code == 302


def test_wrong_plan_redirects_with_a_message_naming_the_plans(
    billing_client, subscriber, plan_prices, urls
):
    make_subscription(subscriber, plan_prices["starter"])
    response = billing_client.get(gate_url("gate_pro", subscriber))
    assert response["Location"] == urls("subscription")
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Pro or Business" in message


@pytest.mark.parametrize("slug", ["pro", "business"])
def test_listed_plans_get_in(billing_client, subscriber, plan_prices, slug):
    make_subscription(subscriber, plan_prices[slug])
    assert billing_client.get(gate_url("gate_pro", subscriber)).status_code == 200


def test_the_mixin_gates_class_based_views(billing_client, subscriber, plan_prices):
    make_subscription(subscriber, plan_prices["starter"])
    assert billing_client.get(gate_url("gate_class", subscriber)).status_code == 302
    subscriber.subscription.delete()
    make_subscription(subscriber, plan_prices["pro"])
    response = billing_client.get(gate_url("gate_class", subscriber))
    assert response.content.decode() == f"ok {subscriber.pk}"


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_gate_adds_at_most_one_query(billing_client, subscriber, plan_prices):
    make_subscription(subscriber, plan_prices["pro"])
    _count(billing_client, gate_url("gate_plain", subscriber))  # warm the session
    plain = _count(billing_client, gate_url("gate_plain", subscriber))
    gated = _count(billing_client, gate_url("gate_pro", subscriber))
    print(f"queries: undecorated {plain}, gated {gated}")
    assert gated - plain <= 1


def test_the_docs_gated_view_example_works_as_written(
    billing_client, subscriber, plan_prices
):
    assert billing_client.get(gate_url("gate_example", subscriber)).status_code == 302
    make_subscription(subscriber, plan_prices["starter"])
    response = billing_client.get(gate_url("gate_example", subscriber))
    assert response.content.decode() == f"gated {subscriber.pk}"


def test_the_docs_limit_to_plans_example_works_as_written(
    billing_client, subscriber, plan_prices
):
    make_subscription(subscriber, plan_prices["starter"])
    assert billing_client.get(gate_url("gate_example_pro", subscriber)).status_code == (
        302
    )
    subscriber.subscription.delete()
    make_subscription(subscriber, plan_prices["pro"])
    response = billing_client.get(gate_url("gate_example_pro", subscriber))
    assert response.content.decode() == f"pro {subscriber.pk}"
