"""Access to views: the request's subscriber, who may manage its billing, and gating on
an active subscription (optionally on particular plans)."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.text import get_text_list

from .metadata import get_product_metadata_by_slug
from .selectors import subscription_plan
from .stripe_data import is_owing_status
from .subscribers import billing_adapter, subscriber_reverse


def subscriber_required(view):
    """Give the view `request.subscriber` and `request.can_manage_billing`.

    The subscriber comes from the billing adapter, which takes the URL keyword
    arguments that name it, so the view's signature is `view(request, *args,
    **kwargs)` whoever the subscriber is. Someone who may not see that subscriber's
    billing gets a 404.
    """

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        adapter = billing_adapter()
        lookup = {name: kwargs.pop(name) for name in adapter.URL_KWARGS}
        access = adapter.get_billing_access(request, **lookup)
        request.subscriber = access.subscriber
        request.can_manage_billing = access.can_manage
        return view(request, *args, **kwargs)

    return wrapper


def billing_manager_required(view):
    """Like `subscriber_required`, and 403 for those who may not change the billing."""

    @subscriber_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.can_manage_billing:
            raise PermissionDenied("You cannot change this billing.")
        return view(request, *args, **kwargs)

    return wrapper


def _plan_names(slugs) -> str:
    names = []
    for slug in slugs:
        product = get_product_metadata_by_slug(slug)
        names.append(product.name if product else slug)
    return get_text_list(names, "or")


PAYMENT_OVERDUE = (
    "A payment is overdue, so this page is closed until it is paid: update the "
    "card on this page and the amount due is charged to it."
)
SUBSCRIPTION_PAUSED = (
    "The subscription is paused, so this page is closed: resume it on the "
    "subscription page."
)


def _refusal(subscriber, limit_to_plans) -> str:
    """Why the gate stays closed, and what opens it."""
    # The linked row is loaded already (`has_active_subscription`): no query.
    subscription = subscriber.subscription if subscriber.subscription_id else None
    overdue = subscription is not None and is_owing_status(
        subscription.stripe_data.get("status")
    )
    if overdue and not subscriber.has_active_subscription():
        return PAYMENT_OVERDUE
    if subscription is not None and subscription.stripe_data.get("status") == "paused":
        return SUBSCRIPTION_PAUSED
    if limit_to_plans:
        return f"This page needs the {_plan_names(limit_to_plans)} plan."
    return "This page needs an active subscription."


def _is_allowed(subscriber, limit_to_plans) -> bool:
    # One query at most: the subscriber's linked subscription row.
    if not subscriber.has_active_subscription():
        return False
    if not limit_to_plans:
        return True
    plan = subscription_plan(subscriber.subscription)
    return plan is not None and plan.slug in limit_to_plans


def active_subscription_required(view=None, *, limit_to_plans=None):
    """Let the view run only for a subscriber with an active subscription.

    Use bare or as `@active_subscription_required(limit_to_plans=["pro"])` with
    slugs from `metadata.py`. The view gets `subscription_holder` (the subscriber);
    others are sent to the subscription page with a message naming the plans that
    unlock it (or, when a payment is overdue past its grace period, saying how to
    pay), and anonymous users to log in.
    """
    limit_to_plans = list(limit_to_plans or [])

    def decorator(view_func):
        @subscriber_required
        @wraps(view_func)
        def gate(request, *args, **kwargs):
            subscriber = request.subscriber
            if not _is_allowed(subscriber, limit_to_plans):
                messages.info(request, _refusal(subscriber, limit_to_plans))
                return redirect(subscriber_reverse("subscription", subscriber))
            return view_func(request, *args, subscription_holder=subscriber, **kwargs)

        return gate

    if view is not None:
        return decorator(view)
    return decorator


class ActiveSubscriptionRequiredMixin:
    """Class-based view form: set `limit_to_plans` to restrict to plan slugs.

    The view finds the subscriber in `self.subscription_holder`.
    """

    limit_to_plans: list[str] = []

    def dispatch(self, request, *args, **kwargs):
        @active_subscription_required(limit_to_plans=self.limit_to_plans)
        def gated(request, *args, subscription_holder, **kwargs):
            self.subscription_holder = subscription_holder
            return super(ActiveSubscriptionRequiredMixin, self).dispatch(
                request, *args, **kwargs
            )

        return gated(request, *args, **kwargs)
