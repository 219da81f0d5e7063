"""Promotion codes and coupons against the emulator: at Checkout, applied to a
subscription from the site, kept in step by webhook and by `refresh_coupons`, and
shown on the subscription page and invoices."""

import time
from io import StringIO
from urllib.parse import urlsplit

import pytest
import stripe
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from djstripe.models import Coupon, Invoice, PromotionCode

from apps.subscriptions import lifecycle
from apps.subscriptions.coupons import refresh_coupons
from apps.subscriptions.demo_catalogue import DEMO_PROMOTION_CODE
from apps.subscriptions.discounts import discount_label, invoice_discounts
from apps.subscriptions.money import format_amount
from apps.subscriptions.price_math import coupon_label
from apps.subscriptions.selectors import get_subscription_summary
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.tasks import refresh_coupons_task
from config.celery_app import app

pytestmark = pytest.mark.django_db

DAY = 24 * 60 * 60


def words(response) -> str:
    return " ".join(response.content.decode().split())


def promotion_code(code, *, refresh=True, **params):
    """A coupon (`params` prefixed `coupon_`) and its promotion code, synced."""
    coupon_params = {
        key.removeprefix("coupon_"): value
        for key, value in params.items()
        if key.startswith("coupon_")
    }
    coupon = stripe.Coupon.create(**coupon_params, **stripe_options())
    code_params = {k: v for k, v in params.items() if not k.startswith("coupon_")}
    created = stripe.PromotionCode.create(
        promotion={"type": "coupon", "coupon": coupon.id},
        code=code,
        **code_params,
        **stripe_options(),
    )
    if refresh:
        refresh_coupons()
    return created


def billed_amount(subscriber) -> tuple[int, str]:
    """What the subscriber's plan costs a period before discounts, and its currency."""
    item = subscriber.subscription.stripe_data["items"]["data"][0]
    return item["price"]["unit_amount"] * item["quantity"], item["price"]["currency"]


# -- Checkout -----------------------------------------------------------------------


@pytest.mark.parametrize("allowed", [True, False])
def test_checkout_has_a_code_field_unless_switched_off(
    billing_client, urls, stripe_catalogue, stripe_emulator, settings, allowed
):
    settings.SUBSCRIPTIONS_ALLOW_PROMOTION_CODES = allowed
    response = billing_client.post(
        urls("checkout"), {"price_id": stripe_catalogue["pro"].id}
    )
    session_id = urlsplit(response["Location"]).path.rstrip("/").rsplit("/", 1)[-1]
    session = stripe_emulator.get("checkout.session", session_id)
    assert bool(session["allow_promotion_codes"]) is allowed


def test_the_demo_code_at_checkout_shows_on_the_subscription_page(
    billing_client, subscriber, urls, stripe_catalogue, stripe_emulator
):
    response = billing_client.post(
        urls("checkout"), {"price_id": stripe_catalogue["pro"].id}
    )
    session_id = urlsplit(response["Location"]).path.rstrip("/").rsplit("/", 1)[-1]
    # Typed in any case, as Stripe's page takes it.
    success_url = stripe_emulator.complete_checkout(
        session_id, promotion_code=DEMO_PROMOTION_CODE.lower()
    )
    parts = urlsplit(success_url)
    billing_client.get(f"{parts.path}?{parts.query}")  # the return page, no webhook
    subscriber.refresh_from_db()
    amount, currency = billed_amount(subscriber)
    after = amount - round(amount * 0.2)
    page = words(billing_client.get(urls("subscription")))
    assert "LAUNCH20: 20% off for 3 months" in page
    assert (
        f"<s>{format_amount(amount, currency)}</s> {format_amount(after, currency)} / month"
        in page
    )
    assert "3 months left" in page


def test_a_refused_code_at_checkout_pays_nothing(
    billing_client, urls, stripe_catalogue, stripe_emulator
):
    response = billing_client.post(
        urls("checkout"), {"price_id": stripe_catalogue["pro"].id}
    )
    session_id = urlsplit(response["Location"]).path.rstrip("/").rsplit("/", 1)[-1]
    # Imported here: a project without the emulator skips this test, not the module.
    from stripe_emulator.errors import StripeError

    with pytest.raises(StripeError, match="NOPE is not valid"):
        stripe_emulator.complete_checkout(session_id, promotion_code="NOPE")
    assert not stripe_emulator.all("subscription")


# -- applied from the site ----------------------------------------------------------


def test_a_percent_code_applies_to_the_current_subscription(subscriber, pro):
    lifecycle.apply_promotion_code(subscriber, " launch20 ")
    [discount] = stripe.Subscription.retrieve(
        pro.id, expand=["discounts"], **stripe_options()
    )["discounts"]
    assert discount["promotion_code"] == PromotionCode.objects.get().id
    summary = get_subscription_summary(subscriber)
    [shown] = summary.discounts
    assert shown.label == "LAUNCH20: 20% off for 3 months"
    amount, currency = billed_amount(subscriber)
    assert summary.amount == format_amount(amount, currency)
    assert summary.discounted_amount == format_amount(
        amount - round(amount * 0.2), currency
    )


def test_an_amount_code_forever_takes_its_amount_off(subscriber, pro):
    promotion_code("FIVEOFF", coupon_amount_off=500, coupon_currency="usd",
                   coupon_duration="forever")  # fmt: skip
    lifecycle.apply_promotion_code(subscriber, "FIVEOFF")
    summary = get_subscription_summary(subscriber)
    amount, currency = billed_amount(subscriber)
    assert [d.label for d in summary.discounts] == ["FIVEOFF: $5.00 off forever"]
    assert summary.discounted_amount == format_amount(amount - 500, currency)


def test_a_second_code_applies_beside_the_first(subscriber, pro):
    promotion_code("FIVEOFF", coupon_amount_off=500, coupon_currency="usd",
                   coupon_duration="once")  # fmt: skip
    lifecycle.apply_promotion_code(subscriber, "LAUNCH20")
    lifecycle.apply_promotion_code(subscriber, "FIVEOFF")
    summary = get_subscription_summary(subscriber)
    assert [d.name for d in summary.discounts] == ["LAUNCH20", "FIVEOFF"]
    amount, currency = billed_amount(subscriber)
    # Stripe applies them in turn: 20% off, then $5.00 off what is left.
    after = amount - round(amount * 0.2) - 500
    assert summary.discounted_amount == format_amount(after, currency)
    with pytest.raises(lifecycle.InvalidPromotionCode, match="already applied"):
        lifecycle.apply_promotion_code(subscriber, "FIVEOFF")


def test_an_unknown_code_is_refused_and_nothing_changes(subscriber, pro):
    with pytest.raises(
        lifecycle.InvalidPromotionCode, match="NOPE is not a valid promotion code"
    ):
        lifecycle.apply_promotion_code(subscriber, "NOPE")
    with pytest.raises(lifecycle.InvalidPromotionCode, match="Enter a promotion code"):
        lifecycle.apply_promotion_code(subscriber, "  ")
    assert not stripe.Subscription.retrieve(pro.id, **stripe_options())["discounts"]


def test_an_expired_code_is_refused(billing, subscriber, pro):
    promotion_code("SOON", coupon_percent_off=10, coupon_duration="once",
                   expires_at=int(time.time()) + 2 * DAY)  # fmt: skip
    billing.advance(days=3)  # the customer's clock is past the expiry now
    with pytest.raises(lifecycle.InvalidPromotionCode, match=r"SOON .*expired"):
        lifecycle.apply_promotion_code(subscriber, "SOON")


def test_an_inactive_code_is_refused_before_stripe_is_asked(subscriber, pro):
    created = promotion_code("OFF", coupon_percent_off=10, coupon_duration="once")
    stripe.PromotionCode.modify(created.id, active=False, **stripe_options())
    refresh_coupons()
    with pytest.raises(lifecycle.InvalidPromotionCode, match="OFF is no longer valid"):
        lifecycle.apply_promotion_code(subscriber, "OFF")


def test_a_code_used_up_is_refused(subscriber, pro, stripe_catalogue):
    created = promotion_code(
        "ONCEONLY", coupon_percent_off=10, coupon_duration="once", max_redemptions=1
    )
    other = stripe.Customer.create(**stripe_options())
    stripe.PaymentMethod.attach("pm_card_visa", customer=other.id, **stripe_options())
    stripe.Subscription.create(
        customer=other.id,
        items=[{"price": stripe_catalogue["pro"].id}],
        discounts=[{"promotion_code": created.id}],
        default_payment_method=stripe.PaymentMethod.list(
            customer=other.id, **stripe_options()
        )
        .data[0]
        .id,
        **stripe_options(),
    )
    with pytest.raises(lifecycle.InvalidPromotionCode, match="maximum number"):
        lifecycle.apply_promotion_code(subscriber, "ONCEONLY")


def test_a_first_time_code_is_refused_to_a_customer_who_has_paid(subscriber, pro):
    promotion_code("WELCOME", coupon_percent_off=50, coupon_duration="once",
                   restrictions={"first_time_transaction": True})  # fmt: skip
    with pytest.raises(lifecycle.InvalidPromotionCode, match="prior transactions"):
        lifecycle.apply_promotion_code(subscriber, "WELCOME")


def test_a_code_created_since_the_last_refresh_is_found_in_stripe(subscriber, pro):
    promotion_code("FRESH", refresh=False, coupon_percent_off=10,
                   coupon_duration="forever")  # fmt: skip
    lifecycle.apply_promotion_code(subscriber, "FRESH")
    assert PromotionCode.objects.filter(stripe_data__code="FRESH").exists()


def test_the_repeating_discount_ends_after_its_months(billing, subscriber, pro):
    lifecycle.apply_promotion_code(subscriber, DEMO_PROMOTION_CODE)
    billing.advance(days=32)
    subscriber.refresh_from_db()
    [shown] = get_subscription_summary(subscriber).discounts
    assert shown.name == "LAUNCH20"
    for _ in range(3):
        billing.advance(days=31)
    subscriber.refresh_from_db()
    summary = get_subscription_summary(subscriber)
    assert summary.discounts == [] and summary.discounted_amount == ""


def test_a_once_discount_is_shown_used_after_its_invoice(billing, subscriber, pro):
    promotion_code("FIRSTOFF", coupon_percent_off=10, coupon_duration="once")
    lifecycle.apply_promotion_code(subscriber, "FIRSTOFF")
    assert get_subscription_summary(subscriber).discounted_amount
    billing.advance(days=32)
    subscriber.refresh_from_db()
    summary = get_subscription_summary(subscriber)
    # Taken off the renewal, it no longer lowers the next one.
    assert summary.discounted_amount == ""
    assert all(d.used for d in summary.discounts)


# -- the page's form ------------------------------------------------------------------


def test_the_form_applies_a_code(billing_client, subscriber, pro, urls):
    page = words(billing_client.get(urls("subscription")))
    assert f'action="{urls("promotion_code")}"' in page
    response = billing_client.post(urls("promotion_code"), {"code": "LAUNCH20"})
    assert response.status_code == 302
    page = words(billing_client.get(response["Location"]))
    assert "Applied the promotion code LAUNCH20." in page
    assert "LAUNCH20: 20% off for 3 months" in page


def test_the_form_shows_why_a_code_is_refused(billing_client, subscriber, pro, urls):
    response = billing_client.post(
        urls("promotion_code"), {"code": "NOPE"}, follow=True
    )
    assert response.status_code == 200
    assert "NOPE is not a valid promotion code." in words(response)


def test_the_form_without_a_subscription_says_so(billing_client, subscriber, urls):
    response = billing_client.post(
        urls("promotion_code"), {"code": "LAUNCH20"}, follow=True
    )
    assert "has no current subscription" in words(response)


def test_a_malformed_post_is_400(billing_client, subscriber, urls):
    assert billing_client.post(urls("promotion_code")).status_code == 400
    too_long = {"code": "X" * 101}
    assert billing_client.post(urls("promotion_code"), too_long).status_code == 400
    assert billing_client.get(urls("promotion_code")).status_code == 405


def test_the_form_needs_its_csrf_token(billing_user, subscriber, urls):
    client = Client(enforce_csrf_checks=True)
    client.force_login(billing_user)
    response = client.post(urls("promotion_code"), {"code": "LAUNCH20"})
    assert response.status_code == 403


# -- kept in step -------------------------------------------------------------------


def test_a_discount_added_in_stripe_arrives_by_webhook(billing, subscriber, pro):
    coupon = stripe.Coupon.create(
        percent_off=15, duration="forever", name="Friends", **stripe_options()
    )
    refresh_coupons()
    # As the Dashboard does it: straight to Stripe, the site told by webhook.
    stripe.Subscription.modify(
        pro.id, discounts=[{"coupon": coupon.id}], **stripe_options()
    )
    billing.deliver()
    subscriber.refresh_from_db()
    [shown] = get_subscription_summary(subscriber).discounts
    assert shown.label == "Friends: 15% off forever"


def test_a_discount_keeps_its_terms_after_its_coupon_is_deleted(
    billing, subscriber, pro
):
    lifecycle.apply_promotion_code(subscriber, DEMO_PROMOTION_CODE)
    billing.deliver()
    coupon_id = Coupon.objects.get().id
    stripe.Coupon.delete(coupon_id, **stripe_options())
    billing.deliver()
    assert not Coupon.objects.filter(id=coupon_id).exists()
    subscriber.refresh_from_db()
    [shown] = get_subscription_summary(subscriber).discounts
    assert shown.label == "LAUNCH20: 20% off for 3 months"


def test_coupon_webhooks_keep_the_local_rows_in_step(billing, stripe_catalogue):
    coupon = stripe.Coupon.create(percent_off=5, duration="once", **stripe_options())
    billing.deliver()
    assert Coupon.objects.filter(id=coupon.id).exists()
    stripe.Coupon.modify(coupon.id, name="Renamed", **stripe_options())
    billing.deliver()
    assert Coupon.objects.get(id=coupon.id).stripe_data["name"] == "Renamed"
    stripe.Coupon.delete(coupon.id, **stripe_options())
    billing.deliver()
    assert not Coupon.objects.filter(id=coupon.id).exists()


def test_promotion_code_webhooks_keep_the_local_rows_in_step(billing, stripe_catalogue):
    created = promotion_code("SPRING", refresh=False, coupon_percent_off=5,
                             coupon_duration="once")  # fmt: skip
    billing.deliver()
    assert PromotionCode.objects.get(id=created.id).stripe_data["active"] is True
    stripe.PromotionCode.modify(created.id, active=False, **stripe_options())
    billing.deliver()
    assert PromotionCode.objects.get(id=created.id).stripe_data["active"] is False


def test_local_setup_offers_the_demo_code(settings, stripe_emulator, db):
    settings.STRIPE_EMULATOR = True
    out = StringIO()
    call_command("setup_local_billing", "--base-url", "http://testserver", stdout=out)
    [code] = PromotionCode.objects.filter(stripe_data__code=DEMO_PROMOTION_CODE)
    coupon = Coupon.objects.get(id=code.stripe_data["promotion"]["coupon"])
    assert coupon_label(coupon.stripe_data) == "20% off for 3 months"
    assert "1 promotion codes" in out.getvalue()


def test_refresh_coupons_brings_what_webhooks_missed(stripe_catalogue):
    kept = Coupon.objects.get()
    new = stripe.Coupon.create(percent_off=5, duration="once", **stripe_options())
    stripe.PromotionCode.create(
        promotion={"type": "coupon", "coupon": new.id}, code="NEW5", **stripe_options()
    )
    stripe.Coupon.modify(kept.id, name="Launch week", **stripe_options())
    gone = stripe.Coupon.create(percent_off=7, duration="once", **stripe_options())
    refresh_coupons()
    stripe.Coupon.delete(gone.id, **stripe_options())

    output = StringIO()
    call_command("refresh_coupons", "--dry-run", stdout=output)
    assert "Coupons: listed 2, would create 0, would update 0, would delete 1" in (
        output.getvalue()
    )
    assert Coupon.objects.filter(id=gone.id).exists()

    call_command("refresh_coupons", stdout=output)
    assert set(Coupon.objects.values_list("id", flat=True)) == {kept.id, new.id}
    assert Coupon.objects.get(id=kept.id).stripe_data["name"] == "Launch week"
    assert PromotionCode.objects.filter(stripe_data__code="NEW5").exists()
    output = StringIO()
    call_command("refresh_coupons", stdout=output)
    assert "Coupons: listed 2, created 0, updated 0, deleted 0, unchanged 2" in (
        output.getvalue()
    )


def test_refresh_coupons_exits_with_one_line_when_stripe_fails(
    stripe_catalogue, stripe_emulator
):
    stripe_emulator.fail_next("/v1/coupons", n=5, status=500)
    with pytest.raises(CommandError) as error:
        call_command("refresh_coupons", stdout=StringIO())
    assert "\n" not in str(error.value)


def test_the_refresh_runs_daily_on_celery_beat(settings):
    entry = app.conf.beat_schedule["refresh-coupons"]
    assert entry["task"] == refresh_coupons_task.name
    assert entry["task"] in app.tasks
    assert entry["schedule"] == settings.SUBSCRIPTIONS_REFRESH_COUPONS_INTERVAL


# -- on invoices --------------------------------------------------------------------


def test_an_invoice_names_what_each_discount_took_off(billing, subscriber, pro):
    lifecycle.apply_promotion_code(subscriber, DEMO_PROMOTION_CODE)
    billing.advance(days=32)
    invoices = list(Invoice.objects.filter(subscription__id=pro.id).order_by("created"))
    first, renewal = invoices[0], invoices[-1]
    subtotal = renewal.stripe_data["subtotal"]
    taken = round(subtotal * 0.2)
    assert renewal.stripe_data["total"] == subtotal - taken
    with CaptureQueriesContext(connection) as queries:
        found = invoice_discounts(invoices)
    assert len(queries) <= 3
    assert found[first.id] == []
    [shown] = found[renewal.id]
    assert shown.amount == taken
    currency = renewal.stripe_data["currency"]
    assert discount_label(renewal) == (
        f"LAUNCH20: 20% off for 3 months (-{format_amount(taken, currency)})"
    )
