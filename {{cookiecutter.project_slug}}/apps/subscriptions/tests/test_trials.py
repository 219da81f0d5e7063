"""Free trials: started at Checkout (with or without a card), once per subscriber,
shown on the pricing pages, and a trial without a card asking for one."""

import re
from urllib.parse import urlsplit

import pytest
import stripe

from apps.subscriptions import lifecycle
from apps.subscriptions.metadata import get_product_metadata_by_slug
from apps.subscriptions.stripe_client import stripe_options

from .factories import make_subscription

pytestmark = pytest.mark.django_db

DAY = 86400


def open_checkout(client, urls, price) -> str:
    """POST the price to checkout; the id of the Checkout session it opens."""
    response = client.post(urls("checkout"), {"price_id": price.id})
    assert response.status_code == 302, response.content
    return urlsplit(response["Location"]).path.rstrip("/").rsplit("/", 1)[-1]


def refused(emulator, session_id, **kwargs) -> bool:
    """Whether the hosted Checkout page refuses to complete the session so."""
    from stripe_emulator.errors import StripeError

    try:
        emulator.complete_checkout(session_id, **kwargs)
    except StripeError:
        return True
    return False


def trial_asked(emulator, session_id) -> dict:
    """What the session asks of the subscription it creates about a trial."""
    data = emulator.engine.private(session_id)["subscription_data"]
    return {key: value for key, value in data.items() if key.startswith("trial")}


@pytest.fixture
def newcomer(billing_at):
    """The subscriber's Stripe customer on a test clock, without a card."""
    return billing_at(card=False)


def test_the_shipped_starter_plan_has_a_fourteen_day_trial():
    assert get_product_metadata_by_slug("starter").trial_period_days == 14
    assert get_product_metadata_by_slug("pro").trial_period_days == 0


def test_a_first_checkout_starts_the_trial_without_a_card(
    billing_client, urls, newcomer, stripe_catalogue, stripe_emulator
):
    session_id = open_checkout(billing_client, urls, stripe_catalogue["starter"])
    session = stripe_emulator.get("checkout.session", session_id)
    assert session["payment_method_collection"] == "if_required"
    stripe_emulator.complete_checkout(session_id, card=None)
    newcomer.deliver()
    subscription = newcomer.stripe_subscription()
    assert subscription.status == "trialing"
    assert subscription.trial_end - subscription.trial_start == 14 * DAY
    end_behavior = subscription.trial_settings.end_behavior
    assert end_behavior.missing_payment_method == "cancel"
    assert newcomer.subscriber.has_active_subscription()


def test_a_plan_without_a_trial_is_paid_at_once(
    billing_client, urls, newcomer, stripe_catalogue, stripe_emulator
):
    session_id = open_checkout(billing_client, urls, stripe_catalogue["pro"])
    assert trial_asked(stripe_emulator, session_id) == {}
    assert refused(stripe_emulator, session_id, card=None)


def test_the_default_trial_applies_to_plans_that_set_none(
    billing_client, urls, newcomer, stripe_catalogue, stripe_emulator, settings
):
    settings.SUBSCRIPTIONS_TRIAL_DAYS = 7
    session_id = open_checkout(billing_client, urls, stripe_catalogue["pro"])
    assert str(trial_asked(stripe_emulator, session_id)["trial_period_days"]) == "7"


def test_a_trial_can_require_a_card_up_front(
    billing_client, urls, newcomer, stripe_catalogue, stripe_emulator, settings
):
    settings.SUBSCRIPTIONS_TRIAL_REQUIRES_CARD = True
    session_id = open_checkout(billing_client, urls, stripe_catalogue["starter"])
    session = stripe_emulator.get("checkout.session", session_id)
    assert session["payment_method_collection"] == "always"
    assert refused(stripe_emulator, session_id, card=None)
    stripe_emulator.complete_checkout(session_id)
    newcomer.deliver()
    assert newcomer.stripe_subscription().status == "trialing"


def test_a_trial_without_a_card_ends_the_subscription_by_default(
    billing_client, urls, newcomer, stripe_catalogue, stripe_emulator
):
    session_id = open_checkout(billing_client, urls, stripe_catalogue["starter"])
    stripe_emulator.complete_checkout(session_id, card=None)
    newcomer.deliver()
    newcomer.advance(days=15)
    newcomer.subscriber.refresh_from_db()
    assert newcomer.subscriber.subscription is None
    assert not newcomer.subscriber.has_active_subscription()


def test_a_trial_without_a_card_can_pause_instead(
    billing_client, urls, newcomer, stripe_catalogue, stripe_emulator, settings
):
    settings.SUBSCRIPTIONS_TRIAL_END_BEHAVIOR = "pause"
    session_id = open_checkout(billing_client, urls, stripe_catalogue["starter"])
    stripe_emulator.complete_checkout(session_id, card=None)
    newcomer.deliver()
    newcomer.advance(days=15)
    assert newcomer.stripe_subscription().status == "paused"
    assert not newcomer.subscriber.has_active_subscription()


def test_no_second_trial_after_a_subscription(
    billing_client, urls, billing, stripe_catalogue, stripe_emulator
):
    billing.subscribe(stripe_catalogue["pro"])
    with billing.capture(execute=True):
        lifecycle.cancel_now(billing.subscriber)
    billing.deliver()
    session_id = open_checkout(billing_client, urls, stripe_catalogue["starter"])
    assert trial_asked(stripe_emulator, session_id) == {}
    session = stripe_emulator.get("checkout.session", session_id)
    assert session["payment_method_collection"] == "always"


def test_no_second_trial_when_the_earlier_subscription_never_reached_the_database(
    billing_client, urls, billing, stripe_catalogue, stripe_emulator
):
    # Created and ended in Stripe, its webhooks never delivered: no local row.
    earlier = stripe.Subscription.create(
        customer=billing.customer_id,
        items=[{"price": stripe_catalogue["pro"].id}],
        **stripe_options(),
    )
    stripe.Subscription.cancel(earlier.id, **stripe_options())
    session_id = open_checkout(billing_client, urls, stripe_catalogue["starter"])
    assert trial_asked(stripe_emulator, session_id) == {}


def test_no_second_trial_under_a_new_customer(
    billing_client, urls, subscriber, billing_at, stripe_catalogue, stripe_emulator
):
    # An earlier customer of the subscriber had a subscription; Stripe's list for
    # the new customer is empty, the local rows remember.
    make_subscription(subscriber, stripe_catalogue["pro"], status="canceled")
    billing_at()
    session_id = open_checkout(billing_client, urls, stripe_catalogue["starter"])
    assert trial_asked(stripe_emulator, session_id) == {}


def _trial_badges(page: str) -> dict[str, str]:
    """The trial badge of each plan card, by plan slug."""
    found = {}
    for slug, card in re.findall(r'data-plan="([\w-]+)">(.*?)</article>', page, re.S):
        badge = re.search(r'data-testid="trial">([^<]*)<', card)
        if badge:
            found[slug] = badge.group(1)
    return found


def test_the_subscription_page_offers_the_trial_to_a_newcomer(
    billing_client, urls, stripe_catalogue
):
    page = billing_client.get(urls("subscription")).content.decode()
    assert _trial_badges(page) == {"starter": "14-day free trial"}
    assert "Start free trial" in page


def test_the_public_pricing_page_offers_the_trial_to_visitors(client, stripe_catalogue):
    page = client.get("/pricing/").content.decode()
    assert _trial_badges(page) == {"starter": "14-day free trial"}


def test_no_trial_is_offered_once_the_subscriber_had_a_subscription(
    billing_client, urls, billing, stripe_catalogue
):
    billing.subscribe(stripe_catalogue["pro"])
    with billing.capture(execute=True):
        lifecycle.cancel_now(billing.subscriber)
    billing.deliver()
    for page in (urls("subscription"), "/pricing/"):
        assert _trial_badges(billing_client.get(page).content.decode()) == {}


def test_a_trial_without_a_card_shows_its_end_and_offers_to_add_one(
    billing_client, urls, newcomer, stripe_catalogue, stripe_emulator
):
    session_id = open_checkout(billing_client, urls, stripe_catalogue["starter"])
    stripe_emulator.complete_checkout(session_id, card=None)
    newcomer.deliver()
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="trial-end"' in page
    assert 'data-testid="add-card"' in page
    assert re.search(r'data-testid="payment-method">\s*None on file', page)

    # "Add a card" opens the portal, whose card update is the customer's default.
    response = billing_client.get(urls("update_card"))
    assert response.status_code == 302
    portal_session = urlsplit(response["Location"]).path.rsplit("/", 1)[-1]
    stripe_emulator.portal_action(portal_session, None, "update_card")
    newcomer.deliver()
    page = billing_client.get(urls("subscription") + "?from=portal", follow=True)
    page = page.content.decode()
    assert 'data-testid="add-card"' not in page
    assert re.search(r'data-testid="payment-method">\s*Visa ending 4242', page)


def test_a_trial_with_a_card_offers_no_card_to_add(
    billing_client, urls, billing, stripe_catalogue
):
    billing.subscribe(stripe_catalogue["starter"], trial_period_days=14)
    page = billing_client.get(urls("subscription")).content.decode()
    assert 'data-testid="trial-end"' in page
    assert 'data-testid="add-card"' not in page
