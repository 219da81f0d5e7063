"""The site's URLs plus one view three ways, to count what the gate adds."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path
from django.views.generic import View

from apps.subscriptions.decorators import (
    ActiveSubscriptionRequiredMixin,
    active_subscription_required,
)
from apps.subscriptions.subscribers import subscriber_is_user


def plain(request, team_slug=None, **kwargs):
    holder = kwargs.get("subscription_holder")
    return HttpResponse(f"ok {holder.pk if holder else ''}")


def _access_only(view):
    """The access check every billing view has anyway, without the gate."""
    # >>> team builds
    if not subscriber_is_user():
        from apps.teams.decorators import team_member_required

        return team_member_required(view)
    # <<< team builds
    return login_required(view)


class GatedView(ActiveSubscriptionRequiredMixin, View):
    limit_to_plans = ["pro", "business"]

    def get(self, request, *args, **kwargs):
        return HttpResponse(f"ok {self.subscription_holder.pk}")


prefix = "" if subscriber_is_user() else "a/<slug:team_slug>/"

urlpatterns = [
    path("", include("config.urls")),
    path(f"{prefix}gate/plain/", _access_only(plain), name="gate_plain"),
    path(f"{prefix}gate/any/", active_subscription_required(plain), name="gate_any"),
    path(
        f"{prefix}gate/pro/",
        active_subscription_required(limit_to_plans=["pro", "business"])(plain),
        name="gate_pro",
    ),
    path(f"{prefix}gate/class/", GatedView.as_view(), name="gate_class"),
]
