"""The subscriptions docs' `ProductMetadata` example, pasted as written there."""

import dataclasses

import pytest

from apps.subscriptions import metadata
from apps.subscriptions.metadata import PlanInterval, ProductMetadata

pytestmark = pytest.mark.django_db


def docs_example():
    # --- the docs' example, verbatim ----------------------------------------------
    # fmt: off
    return ProductMetadata(
        stripe_id="prod_1234",
        name="Pro",
        description="For businesses that rely on it every day.",
        price_displays={PlanInterval.month: "$49 a month", PlanInterval.year: "$490 a year"},
    )
    # fmt: on


def test_a_slug_is_derived_from_the_name_when_none_is_given():
    assert docs_example().slug == "pro"
    assert ProductMetadata(stripe_id="prod_1", name="Pro Plus").slug == "pro-plus"


def test_a_slug_given_is_kept():
    assert ProductMetadata(stripe_id="prod_1", name="Pro", slug="x").slug == "x"


def test_the_example_prices_show_on_the_subscription_page(
    billing_client, catalogue, urls, monkeypatch
):
    # The example's product, sold at the catalogue's first product's prices.
    pro = dataclasses.replace(docs_example(), stripe_id=catalogue[0].stripe_id)
    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", [pro])
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-plan="pro"' in page
    assert "For businesses that rely on it every day." in page
    assert "$49 a month" in page and "$490 a year" in page
