"""The site's URLs plus one view three ways, to count what the gate adds."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.generic import View

from apps.subscriptions.access import with_subscriber
from apps.subscriptions.decorators import (
    ActiveSubscriptionRequiredMixin,
    active_subscription_required,
)
from apps.subscriptions.urls import prefix


def plain(request, subscription_holder=None):
    return HttpResponse(f"ok {subscription_holder.pk if subscription_holder else ''}")


class GatedView(ActiveSubscriptionRequiredMixin, View):
    limit_to_plans = ["pro", "business"]

    def get(self, request, *args, **kwargs):
        return HttpResponse(f"ok {self.subscription_holder.pk}")


urlpatterns = [
    path("", include("config.urls")),
    # The access check every billing view has anyway, without the gate.
    path(f"{prefix}gate/plain/", with_subscriber(plain), name="gate_plain"),
    path(f"{prefix}gate/any/", active_subscription_required(plain), name="gate_any"),
    path(
        f"{prefix}gate/pro/",
        active_subscription_required(limit_to_plans=["pro", "business"])(plain),
        name="gate_pro",
    ),
    path(f"{prefix}gate/class/", GatedView.as_view(), name="gate_class"),
]
