"""`bootstrap_subscriptions` and `register_webhook_endpoint` against the emulator."""

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import stripe
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from djstripe.models import WebhookEndpoint

from apps.subscriptions.demo_catalogue import DEMO_ONE_OFFS, DEMO_TIERS
from apps.subscriptions.metadata import ProductMetadata, get_active_products
from apps.subscriptions.stripe_client import stripe_options

pytestmark = pytest.mark.django_db

LIVE_KEY = "sk_live_" + "k" * 24
# Every command that calls Stripe, each checked below for a missing, malformed or
# refused key and an unreachable Stripe.
DEMO_PRODUCTS = ["bootstrap_subscriptions", "--create-demo-products"]
COMMANDS = [
    ["bootstrap_subscriptions"],
    DEMO_PRODUCTS,
    ["register_webhook_endpoint"],
    ["reconcile_subscriptions"],
    ["check_pending_webhooks"],
    ["refresh_coupons"],
]


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _fails(args) -> str:
    """The command's error, after checking it is one line and a non-zero exit."""
    with pytest.raises(CommandError) as error:
        _run(*args)
    assert error.value.returncode != 0
    message = str(error.value)
    assert message
    assert "\n" not in message
    return message


def _block(output: str) -> str:
    return output[output.index("ACTIVE_PRODUCTS = [") :]


def _active_products(block: str) -> list[ProductMetadata]:
    namespace = {"ProductMetadata": ProductMetadata}
    exec(block, namespace)
    return namespace["ACTIVE_PRODUCTS"]


def _ruff(*args) -> subprocess.CompletedProcess:
    ruff = Path(sys.executable).with_name("ruff")
    command = [str(ruff)] if ruff.exists() else [sys.executable, "-m", "ruff"]
    config = Path(django_settings.BASE_DIR) / "pyproject.toml"
    return subprocess.run(
        [*command, *args, "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )


def _product(stripe_emulator, name, description="", features=(), prices=()):
    """A product in the emulator, with prices given as Price.create arguments."""
    options = stripe_options()
    product = stripe.Product.create(
        name=name,
        marketing_features=[{"name": feature} for feature in features],
        **({"description": description} if description else {}),
        **options,
    )
    for price in prices:
        stripe.Price.create(product=product.id, currency="usd", **price, **options)
    return product.id


MONTHLY = {"unit_amount": 500, "recurring": {"interval": "month"}}


def test_demo_catalogue_prints_a_line_per_product_and_price(stripe_emulator):
    output = _run("bootstrap_subscriptions", "--create-demo-products")
    product_lines = [
        line for line in output.splitlines() if line.startswith("Synchronized product")
    ]
    price_lines = [
        line for line in output.splitlines() if line.startswith("Synchronized price")
    ]
    assert len(product_lines) == len(DEMO_TIERS) + len(DEMO_ONE_OFFS)
    assert len(price_lines) == 2 * len(DEMO_TIERS) + len(DEMO_ONE_OFFS)
    for item in DEMO_TIERS + DEMO_ONE_OFFS:
        assert f"Synchronized product {item.product_id} ({item.name})" in output


def test_demo_catalogue_is_kept_on_a_second_run(stripe_emulator):
    _run("bootstrap_subscriptions", "--create-demo-products")
    _run("bootstrap_subscriptions", "--create-demo-products")
    assert len(stripe_emulator.all("product")) == len(DEMO_TIERS) + len(DEMO_ONE_OFFS)
    assert len(stripe_emulator.all("price")) == 2 * len(DEMO_TIERS) + len(DEMO_ONE_OFFS)


ODD_NAME = 'The "Enterprise" plan, with a name long enough to need wrapping here'
ODD_DESCRIPTION = (
    'Quotes \' and " and "doubles", a backslash \\, ünïcode, an \u2013 en dash and a ☂ '
    "in a long description that cannot fit on one line of eighty-eight characters."
)
ODD_FEATURES = ('Single sign-on ("SSO")', "Support \\ 24/7", "Emoji 🚀")


def test_printed_block_is_ruff_clean_python(stripe_emulator, tmp_path):
    _product(stripe_emulator, ODD_NAME, ODD_DESCRIPTION, ODD_FEATURES, [MONTHLY])
    output = _run("bootstrap_subscriptions", "--create-demo-products")
    source = tmp_path / "active_products.py"
    source.write_text(
        "from apps.subscriptions.metadata import ProductMetadata\n\n" + _block(output)
    )
    check = _ruff("check", "--no-cache", str(source))
    assert check.returncode == 0, check.stdout + check.stderr
    formatted = _ruff("format", "--check", "--no-cache", "--diff", str(source))
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_printed_block_keeps_every_character(stripe_emulator):
    _product(stripe_emulator, ODD_NAME, ODD_DESCRIPTION, ODD_FEATURES, [MONTHLY])
    output = _run("bootstrap_subscriptions")
    (product,) = _active_products(_block(output))
    assert (product.name, product.description) == (ODD_NAME, ODD_DESCRIPTION)
    assert product.features == ODD_FEATURES


def test_block_lists_only_products_with_active_recurring_prices(stripe_emulator):
    sellable = _product(stripe_emulator, "Sellable", prices=[MONTHLY])
    _product(stripe_emulator, "Unpriced")
    _product(stripe_emulator, "One-off", prices=[{"unit_amount": 900}])
    _product(stripe_emulator, "Archived", prices=[{**MONTHLY, "active": False}])
    output = _run("bootstrap_subscriptions")
    assert [p.stripe_id for p in _active_products(_block(output))] == [sellable]


def test_block_features_come_from_marketing_features(stripe_emulator):
    _run("bootstrap_subscriptions", "--create-demo-products")
    output = _run("bootstrap_subscriptions")
    products = {p.stripe_id: p for p in _active_products(_block(output))}
    for tier in DEMO_TIERS:
        assert products[tier.product_id].features == tier.features


def test_block_makes_the_first_product_the_only_default(stripe_emulator):
    output = _run("bootstrap_subscriptions", "--create-demo-products")
    products = _active_products(_block(output))
    assert [p.is_default for p in products] == [True, False, False]
    assert products[0].stripe_id == DEMO_TIERS[0].product_id


def test_block_carries_the_trials_of_the_demo_catalogue(stripe_emulator):
    output = _run("bootstrap_subscriptions", "--create-demo-products")
    printed = {p.stripe_id: p.trial_days for p in _active_products(_block(output))}
    shipped = {p.stripe_id: p.trial_days for p in get_active_products()}
    assert printed == shipped
    assert printed["prod_demo_starter"] == 14


@pytest.mark.parametrize("args", COMMANDS)
def test_missing_key_exits_naming_the_setting(args, settings, stripe_emulator):
    settings.STRIPE_TEST_SECRET_KEY = ""
    message = _fails(args)
    assert "No Stripe secret key" in message
    assert "STRIPE_TEST_SECRET_KEY" in message
    assert stripe_emulator.count() == 0


@pytest.mark.parametrize("key", ["pk_test_" + "k" * 24, "sk_" + "k" * 24, "sk_test_"])
@pytest.mark.parametrize("args", COMMANDS)
def test_malformed_key_exits_saying_so(args, key, settings, stripe_emulator):
    settings.STRIPE_TEST_SECRET_KEY = key
    message = _fails(args)
    assert "STRIPE_TEST_SECRET_KEY does not look like a Stripe secret key" in message
    assert stripe_emulator.count() == 0


@pytest.mark.parametrize("args", [args for args in COMMANDS if args != DEMO_PRODUCTS])
def test_key_rejected_by_stripe_exits_saying_so(args, settings, stripe_emulator):
    settings.STRIPE_LIVE_MODE = True
    settings.STRIPE_LIVE_SECRET_KEY = LIVE_KEY
    message = _fails(args)
    assert message.startswith("Stripe refused STRIPE_LIVE_SECRET_KEY:")
    assert "Invalid API Key" in message


@pytest.mark.parametrize("live_mode", [True, False])
def test_demo_products_refuse_live_keys_before_any_request(
    live_mode, settings, stripe_emulator
):
    settings.STRIPE_LIVE_MODE = live_mode
    settings.STRIPE_LIVE_SECRET_KEY = LIVE_KEY
    settings.STRIPE_TEST_SECRET_KEY = LIVE_KEY
    message = _fails(DEMO_PRODUCTS)
    assert message == "Refusing to create demo products with live Stripe keys."
    assert stripe_emulator.count() == 0


@pytest.mark.parametrize("args", COMMANDS)
def test_stripe_timing_out_exits_saying_it_is_unreachable(args, stripe_emulator):
    # More failures than stripe-python's retries.
    stripe_emulator.fail_next("/v1/*", n=10, status="timeout")
    assert _fails(args).startswith("Could not reach Stripe at ")
    assert stripe_emulator.all("product") == []


@pytest.mark.parametrize("args", COMMANDS)
def test_closed_port_exits_saying_stripe_is_unreachable(args, unreachable_stripe):
    message = _fails(args)
    assert message == f"Could not reach Stripe at {unreachable_stripe}."


def test_failure_after_the_key_check_is_one_line(stripe_emulator):
    stripe_emulator.fail_next("/v1/products", n=10, status=500, method="GET")
    assert _fails(COMMANDS[0]).startswith("Stripe error: ")


def test_webhook_endpoint_is_registered_once(stripe_emulator):
    first = _run("register_webhook_endpoint", "--base-url", "http://testserver")
    second = _run("register_webhook_endpoint", "--base-url", "http://testserver")
    assert "Registered webhook endpoint http://testserver/stripe/webhook/" in first
    assert "Webhook endpoint ready" in second
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert len(stripe_emulator.all("webhook_endpoint")) == 1
