"""The system checks that `ACTIVE_PRODUCTS` names products the site can sell."""

import pytest
from django.core import checks

from apps.subscriptions import metadata
from apps.subscriptions.checks import check_active_products
from apps.subscriptions.metadata import PlanInterval, ProductMetadata

from .factories import make_price, make_product

pytestmark = pytest.mark.django_db


def _ids(messages):
    return [message.id for message in messages]


def _sell(monkeypatch, *products):
    monkeypatch.setattr(
        metadata,
        "ACTIVE_PRODUCTS",
        [ProductMetadata(stripe_id=p.id, slug=p.id, name=p.name) for p in products],
    )


def test_synced_products_with_both_intervals_pass(catalogue):
    assert check_active_products() == []


def test_the_check_runs_with_manage_py_check(monkeypatch):
    missing = ProductMetadata(stripe_id="prod_missing", slug="gone", name="Gone")
    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", [missing])
    messages = checks.run_checks(tags=["subscriptions"])
    assert "subscriptions.W001" in _ids(messages)


def test_a_product_that_is_not_synced_warns_w001(catalogue, monkeypatch):
    missing = ProductMetadata(stripe_id="prod_missing", slug="gone", name="Gone")
    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", [*catalogue, missing])
    messages = check_active_products()
    assert _ids(messages) == ["subscriptions.W001"]
    assert "prod_missing" in messages[0].msg
    assert messages[0].level == checks.WARNING


def test_a_missing_interval_warns_w002_naming_it(monkeypatch):
    product = make_product(name="Monthly only")
    make_price(product, "month")
    _sell(monkeypatch, product)
    messages = check_active_products()
    assert _ids(messages) == ["subscriptions.W002"]
    assert product.id in messages[0].msg
    assert "every year" in messages[0].msg


def test_an_inactive_price_does_not_count(monkeypatch):
    product = make_product(name="Archived annual")
    make_price(product, "month")
    make_price(product, "year", active=False)
    _sell(monkeypatch, product)
    assert _ids(check_active_products()) == ["subscriptions.W002"]


def test_a_one_time_price_does_not_count(monkeypatch):
    product = make_product(name="One-off")
    make_price(product, "month")
    make_price(product, type="one_time", recurring=None)
    _sell(monkeypatch, product)
    assert _ids(check_active_products()) == ["subscriptions.W002"]


def test_a_product_with_no_price_warns_for_each_interval(monkeypatch):
    product = make_product(name="Unpriced")
    _sell(monkeypatch, product)
    assert _ids(check_active_products()) == ["subscriptions.W002"] * 2


def test_only_active_plan_intervals_are_required(monkeypatch):
    product = make_product(name="Monthly only")
    make_price(product, "month")
    _sell(monkeypatch, product)
    monkeypatch.setattr(metadata, "ACTIVE_PLAN_INTERVALS", [PlanInterval.month])
    assert check_active_products() == []
