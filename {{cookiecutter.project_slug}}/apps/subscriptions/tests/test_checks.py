"""The system checks: `ACTIVE_PRODUCTS` names products the site can sell, and
billing is set up (a webhook endpoint, a portal configuration)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core import checks
from djstripe.models import WebhookEndpoint

from apps.subscriptions import metadata
from apps.subscriptions.checks import (
    check_active_products,
    check_billing_settings,
    check_portal_configuration,
    check_webhook_endpoint,
)
from apps.subscriptions.metadata import PlanInterval, ProductMetadata
from apps.subscriptions.models import PortalConfiguration

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


# -- what billing needs set up: W003, W004, W005 ---------------------------------


def test_an_empty_active_products_warns_w004(monkeypatch):
    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", [])
    assert "subscriptions.W004" in _ids(checks.run_checks(tags=["subscriptions"]))


def test_products_on_sale_do_not_warn_w004(catalogue):
    assert "subscriptions.W004" not in _ids(checks.run_checks(tags=["subscriptions"]))


def test_no_webhook_endpoint_warns_w003_naming_the_command():
    [warning] = check_webhook_endpoint()
    assert warning.id == "subscriptions.W003"
    assert "register_webhook_endpoint" in warning.hint


def test_a_registered_webhook_endpoint_does_not_warn_w003(webhook_endpoint):
    assert check_webhook_endpoint() == []


@pytest.mark.parametrize("live_mode", [True, False])
def test_an_endpoint_of_the_other_mode_warns_w003(
    live_mode, webhook_endpoint, settings
):
    WebhookEndpoint.objects.update(livemode=not live_mode)
    settings.STRIPE_LIVE_MODE = live_mode
    assert _ids(check_webhook_endpoint()) == ["subscriptions.W003"]


def test_no_recorded_portal_configuration_warns_w005_naming_the_command():
    [warning] = check_portal_configuration()
    assert warning.id == "subscriptions.W005"
    assert "configure_billing_portal" in warning.hint


def test_a_recorded_portal_configuration_does_not_warn_w005():
    PortalConfiguration.objects.create(livemode=False, stripe_id="bpc_recorded")
    assert check_portal_configuration() == []


def test_a_portal_configuration_of_the_other_mode_warns_w005(settings):
    PortalConfiguration.objects.create(livemode=False, stripe_id="bpc_test")
    settings.STRIPE_LIVE_MODE = True
    assert _ids(check_portal_configuration()) == ["subscriptions.W005"]


def test_a_database_without_tables_gives_no_warning(tmp_path):
    environ = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--tag", "subscriptions"],
        cwd=django_settings.BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "subscriptions.W" not in result.stdout + result.stderr


def test_the_shipped_billing_settings_pass():
    assert check_billing_settings() == []


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("SUBSCRIPTIONS_TRIAL_END_BEHAVIOR", "void", "subscriptions.E001"),
        ("SUBSCRIPTIONS_TRIAL_DAYS", 731, "subscriptions.E002"),
        ("SUBSCRIPTIONS_TRIAL_DAYS", -1, "subscriptions.E002"),
        ("SUBSCRIPTIONS_GRACE_PERIOD_DAYS", -1, "subscriptions.E003"),
        ("SUBSCRIPTIONS_CUSTOMER_EMAILS", ["payment_faild"], "subscriptions.E004"),
        ("SITE_URL", "example.com", "subscriptions.E005"),
    ],
)
def test_billing_settings_that_cannot_work_are_errors(settings, name, value, error):
    setattr(settings, name, value)
    assert _ids(check_billing_settings()) == [error]


def test_a_product_trial_out_of_range_is_an_error(monkeypatch):
    product = ProductMetadata(stripe_id="prod_x", name="X", trial_days=1000)
    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", [product])
    [error] = check_billing_settings()
    assert error.id == "subscriptions.E002"
    assert "trial_days of x" in error.msg
