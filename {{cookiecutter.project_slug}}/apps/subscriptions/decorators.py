"""Gating views on an active subscription, and optionally on particular plans."""

from functools import wraps

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.text import get_text_list

from .access import with_subscriber
from .metadata import get_product_metadata_by_slug
from .selectors import subscription_plan
from .subscribers import subscriber_reverse


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

        return with_subscriber(gate)

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
