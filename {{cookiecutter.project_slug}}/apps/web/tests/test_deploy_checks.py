"""`manage.py check --deploy` refuses an admin at a guessable URL and Stripe keys in
the wrong mode or missing for the mode in use."""

import pytest
from django.core.checks import Tags, run_checks

LIVE_SECRET = "sk_live_" + "a" * 24
TEST_SECRET = "sk_test_" + "b" * 24


def deploy_errors() -> set[str]:
    messages = run_checks(tags=[Tags.security], include_deployment_checks=True)
    return {message.id for message in messages}


@pytest.fixture
def deployable(settings):
    """Settings that pass the checks below: test mode with a test key."""
    settings.DJANGO_ADMIN_URL = "control-room/"
    settings.STRIPE_LIVE_MODE = False
    settings.STRIPE_TEST_SECRET_KEY = TEST_SECRET
    settings.STRIPE_LIVE_SECRET_KEY = ""
    settings.STRIPE_TEST_PUBLIC_KEY = "pk_test_" + "c" * 24
    settings.STRIPE_LIVE_PUBLIC_KEY = ""
    return settings


def test_deployable_settings_pass(deployable):
    assert not deploy_errors() & {
        "web.E002",
        "subscriptions.E006",
        "subscriptions.E007",
    }


@pytest.mark.parametrize("admin_url", ["", "admin/", "/Admin/", "admin"])
def test_a_guessable_admin_url_is_an_error(deployable, admin_url):
    deployable.DJANGO_ADMIN_URL = admin_url
    assert "web.E002" in deploy_errors()


def test_the_admin_url_is_checked_only_for_deployment(deployable):
    deployable.DJANGO_ADMIN_URL = "admin/"
    messages = run_checks(tags=[Tags.security])
    assert "web.E002" not in {message.id for message in messages}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STRIPE_TEST_SECRET_KEY", LIVE_SECRET),
        ("STRIPE_TEST_SECRET_KEY", "rk_live_" + "a" * 24),
        ("STRIPE_TEST_PUBLIC_KEY", "pk_live_" + "a" * 24),
        ("STRIPE_LIVE_SECRET_KEY", TEST_SECRET),
    ],
)
def test_a_key_in_the_other_modes_setting_is_an_error(deployable, name, value):
    setattr(deployable, name, value)
    assert "subscriptions.E006" in deploy_errors()


def test_no_test_key_in_test_mode_is_an_error(deployable):
    deployable.STRIPE_TEST_SECRET_KEY = ""
    assert "subscriptions.E007" in deploy_errors()


def test_no_live_key_in_live_mode_is_an_error(deployable):
    deployable.STRIPE_LIVE_MODE = True
    assert "subscriptions.E007" in deploy_errors()
    deployable.STRIPE_LIVE_SECRET_KEY = LIVE_SECRET
    assert "subscriptions.E007" not in deploy_errors()
