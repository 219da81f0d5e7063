"""`setup_local_billing`: what `make dev` runs before the site starts."""

import itertools
from io import StringIO

import pytest
import stripe
from django.core.management import CommandError, call_command
from django.db.migrations.executor import MigrationExecutor
from djstripe.models import Price, Product, WebhookEndpoint

from apps.subscriptions import metadata
from apps.subscriptions.demo_catalogue import (
    DEMO_ONE_OFFS,
    DEMO_TIERS,
    create_demo_catalogue,
)
from apps.subscriptions.management.commands.setup_local_billing import (
    Command as SetupLocalBilling,
)
from apps.subscriptions.models import PortalConfiguration
from apps.subscriptions.stripe_client import stripe_options, wait_for_stripe

pytestmark = pytest.mark.django_db

BASE_URL = "http://testserver"


@pytest.fixture
def emulator_mode(settings, stripe_emulator):
    settings.STRIPE_EMULATOR = True
    return stripe_emulator


def _setup(*args) -> list[str]:
    out = StringIO()
    call_command("setup_local_billing", "--base-url", BASE_URL, *args, stdout=out)
    return out.getvalue().splitlines()


def _fails(*args) -> str:
    with pytest.raises(CommandError) as error:
        _setup(*args)
    message = str(error.value)
    assert message
    assert "\n" not in message
    return message


def test_it_prints_no_warning_about_what_it_is_about_to_set_up(emulator_mode, capsys):
    # As `make dev` runs it: from the command line, where Django runs its checks
    # before a command that asks for them.
    SetupLocalBilling().run_from_argv(
        ["manage.py", "setup_local_billing", "--base-url", BASE_URL]
    )
    out, err = capsys.readouterr()
    assert err == ""
    assert len(out.splitlines()) == 3


def test_a_first_run_creates_the_catalogue_endpoint_and_portal(emulator_mode):
    lines = _setup()
    assert len(lines) == 3
    assert lines[0].startswith("Created the demo catalogue")
    assert lines[1].startswith(f"Registered webhook endpoint {BASE_URL}/")
    assert lines[2].startswith("Configured the customer portal")
    assert {p["id"] for p in emulator_mode.all("product")} == {
        item.product_id for item in DEMO_TIERS + DEMO_ONE_OFFS
    }
    assert Product.objects.count() == len(DEMO_TIERS) + len(DEMO_ONE_OFFS)
    assert WebhookEndpoint.objects.get().secret.startswith("whsec_")
    [configuration] = emulator_mode.all("billing_portal.configuration")
    assert PortalConfiguration.objects.get().stripe_id == configuration["id"]


def test_a_second_run_writes_nothing_and_says_all_is_ready(emulator_mode):
    _setup()
    emulator_mode.reset_counts()
    assert _setup() == ["Local billing is ready."]
    assert emulator_mode.writes == 0
    assert len(emulator_mode.all("webhook_endpoint")) == 1
    assert len(emulator_mode.all("billing_portal.configuration")) == 1


def test_without_the_emulator_it_does_nothing_and_points_at_the_readme(
    settings, stripe_emulator
):
    settings.STRIPE_EMULATOR = False
    [line] = _setup()
    assert "README" in line
    assert stripe_emulator.count() == 0
    assert not WebhookEndpoint.objects.exists()
    assert not PortalConfiguration.objects.exists()


def test_a_catalogue_in_the_emulator_is_synced_not_created_again(emulator_mode):
    create_demo_catalogue()
    products_before = len(emulator_mode.all("product"))
    prices_before = len(emulator_mode.all("price"))
    lines = _setup()
    assert lines[0].startswith("Synchronized the catalogue from the emulator")
    assert len(emulator_mode.all("product")) == products_before
    assert len(emulator_mode.all("price")) == prices_before
    assert Product.objects.count() == products_before


def test_an_emulator_that_lost_its_state_is_set_up_again(emulator_mode):
    _setup()
    old_prices = set(Price.objects.values_list("id", flat=True))
    emulator_mode.engine.reset()  # as when its state file is deleted
    lines = _setup()
    assert len(lines) == 3
    assert "older local prices retired" in lines[0]
    on_sale = set(Price.objects.filter(active=True).values_list("id", flat=True))
    assert on_sale == {price["id"] for price in emulator_mode.all("price")}
    assert on_sale.isdisjoint(old_prices)
    [configuration] = emulator_mode.all("billing_portal.configuration")
    assert PortalConfiguration.objects.get().stripe_id == configuration["id"]


def test_an_endpoint_gone_from_the_emulator_is_registered_again(emulator_mode):
    _setup()
    old = WebhookEndpoint.objects.get()
    stripe.WebhookEndpoint.delete(old.id, **stripe_options())
    lines = _setup()
    assert len(lines) == 1
    assert lines[0].startswith("Registered webhook endpoint")
    assert WebhookEndpoint.objects.get().id != old.id


def test_a_changed_catalogue_updates_the_portal(emulator_mode, settings, monkeypatch):
    _setup()
    settings.SUBSCRIPTIONS_PER_SEAT = False
    # A plan whose quantity customers may now change: the portal must follow.
    monkeypatch.setattr(
        metadata,
        "ACTIVE_PRODUCTS",
        [
            metadata.ProductMetadata(
                stripe_id=product.stripe_id,
                name=product.name,
                quantity_adjustable=True,
            )
            for product in metadata.ACTIVE_PRODUCTS
        ],
    )
    [line] = _setup()
    assert line.startswith("Updated the customer portal")
    assert len(emulator_mode.all("billing_portal.configuration")) == 1


def test_an_empty_active_products_is_said_and_no_catalogue_is_created(
    emulator_mode, monkeypatch
):
    monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", [])
    lines = _setup()
    assert lines[0].startswith("ACTIVE_PRODUCTS is empty")
    assert emulator_mode.all("product") == []
    assert emulator_mode.all("billing_portal.configuration") == []


def test_an_unmigrated_database_stops_it_before_any_request(emulator_mode, monkeypatch):
    monkeypatch.setattr(
        MigrationExecutor, "migration_plan", lambda self, targets: [("a", False)]
    )
    assert "make migrate" in _fails()
    assert emulator_mode.count() == 0


def test_an_emulator_that_never_answers_stops_it_in_one_line(
    settings, unreachable_stripe
):
    settings.STRIPE_EMULATOR = True
    message = _fails("--wait", "0")
    assert unreachable_stripe in message
    assert "did not answer" in message


def test_waiting_for_stripe_tries_again_until_it_answers(stripe_emulator):
    stripe_emulator.fail_next("/v1/account", n=5, status="timeout")
    pauses = []
    key = wait_for_stripe(30, sleep=pauses.append, clock=lambda: 0)
    assert key.startswith("sk_test_")
    assert pauses


def test_waiting_for_stripe_gives_up_after_the_time_given(stripe_emulator):
    stripe_emulator.fail_next("/v1/account", n=50, status="timeout")
    clock = itertools.count(step=10)
    with pytest.raises(stripe.APIConnectionError):
        wait_for_stripe(15, sleep=lambda seconds: None, clock=lambda: next(clock))
