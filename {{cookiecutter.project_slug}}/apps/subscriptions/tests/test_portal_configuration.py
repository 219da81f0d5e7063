"""`configure_billing_portal`, and what customers may do in the portal it configures."""

import dataclasses
import logging
from io import StringIO
from urllib.parse import urlsplit

import pytest
import stripe
from django.core.management import CommandError, call_command
from djstripe.models import Price

from apps.subscriptions import metadata
from apps.subscriptions.catalogue import sync_catalogue
from apps.subscriptions.models import PortalConfiguration
from apps.subscriptions.portal import MANAGED_BY
from apps.subscriptions.stripe_client import api_key, stripe_options

from .test_checkout import return_from, start_checkout

pytestmark = pytest.mark.django_db


def _configure() -> str:
    out = StringIO()
    call_command("configure_billing_portal", stdout=out)
    return out.getvalue()


def _fails() -> str:
    with pytest.raises(CommandError) as error:
        _configure()
    message = str(error.value)
    assert message
    assert "\n" not in message
    return message


def _configuration(stripe_emulator):
    [configuration] = stripe_emulator.all("billing_portal.configuration")
    return configuration


def _offered(configuration) -> dict[str, set[str]]:
    products = configuration["features"]["subscription_update"]["products"]
    return {entry["product"]: set(entry["prices"]) for entry in products}


def _sellable_prices(stripe_emulator) -> dict[str, set[str]]:
    """The active recurring prices of the products on sale, as the emulator has them."""
    on_sale = {product.stripe_id for product in metadata.get_active_products()}
    prices: dict[str, set[str]] = {}
    for price in stripe_emulator.all("price"):
        if price["product"] in on_sale and price["active"] and price["recurring"]:
            prices.setdefault(price["product"], set()).add(price["id"])
    return prices


def _flag(monkeypatch, *slugs):
    """Mark these plans of ACTIVE_PRODUCTS `quantity_adjustable`."""
    monkeypatch.setattr(
        metadata,
        "ACTIVE_PRODUCTS",
        [
            dataclasses.replace(product, quantity_adjustable=product.slug in slugs)
            for product in metadata.ACTIVE_PRODUCTS
        ],
    )


def _other_product(stripe_emulator):
    """A product with a monthly price in the emulator, synced, but not on sale."""
    options = stripe_options()
    product = stripe.Product.create(name="Not on sale", **options)
    price = stripe.Price.create(
        product=product.id,
        currency="usd",
        unit_amount=100,
        recurring={"interval": "month"},
        **options,
    )
    sync_catalogue()
    return price.id


@pytest.fixture
def subscribe(billing_client, urls, stripe_catalogue, stripe_emulator):
    """Subscribe the subscriber to a plan by slug; its Stripe subscription's id."""

    def subscribe(slug):
        session_id = start_checkout(billing_client, urls, stripe_catalogue[slug])
        return_from(billing_client, stripe_emulator.complete_checkout(session_id))
        [subscription] = stripe_emulator.all("subscription")
        return subscription["id"]

    return subscribe


@pytest.fixture
def open_portal(billing_client, urls):
    """Open the portal through the site's page; the portal session's id."""

    def open_portal():
        response = billing_client.post(urls("portal"))
        assert response.status_code == 302
        return urlsplit(response["Location"]).path.rstrip("/").rsplit("/", 1)[-1]

    return open_portal


def _refuse(stripe_emulator, session_id, subscription_id, action, **kwargs):
    """Check that the portal refuses the action, as the hosted page would."""
    # The emulator is a development tool: imported only where it is used.
    from stripe_emulator.errors import StripeError

    with pytest.raises(StripeError) as refused:
        stripe_emulator.portal_action(session_id, subscription_id, action, **kwargs)
    assert refused.value.status == 400


def _item(stripe_emulator, subscription_id):
    [item] = stripe_emulator.get("subscription", subscription_id)["items"]["data"]
    return item


# -- the command ------------------------------------------------------------------


def test_the_command_offers_exactly_the_active_recurring_prices(
    stripe_catalogue, stripe_emulator
):
    not_on_sale = _other_product(stripe_emulator)
    output = _configure()
    configuration = _configuration(stripe_emulator)
    assert output.strip() == (
        f"Created billing portal configuration {configuration['id']}."
    )
    assert _offered(configuration) == _sellable_prices(stripe_emulator)
    assert not_on_sale not in set().union(*_offered(configuration).values())


def test_the_command_allows_plan_switches_cancel_at_period_end_card_and_invoices(
    stripe_catalogue, stripe_emulator, settings
):
    settings.SUBSCRIPTIONS_PRORATION_BEHAVIOR = "always_invoice"
    _configure()
    features = _configuration(stripe_emulator)["features"]
    update = features["subscription_update"]
    assert update["enabled"]
    assert update["default_allowed_updates"] == ["price"]
    assert update["proration_behavior"] == "always_invoice"
    assert features["subscription_cancel"]["enabled"]
    assert features["subscription_cancel"]["mode"] == "at_period_end"
    assert features["payment_method_update"]["enabled"]
    assert features["invoice_history"]["enabled"]
    assert not features["customer_update"]["enabled"]


@pytest.mark.parametrize("per_seat", [True, False])
def test_quantities_are_adjustable_only_for_flagged_plans_of_flat_price_sites(
    per_seat, stripe_catalogue, stripe_emulator, settings, monkeypatch
):
    settings.SUBSCRIPTIONS_PER_SEAT = per_seat
    _flag(monkeypatch, "pro")
    _configure()
    products = _configuration(stripe_emulator)["features"]["subscription_update"]
    adjustable = {
        entry["product"]
        for entry in products["products"]
        if entry["adjustable_quantity"]["enabled"]
    }
    pro = metadata.get_product_metadata_by_slug("pro").stripe_id
    assert adjustable == (set() if per_seat else {pro})


def test_the_command_records_the_configuration_for_its_mode(
    stripe_catalogue, stripe_emulator
):
    _configure()
    recorded = PortalConfiguration.objects.get()
    assert recorded.stripe_id == _configuration(stripe_emulator)["id"]
    assert recorded.livemode is False
    assert _configuration(stripe_emulator)["metadata"] == MANAGED_BY


def test_a_second_run_updates_the_same_configuration(stripe_catalogue, stripe_emulator):
    first = _configure()
    # As the price.updated webhook would.
    archived = stripe.Price.modify(
        stripe_catalogue["pro"].id, active=False, **stripe_options()
    )
    Price.sync_from_stripe_data(archived, api_key=api_key())
    second = _configure()
    configuration = _configuration(stripe_emulator)
    assert first.startswith("Created")
    assert (
        second.strip() == f"Updated billing portal configuration {configuration['id']}."
    )
    assert stripe_catalogue["pro"].id not in set().union(
        *_offered(configuration).values()
    )
    assert PortalConfiguration.objects.get().stripe_id == configuration["id"]


def test_a_lost_record_finds_the_configuration_again(stripe_catalogue, stripe_emulator):
    _configure()
    PortalConfiguration.objects.all().delete()
    assert _configure().startswith("Updated")
    recorded = PortalConfiguration.objects.get().stripe_id
    assert recorded == _configuration(stripe_emulator)["id"]


def test_without_synced_prices_the_command_says_to_bootstrap(stripe_emulator):
    message = _fails()
    assert "bootstrap_subscriptions" in message
    assert stripe_emulator.all("billing_portal.configuration") == []


def test_a_missing_key_exits_naming_the_setting(
    stripe_catalogue, stripe_emulator, settings
):
    settings.STRIPE_TEST_SECRET_KEY = ""
    assert "STRIPE_TEST_SECRET_KEY" in _fails()
    assert stripe_emulator.all("billing_portal.configuration") == []


def test_an_unreachable_stripe_exits_saying_so(catalogue, unreachable_stripe):
    assert _fails() == f"Could not reach Stripe at {unreachable_stripe}."


# -- portal sessions --------------------------------------------------------------


def test_portal_sessions_open_with_the_recorded_configuration(
    stripe_catalogue, stripe_emulator, subscribe, open_portal
):
    _configure()
    subscribe("pro")
    session = stripe_emulator.get("billing_portal.session", open_portal())
    assert session["configuration"] == PortalConfiguration.objects.get().stripe_id


def test_without_a_recorded_configuration_the_portal_opens_and_logs_a_warning(
    stripe_catalogue, stripe_emulator, subscribe, open_portal, caplog
):
    subscribe("pro")
    with caplog.at_level(logging.WARNING, logger="apps.subscriptions.portal"):
        session_id = open_portal()
    assert stripe_emulator.get("billing_portal.session", session_id)
    assert "configure_billing_portal" in caplog.text


# -- what the configured portal allows --------------------------------------------


def test_a_per_seat_subscription_cannot_change_its_quantity_in_the_portal(
    stripe_catalogue, stripe_emulator, subscribe, open_portal, settings, monkeypatch
):
    settings.SUBSCRIPTIONS_PER_SEAT = True
    _flag(monkeypatch, "pro")  # the flag does not apply when billing per seat
    _configure()
    subscription_id = subscribe("pro")
    before = _item(stripe_emulator, subscription_id)["quantity"]
    _refuse(
        stripe_emulator,
        open_portal(),
        subscription_id,
        "set_quantity",
        quantity=before + 2,
    )
    assert _item(stripe_emulator, subscription_id)["quantity"] == before


def test_a_flat_price_plan_with_the_flag_can_change_its_quantity(
    stripe_catalogue, stripe_emulator, subscribe, open_portal, settings, monkeypatch
):
    settings.SUBSCRIPTIONS_PER_SEAT = False
    _flag(monkeypatch, "pro")
    _configure()
    subscription_id = subscribe("pro")
    stripe_emulator.portal_action(
        open_portal(), subscription_id, "set_quantity", quantity=3
    )
    assert _item(stripe_emulator, subscription_id)["quantity"] == 3


def test_a_flat_price_plan_without_the_flag_cannot_change_its_quantity(
    stripe_catalogue, stripe_emulator, subscribe, open_portal, settings, monkeypatch
):
    settings.SUBSCRIPTIONS_PER_SEAT = False
    _flag(monkeypatch, "business")
    _configure()
    subscription_id = subscribe("pro")
    before = _item(stripe_emulator, subscription_id)["quantity"]
    _refuse(stripe_emulator, open_portal(), subscription_id, "set_quantity", quantity=4)
    assert _item(stripe_emulator, subscription_id)["quantity"] == before


def test_a_switch_to_another_plan_on_sale_is_allowed(
    stripe_catalogue, stripe_emulator, subscribe, open_portal
):
    _configure()
    subscription_id = subscribe("pro")
    starter = stripe_catalogue["starter"].id
    stripe_emulator.portal_action(
        open_portal(), subscription_id, "switch_price", price=starter
    )
    assert _item(stripe_emulator, subscription_id)["price"]["id"] == starter


def test_a_switch_to_a_price_outside_active_products_is_refused(
    stripe_catalogue, stripe_emulator, subscribe, open_portal
):
    not_on_sale = _other_product(stripe_emulator)
    _configure()
    subscription_id = subscribe("pro")
    _refuse(
        stripe_emulator,
        open_portal(),
        subscription_id,
        "switch_price",
        price=not_on_sale,
    )
    price = _item(stripe_emulator, subscription_id)["price"]["id"]
    assert price == stripe_catalogue["pro"].id


def test_cancelling_in_the_portal_waits_for_the_period_end(
    stripe_catalogue, stripe_emulator, subscribe, open_portal
):
    _configure()
    subscription_id = subscribe("pro")
    session_id = open_portal()
    _refuse(stripe_emulator, session_id, subscription_id, "cancel_now")
    stripe_emulator.portal_action(session_id, subscription_id, "cancel_at_period_end")
    subscription = stripe_emulator.get("subscription", subscription_id)
    assert subscription["cancel_at_period_end"]
    assert subscription["status"] == "active"
