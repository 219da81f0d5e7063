"""Billing pages: thin views over checkout.py, portal.py, linking.py and selectors.py."""

import logging

import stripe
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import checkout, linking, portal
from .decorators import (
    active_subscription_required,
    billing_manager_required,
    subscriber_required,
)
from .metadata import get_active_plan_intervals
from .selectors import billed_quantity, get_plan_choices, get_subscription_summary
from .subscribers import billing_urls, subscriber_reverse

logger = logging.getLogger(__name__)

STRIPE_UNAVAILABLE = "Billing is unavailable right now; please try again shortly."


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


def _stripe_unavailable(request, subscriber, doing: str):
    """Log a failed Stripe call and send the customer back with a message."""
    logger.exception("Could not %s for %s", doing, subscriber)
    messages.error(request, STRIPE_UNAVAILABLE)
    return redirect(subscriber_reverse("subscription", subscriber))


@require_GET
@subscriber_required
def subscription(request):
    """The plans to choose from, or the current subscription and its billing."""
    subscriber = request.subscriber
    if request.GET.get("from") == "portal":
        # Show what was just changed in the portal even before its webhook lands.
        try:
            linking.refresh_subscription(subscriber)
        except stripe.StripeError:
            logger.warning("Could not refresh %s after the portal", subscriber)
        return redirect(subscriber_reverse("subscription", subscriber))
    summary = None
    if subscriber.has_active_subscription():
        summary = get_subscription_summary(subscriber)
    quantity = billed_quantity(subscriber)
    context = {
        "can_manage": request.can_manage_billing,
        "summary": summary,
        "plans": [] if summary else get_plan_choices(quantity),
        "intervals": get_active_plan_intervals(),
        "quantity": quantity,
    }
    return _render(request, "subscriptions/subscription.html", subscriber, context)


@require_POST
@billing_manager_required
def create_checkout(request):
    """Send the subscriber to Stripe Checkout for the chosen price (400 if invalid)."""
    subscriber = request.subscriber
    success_url = _billing_url(request, "checkout_success", subscriber)
    try:
        target = checkout.start_checkout(
            subscriber,
            request.POST.get("price_id"),
            email=request.user.email,
            success_url=success_url + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=_billing_url(request, "subscription", subscriber),
            return_url=_billing_url(request, "subscription", subscriber)
            + "?from=portal",
        )
    except checkout.InvalidPrice:
        return HttpResponseBadRequest("That price is not for sale here.")
    except stripe.StripeError:
        return _stripe_unavailable(request, subscriber, "start Checkout")
    if target.to_portal:
        messages.info(request, "You are already subscribed: manage your plan here.")
    return redirect(target.url)


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


@require_POST
@billing_manager_required
def billing_portal(request):
    """Send the subscriber to Stripe's customer portal."""
    subscriber = request.subscriber
    return_url = _billing_url(request, "subscription", subscriber) + "?from=portal"
    try:
        url = portal.create_portal_session(subscriber, return_url)
    except portal.NoBillingAccount:
        messages.info(request, "Choose a plan first: there is no billing to manage.")
        return redirect(subscriber_reverse("subscription", subscriber))
    except stripe.StripeError:
        return _stripe_unavailable(request, subscriber, "open the billing portal")
    return redirect(url)


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
