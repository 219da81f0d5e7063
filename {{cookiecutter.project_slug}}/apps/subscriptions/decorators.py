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
    unlock it, and anonymous users to log in.
    """
    limit_to_plans = list(limit_to_plans or [])

    def decorator(view_func):
        @subscriber_required
        @wraps(view_func)
        def gate(request, *args, **kwargs):
            subscriber = request.subscriber
            if not _is_allowed(subscriber, limit_to_plans):
                if limit_to_plans:
                    needed = f"the {_plan_names(limit_to_plans)} plan"
                else:
                    needed = "an active subscription"
                messages.info(request, f"This page needs {needed}.")
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
