"""Billing portal configurations, and a portal that does only what its one allows."""

import pytest
import stripe

from stripe_emulator.errors import StripeError

from .conftest import http


@pytest.fixture
def catalogue(stripe_emulator):
    pro = stripe.Product.create(name="Pro")
    studio = stripe.Product.create(name="Studio")

    def price(product, amount, interval="month"):
        return stripe.Price.create(
            product=product.id,
            currency="usd",
            unit_amount=amount,
            recurring={"interval": interval},
        )

    return {
        "pro": pro,
        "studio": studio,
        "pro_monthly": price(pro, 1000),
        "pro_yearly": price(pro, 10000, "year"),
        "studio_monthly": price(studio, 3000),
    }


@pytest.fixture
def subscription(catalogue):
    customer = stripe.Customer.create(
        email="p@example.com", payment_method="pm_card_visa"
    )
    return stripe.Subscription.create(
        customer=customer.id, items=[{"price": catalogue["pro_monthly"].id}]
    )


def configuration(catalogue, update=None, cancel=None, **extra):
    """A configuration offering Pro's prices (and whatever `update` adds)."""
    subscription_update = {
        "enabled": True,
        "default_allowed_updates": ["price"],
        "products": [
            {
                "product": catalogue["pro"].id,
                "prices": [catalogue["pro_monthly"].id, catalogue["pro_yearly"].id],
            }
        ],
        **(update or {}),
    }
    return stripe.billing_portal.Configuration.create(
        features={
            "subscription_update": subscription_update,
            "subscription_cancel": cancel or {"enabled": True},
            "invoice_history": {"enabled": False},
        },
        **extra,
    )


def portal_for(subscription, config=None):
    extra = {"configuration": config.id} if config else {}
    return stripe.billing_portal.Session.create(
        customer=subscription.customer, return_url="https://site.test/", **extra
    )


def refused(stripe_emulator, portal, subscription, action, **kwargs):
    with pytest.raises(StripeError) as caught:
        stripe_emulator.portal_action(portal.id, subscription.id, action, **kwargs)
    return caught.value


# -- the configurations API --------------------------------------------------------


def test_a_configuration_keeps_what_was_asked(catalogue):
    config = configuration(
        catalogue,
        update={"proration_behavior": "always_invoice"},
        cancel={"enabled": True, "mode": "immediately"},
        default_return_url="https://site.test/billing",
        metadata={"site": "1"},
    )

    got = stripe.billing_portal.Configuration.retrieve(config.id)
    features = got.features
    assert got.id.startswith("bpc_")
    assert (got.is_default, got.active, got.default_return_url) == (
        False,
        True,
        "https://site.test/billing",
    )
    assert features.subscription_update.default_allowed_updates == ["price"]
    assert features.subscription_update.products[0].prices == [
        catalogue["pro_monthly"].id,
        catalogue["pro_yearly"].id,
    ]
    assert features.subscription_update.proration_behavior == "always_invoice"
    assert (features.subscription_cancel.mode, got.metadata["site"]) == (
        "immediately",
        "1",
    )


def test_an_update_changes_only_what_it_names(stripe_emulator, catalogue):
    config = configuration(catalogue)

    updated = stripe.billing_portal.Configuration.modify(
        config.id, features={"subscription_cancel": {"mode": "immediately"}}
    )

    assert updated.features.subscription_cancel.mode == "immediately"
    assert updated.features.subscription_cancel.enabled is True
    assert updated.features.subscription_update.enabled is True
    event = stripe_emulator.events("billing_portal.configuration.updated")[0]
    assert "features" in event["data"]["previous_attributes"]


def test_configurations_are_listed_and_filtered(catalogue):
    config = configuration(catalogue)
    stripe.billing_portal.Configuration.modify(config.id, active=False)
    other = configuration(catalogue)

    listed = stripe.billing_portal.Configuration.list(active=True).data
    assert [c.id for c in listed] == [other.id]


@pytest.mark.parametrize(
    ("features", "param"),
    [
        (
            {
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price"],
                }
            },
            "features[subscription_update][products]",
        ),
        (
            {"subscription_cancel": {"enabled": True, "mode": "tomorrow"}},
            "features[subscription_cancel][mode]",
        ),
        (
            {
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["colour"],
                }
            },
            "features[subscription_update][default_allowed_updates][0]",
        ),
        ({"bonus_feature": {"enabled": True}}, "features[bonus_feature]"),
    ],
)
def test_bad_features_are_refused(stripe_emulator, features, param):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe.billing_portal.Configuration.create(features=features)
    assert caught.value.param == param


def test_a_price_of_another_product_is_refused(catalogue):
    with pytest.raises(stripe.InvalidRequestError):
        stripe.billing_portal.Configuration.create(
            features={
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price"],
                    "products": [
                        {
                            "product": catalogue["pro"].id,
                            "prices": [catalogue["studio_monthly"].id],
                        }
                    ],
                }
            }
        )


def test_the_default_configuration_cannot_be_deactivated(subscription):
    portal = portal_for(subscription)
    with pytest.raises(stripe.InvalidRequestError):
        stripe.billing_portal.Configuration.modify(portal.configuration, active=False)


def test_an_inactive_configuration_opens_no_session(catalogue, subscription):
    config = configuration(catalogue)
    stripe.billing_portal.Configuration.modify(config.id, active=False)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        portal_for(subscription, config)
    assert caught.value.param == "configuration"


# -- sessions and the default configuration -----------------------------------------


def test_a_session_uses_the_configuration_it_names(catalogue, subscription):
    config = configuration(catalogue)
    assert portal_for(subscription, config).configuration == config.id


def test_without_one_the_first_session_creates_a_default_allowing_everything(
    catalogue, subscription
):
    first = portal_for(subscription)
    second = portal_for(subscription)

    assert first.configuration == second.configuration
    default = stripe.billing_portal.Configuration.retrieve(first.configuration)
    update = default.features.subscription_update
    assert default.is_default is True
    assert sorted(update.default_allowed_updates) == [
        "price",
        "promotion_code",
        "quantity",
    ]
    assert {p.product: p.prices for p in update.products} == {
        catalogue["pro"].id: [catalogue["pro_monthly"].id, catalogue["pro_yearly"].id],
        catalogue["studio"].id: [catalogue["studio_monthly"].id],
    }
    assert default.features.subscription_cancel.enabled is True
    assert len(stripe.billing_portal.Configuration.list().data) == 1


def test_the_default_return_url_is_used_when_the_session_names_none(
    catalogue, subscription
):
    config = configuration(catalogue, default_return_url="https://site.test/account")
    portal = stripe.billing_portal.Session.create(
        customer=subscription.customer, configuration=config.id
    )
    assert portal.return_url == "https://site.test/account"


# -- what the portal lets a customer do ----------------------------------------------


def test_a_listed_price_can_be_chosen(stripe_emulator, catalogue, subscription):
    portal = portal_for(subscription, configuration(catalogue))
    changed = stripe_emulator.portal_action(
        portal.id, subscription.id, "switch_price", price=catalogue["pro_yearly"].id
    )
    assert changed["items"]["data"][0]["price"]["id"] == catalogue["pro_yearly"].id


def test_a_price_not_listed_is_refused(stripe_emulator, catalogue, subscription):
    portal = portal_for(subscription, configuration(catalogue))

    error = refused(
        stripe_emulator,
        portal,
        subscription,
        "switch_price",
        price=catalogue["studio_monthly"].id,
    )

    assert (error.status, error.body()["error"]["type"]) == (
        400,
        "invalid_request_error",
    )
    assert error.param == "price"
    item = stripe.Subscription.retrieve(subscription.id)["items"].data[0]
    assert item.price.id == catalogue["pro_monthly"].id


def test_a_quantity_change_needs_quantity_allowed(
    stripe_emulator, catalogue, subscription
):
    only_prices = portal_for(subscription, configuration(catalogue))
    assert (
        refused(
            stripe_emulator, only_prices, subscription, "set_quantity", quantity=3
        ).param
        == "action"
    )

    allowed = portal_for(
        subscription,
        configuration(catalogue, update={"default_allowed_updates": ["quantity"]}),
    )
    changed = stripe_emulator.portal_action(
        allowed.id, subscription.id, "set_quantity", quantity=3
    )
    assert changed["items"]["data"][0]["quantity"] == 3


def test_a_product_can_bound_its_quantity(stripe_emulator, catalogue, subscription):
    bounded = {
        "default_allowed_updates": ["price"],
        "products": [
            {
                "product": catalogue["pro"].id,
                "prices": [catalogue["pro_monthly"].id],
                "adjustable_quantity": {"enabled": True, "minimum": 2, "maximum": 5},
            }
        ],
    }
    portal = portal_for(subscription, configuration(catalogue, update=bounded))

    assert refused(
        stripe_emulator, portal, subscription, "set_quantity", quantity=6
    ).message == ("The quantity must be at least 2 and at most 5.")
    changed = stripe_emulator.portal_action(
        portal.id, subscription.id, "set_quantity", quantity=5
    )
    assert changed["items"]["data"][0]["quantity"] == 5


def test_at_period_end_mode_refuses_an_immediate_cancel(
    stripe_emulator, catalogue, subscription
):
    portal = portal_for(
        subscription,
        configuration(catalogue, cancel={"enabled": True, "mode": "at_period_end"}),
    )

    error = refused(stripe_emulator, portal, subscription, "cancel_now")

    assert "end of the billing period" in error.message
    assert stripe.Subscription.retrieve(subscription.id).status == "active"
    stripe_emulator.portal_action(portal.id, subscription.id, "cancel_at_period_end")
    assert stripe.Subscription.retrieve(subscription.id).cancel_at_period_end is True


def test_immediately_mode_cancels_now(stripe_emulator, catalogue, subscription):
    portal = portal_for(
        subscription,
        configuration(catalogue, cancel={"enabled": True, "mode": "immediately"}),
    )
    stripe_emulator.portal_action(portal.id, subscription.id, "cancel_now")
    assert stripe.Subscription.retrieve(subscription.id).status == "canceled"


def test_no_cancel_feature_no_cancelling(stripe_emulator, catalogue, subscription):
    portal = portal_for(
        subscription, configuration(catalogue, cancel={"enabled": False})
    )
    for action in ("cancel_at_period_end", "cancel_now"):
        error = refused(stripe_emulator, portal, subscription, action)
        assert error.message == "This portal does not allow cancelling."


def test_plan_changes_follow_the_configured_proration(
    stripe_emulator, catalogue, subscription
):
    other = stripe.Price.create(
        product=catalogue["pro"].id,
        currency="usd",
        unit_amount=2000,
        recurring={"interval": "month"},
    )
    update = {
        "proration_behavior": "none",
        "products": [
            {
                "product": catalogue["pro"].id,
                "prices": [catalogue["pro_monthly"].id, other.id],
            }
        ],
    }
    portal = portal_for(subscription, configuration(catalogue, update=update))

    stripe_emulator.portal_action(
        portal.id, subscription.id, "switch_price", price=other.id
    )

    assert "pending_prorations" not in stripe_emulator.engine.private(subscription.id)


# -- the hosted page -----------------------------------------------------------------


@pytest.fixture
def served(server, monkeypatch):
    """stripe-python talking to the HTTP door, as the site does in development."""
    monkeypatch.setattr(stripe, "api_base", server.url)
    monkeypatch.setattr(stripe, "api_key", "sk_test_" + "portalpage" * 3)
    monkeypatch.setattr(stripe, "default_http_client", stripe.new_default_http_client())
    return server


def test_the_page_offers_only_what_the_configuration_allows(served):
    product = stripe.Product.create(name="Pro")
    monthly, yearly = (
        stripe.Price.create(
            product=product.id,
            currency="usd",
            unit_amount=amount,
            recurring={"interval": interval},
        )
        for amount, interval in ((1000, "month"), (9000, "year"))
    )
    customer = stripe.Customer.create(payment_method="pm_card_visa")
    sub = stripe.Subscription.create(
        customer=customer.id, items=[{"price": monthly.id}]
    )
    config = stripe.billing_portal.Configuration.create(
        features={
            "subscription_update": {
                "enabled": True,
                "default_allowed_updates": ["price"],
                "products": [
                    {"product": product.id, "prices": [monthly.id, yearly.id]}
                ],
            },
            "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
            "invoice_history": {"enabled": True},
        }
    )
    portal = stripe.billing_portal.Session.create(
        customer=customer.id, configuration=config.id
    )

    status, _, page = http("GET", portal.url, key=None)

    assert status == 200
    assert "/switch_price" in page and yearly.id in page
    assert "/cancel_at_period_end" in page
    assert "/set_quantity" not in page and "/cancel_now" not in page
    assert 'id="invoices"' in page

    base = f"{portal.url}/subscriptions/{sub.id}"
    status, _, page = http("POST", base + "/cancel_now", "", key=None)
    assert status == 400
    assert "only cancels at the end of the billing period" in page
    assert stripe.Subscription.retrieve(sub.id).status == "active"
    status, _, page = http("POST", base + "/set_quantity", "quantity=4", key=None)
    assert (status, "does not allow changing the quantity" in page) == (400, True)
