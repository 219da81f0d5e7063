"""Billing pages: thin views over checkout.py, portal.py, linking.py and selectors.py."""

import logging
import sys
from decimal import Decimal, InvalidOperation

import stripe
from allauth.account.adapter import get_adapter as get_account_adapter
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import checkout, lifecycle, linking, portal, purchases
from .decorators import (
    active_subscription_required,
    billing_manager_required,
    subscriber_required,
)
from .history import billing_history
from .metadata import get_active_plan_intervals
from .money import to_minor_units
from .selectors import (
    billed_quantity,
    get_ended_subscription,
    get_pending_seats,
    get_plan_choices,
    get_subscription_summary,
    trial_available,
)
from .stripe_client import is_stripe_outage
from .subscribers import billing_adapter, billing_urls, subscriber_reverse
from .wallet import get_wallet

logger = logging.getLogger(__name__)

STRIPE_UNAVAILABLE = "Billing is unavailable right now; please try again shortly."
SUBSCRIPTION_PAUSED = (
    "Your subscription is paused: resume it on this page rather than start another."
)
# Checkout's cancel page is the subscription page with `?checkout=cancelled`.
CHECKOUT_CANCELLED = "cancelled"
# The session key naming the subscription page a portal session returns to: the
# return re-reads Stripe once, for whoever opened the portal.
PORTAL_RETURN_KEY = "subscriptions_portal_return"


def _render(request, template, subscriber, context):
    context = {
        "subscriber": subscriber,
        "urls": billing_urls(subscriber),
        "per_seat": settings.SUBSCRIPTIONS_PER_SEAT,
        **context,
    }
    return render(request, template, context)


def absolute_url(request, path: str) -> str:
    """`path` on this site's host, for Stripe to send the customer back to.

    The scheme comes from `USE_HTTPS_IN_ABSOLUTE_URLS`, not from the request, so
    links stay https behind a proxy that talks plain http to the site.
    """
    scheme = "https" if settings.USE_HTTPS_IN_ABSOLUTE_URLS else "http"
    return f"{scheme}://{request.get_host()}{path}"


def _billing_url(request, name, subscriber) -> str:
    return absolute_url(request, subscriber_reverse(name, subscriber))


def _plans_context(plans, summary) -> dict:
    """The plan cards and the toggle's intervals, the current plan's interval checked."""
    intervals = get_active_plan_intervals()
    checked = summary.plan_interval if summary else ""
    if checked not in intervals:
        checked = intervals[0].value if intervals else ""
    return {
        "plans": plans,
        "intervals": intervals,
        "checked_interval": checked,
        "one_off_offers": purchases.get_one_off_offers(),
    }


def _stripe_unavailable(request, subscriber, doing: str):
    """Log a failed Stripe call and send the customer back with a message.

    Called while handling the error. Stripe out of reach is let through, for
    StripeOutageMiddleware's 503 page.
    """
    error = sys.exception()
    if is_stripe_outage(error):
        raise error
    logger.exception("Could not %s for %s", doing, subscriber)
    messages.error(request, STRIPE_UNAVAILABLE)
    return redirect(subscriber_reverse("subscription", subscriber))


@require_GET
@subscriber_required
def subscription(request):
    """The plans to choose from, or the current subscription and its billing."""
    subscriber = request.subscriber
    if request.GET.get("from") == "portal":
        # Show what was just changed in the portal even before its webhook lands;
        # any other load of this URL reads the local rows, as every page does.
        if request.session.pop(PORTAL_RETURN_KEY, None) == request.path:
            try:
                linking.refresh_subscription(subscriber)
            except stripe.StripeError:
                logger.warning("Could not refresh %s after the portal", subscriber)
        return redirect(subscriber_reverse("subscription", subscriber))
    if request.GET.get("checkout") == CHECKOUT_CANCELLED:
        messages.info(request, "Checkout was cancelled; nothing was charged.")
        return redirect(subscriber_reverse("subscription", subscriber))
    summary = None
    # Shown while it is paid or owed for: a payment to make is no time to sell another.
    if subscriber.has_current_subscription():
        summary = get_subscription_summary(subscriber)
    quantity = billed_quantity(subscriber)
    can_manage = request.can_manage_billing
    # A subscriber with a plan is offered the others only by those who may switch,
    # and not while it is paused: it is resumed first.
    show_plans = summary is None or (can_manage and not summary.paused)
    plans = []
    if show_plans:
        with_trial = summary is None and trial_available(subscriber)
        plans = get_plan_choices(quantity, current=summary, with_trial=with_trial)
    context = {
        "can_manage": can_manage,
        "summary": summary,
        "ended": None if summary else get_ended_subscription(subscriber),
        "pending_seats": get_pending_seats(subscriber, summary) if can_manage else None,
        "wallet": get_wallet(subscriber),
        "history": billing_history(subscriber, request.GET.get("page")),
        "quantity": quantity,
        **_plans_context(plans, summary),
    }
    return _render(request, "subscriptions/subscription.html", subscriber, context)


def _checkout_redirect(request, subscriber, price_id):
    """Send the subscriber to Checkout for `price_id`, or to the portal if it pays.

    400 for a price not on sale; a Stripe error comes back to the subscription page
    with a message.
    """
    success_url = _billing_url(request, "checkout_success", subscriber)
    subscription_url = _billing_url(request, "subscription", subscriber)
    try:
        target = checkout.start_checkout(
            subscriber,
            price_id,
            email=request.user.email,
            success_url=success_url + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=f"{subscription_url}?checkout={CHECKOUT_CANCELLED}",
            return_url=subscription_url + "?from=portal",
        )
    except checkout.InvalidPrice:
        return HttpResponseBadRequest("That price is not for sale here.")
    except checkout.SubscriptionPaused:
        messages.error(request, SUBSCRIPTION_PAUSED)
        return redirect(subscriber_reverse("subscription", subscriber))
    except stripe.StripeError:
        return _stripe_unavailable(request, subscriber, "start Checkout")
    if target.to_portal:
        _expect_portal_return(request, subscriber)
    return redirect(target.url)


@require_POST
@billing_manager_required
def create_checkout(request):
    """Send the subscriber to Stripe Checkout for the chosen price (400 if invalid)."""
    return _checkout_redirect(request, request.subscriber, request.POST.get("price_id"))


@require_GET
@subscriber_required
def checkout_success(request):
    """Checkout's return page: provision the subscription unless the webhook did."""
    subscriber = request.subscriber
    try:
        result = checkout.complete_checkout_session(
            request.GET.get("session_id"), subscriber=subscriber
        )
    except checkout.CheckoutSessionNotFound as error:
        raise Http404("No such checkout session.") from error
    except stripe.StripeError:
        return _stripe_unavailable(request, subscriber, "complete Checkout")
    paid = result.outcome != checkout.CheckoutOutcome.NOT_PAID
    if not paid:
        messages.warning(
            request, "Your payment has not gone through, so nothing has changed yet."
        )
    context = {
        "paid": paid,
        "summary": get_subscription_summary(result.subscriber) if paid else None,
    }
    return _render(
        request, "subscriptions/checkout_success.html", result.subscriber, context
    )


def _top_up_amount(value: str, currency: str) -> int | None:
    """The amount typed ("25" or "25.50") in the currency's smallest unit, or None."""
    try:
        amount = Decimal((value or "").strip())
    except InvalidOperation:
        return None
    return to_minor_units(amount, currency) if amount.is_finite() else None


@require_POST
@billing_manager_required
def buy(request):
    """Send the subscriber to Checkout (payment mode) for a one-off product or a
    wallet top-up; a bad price, quantity or amount comes back with a message."""
    subscriber = request.subscriber
    subscription_url = _billing_url(request, "subscription", subscriber)
    price = purchases.get_one_off_price(request.POST.get("price_id"))
    if price is None:
        return HttpResponseBadRequest("That product is not for sale here.")
    amount = _top_up_amount(request.POST.get("amount", ""), price.currency)
    quantity = request.POST.get("quantity", "1")
    try:
        url = purchases.start_purchase(
            subscriber,
            price.id,
            email=request.user.email,
            amount=amount,
            quantity=int(quantity) if quantity.isdigit() else 0,
            success_url=_billing_url(request, "purchase_success", subscriber)
            + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=f"{subscription_url}?checkout={CHECKOUT_CANCELLED}",
        )
    except purchases.InvalidPurchase as error:
        messages.error(request, str(error))
        return redirect(subscriber_reverse("subscription", subscriber))
    except stripe.StripeError:
        return _stripe_unavailable(request, subscriber, "start Checkout")
    return redirect(url)


@require_GET
@subscriber_required
def purchase_success(request):
    """Checkout's return page of a one-off purchase: fulfil it unless the webhook did."""
    subscriber = request.subscriber
    try:
        result = purchases.fulfil_purchase(
            request.GET.get("session_id"), subscriber=subscriber
        )
    except checkout.CheckoutSessionNotFound as error:
        raise Http404("No such checkout session.") from error
    except stripe.StripeError:
        return _stripe_unavailable(request, subscriber, "complete the purchase")
    if result.purchase is None:
        messages.warning(
            request, "Your payment has not gone through, so nothing was bought."
        )
    else:
        messages.success(request, f"Thank you: {result.purchase.description} is paid.")
    return redirect(subscriber_reverse("subscription", subscriber))


# Longer than any promotion code Stripe makes or takes.
PROMOTION_CODE_MAX_LENGTH = 100


@require_POST
@billing_manager_required
def apply_promotion_code(request):
    """Apply a promotion code to the current subscription; a code refused comes
    back as a message saying why."""
    subscriber = request.subscriber
    code = request.POST.get("code")
    if code is None or len(code) > PROMOTION_CODE_MAX_LENGTH:
        return HttpResponseBadRequest("Send the promotion code as `code`.")
    try:
        lifecycle.apply_promotion_code(subscriber, code)
    except lifecycle.LifecycleError as error:
        messages.error(request, str(error))
    except stripe.StripeError:
        return _stripe_unavailable(request, subscriber, "apply a promotion code")
    else:
        messages.success(request, f"Applied the promotion code {code.strip()}.")
    return redirect(subscriber_reverse("subscription", subscriber))


def _portal_redirect(request, subscriber):
    """Send the subscriber to Stripe's customer portal, returning to its page."""
    return_url = _billing_url(request, "subscription", subscriber) + "?from=portal"
    try:
        url = portal.create_portal_session(subscriber, return_url)
    except portal.NoBillingAccount:
        messages.info(request, "Choose a plan first: there is no billing to manage.")
        return redirect(subscriber_reverse("subscription", subscriber))
    except stripe.StripeError:
        return _stripe_unavailable(request, subscriber, "open the billing portal")
    _expect_portal_return(request, subscriber)
    return redirect(url)


def _expect_portal_return(request, subscriber) -> None:
    request.session[PORTAL_RETURN_KEY] = subscriber_reverse("subscription", subscriber)


@require_POST
@billing_manager_required
def billing_portal(request):
    """Send the subscriber to Stripe's customer portal."""
    return _portal_redirect(request, request.subscriber)


@require_POST
@billing_manager_required
def resume_subscription(request):
    """Resume a paused subscription, or its paused collection.

    Stripe resumes a paused subscription by invoicing a new period at once, so a
    subscriber without a card on file is sent to the portal to add one first.
    """
    subscriber = request.subscriber
    summary = None
    if subscriber.has_current_subscription():
        summary = get_subscription_summary(subscriber)
    if summary is None or not summary.resumable:
        messages.info(request, "There is nothing paused to resume.")
        return redirect(subscriber_reverse("subscription", subscriber))
    if summary.paused and not summary.payment_method:
        messages.info(
            request, "Add a card first, then come back to this page to resume."
        )
        return _portal_redirect(request, subscriber)
    try:
        change = lifecycle.resume(subscriber)
    except lifecycle.LifecycleError as error:
        messages.error(request, str(error))
    except stripe.InvalidRequestError as error:
        messages.error(
            request, f"Stripe could not resume it: {error.user_message or error}"
        )
    except stripe.StripeError:
        return _stripe_unavailable(request, subscriber, "resume the subscription")
    else:
        if change.after.status == "paused":
            messages.error(
                request,
                "The card was declined, so the subscription is still paused: "
                "update the card and pay the open invoice in Manage billing.",
            )
        else:
            messages.success(request, "Your subscription is running again.")
    return redirect(subscriber_reverse("subscription", subscriber))


# A GET, so that the links of the billing e-mails and of the banner of an overdue
# payment work, through log in too. Like `pricing_checkout`, it is not protected
# against cross-site requests, and need not be: it only opens a portal session on
# the user's own billing, where nothing changes until the user acts.
@require_GET
@subscriber_required
def update_card(request):
    """Stripe's customer portal, to add or update the card (which pays what is owed).

    Those who may not manage the billing are sent to the subscription page, told
    who can.
    """
    subscriber = request.subscriber
    if not request.can_manage_billing:
        messages.info(
            request,
            "Only the people who manage this billing can update its card: "
            "ask one of them to do it.",
        )
        return redirect(subscriber_reverse("subscription", subscriber))
    return _portal_redirect(request, subscriber)


# PUBLIC PRICING: the plans for visitors, and Checkout straight after signing up.


@require_GET
def pricing(request):
    """The plans on sale, for anyone; each button leads to Checkout for its price.

    Visitors go through sign-up (or log in) on the way; a signed-in user sees the
    plans as the subscriber whose billing they manage would.
    """
    subscriber = None
    if request.user.is_authenticated:
        subscriber = billing_adapter().managed_subscriber(request.user)
    summary = None
    if subscriber is not None and subscriber.has_current_subscription():
        summary = get_subscription_summary(subscriber)
    quantity = billed_quantity(subscriber) if subscriber is not None else None
    # Visitors (and those who manage no billing) see the trials a newcomer gets.
    with_trial = summary is None and (subscriber is None or trial_available(subscriber))
    plans = get_plan_choices(quantity or 1, current=summary, with_trial=with_trial)
    context = {
        **_plans_context(plans, summary),
        "quantity": quantity,
        "per_seat": settings.SUBSCRIPTIONS_PER_SEAT,
        # With sign-up closed, visitors' buttons lead to log in instead.
        "signup_open": get_account_adapter(request).is_open_for_signup(request),
        "summary": summary,
        "subscription_url": subscriber_reverse("subscription", subscriber)
        if subscriber is not None
        else "",
    }
    return render(request, "subscriptions/pricing.html", context)


# A GET, so that the pricing page's links can carry on through sign-up and log-in
# (allauth redirects to `next` with a GET). It is not protected against cross-site
# requests as a POST would be, and that is acceptable: it only opens a Checkout
# session (or the portal) for the user's own billing, which changes nothing until
# the user completes the payment on Stripe's page.
@require_GET
@login_required
def pricing_checkout(request, price_id):
    """Checkout for `price_id` for the subscriber whose billing the user manages."""
    subscriber = billing_adapter().managed_subscriber(request.user)
    if subscriber is None:
        messages.info(
            request,
            "You do not manage any billing here, so you cannot subscribe: "
            "ask whoever manages it to choose a plan.",
        )
        return redirect("pricing:pricing")
    return _checkout_redirect(request, subscriber, price_id)


# SUBSCRIPTION DEMO: examples of gating to copy from.


@require_GET
@subscriber_required
def demo(request):
    """Content that changes by plan, for anyone."""
    subscriber = request.subscriber
    summary = (
        get_subscription_summary(subscriber)
        if subscriber.has_active_subscription()
        else None
    )
    context = {"summary": summary}
    return _render(request, "subscriptions/demo/index.html", subscriber, context)


@require_GET
@active_subscription_required
def demo_subscribers(request, subscription_holder=None):
    """A page for any active subscriber."""
    return _render(
        request, "subscriptions/demo/subscribers.html", subscription_holder, {}
    )


@require_GET
@active_subscription_required(limit_to_plans=["pro", "business"])
def demo_pro(request, subscription_holder=None):
    """A page for the Pro plan and up."""
    return _render(request, "subscriptions/demo/pro.html", subscription_holder, {})


@require_GET
@active_subscription_required
def demo_billing(request, subscription_holder=None):
    """The plan, payment details and renewal date of the subscription."""
    context = {"summary": get_subscription_summary(subscription_holder)}
    return _render(
        request, "subscriptions/demo/billing.html", subscription_holder, context
    )
