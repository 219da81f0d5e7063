"""The site's URLs plus gated views, mounted where the site mounts its billing pages
(so they take the same URL arguments): one view three ways, to count what the gate
adds, and the gating examples of the docs as written there."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.generic import View

from apps.subscriptions.decorators import (
    ActiveSubscriptionRequiredMixin,
    active_subscription_required,
    subscriber_required,
)
from config.urls import urlpatterns as site_urlpatterns


def plain(request, subscription_holder=None):
    return HttpResponse(f"ok {subscription_holder.pk if subscription_holder else ''}")


class GatedView(ActiveSubscriptionRequiredMixin, View):
    limit_to_plans = ["pro", "business"]

    def get(self, request, *args, **kwargs):
        return HttpResponse(f"ok {self.subscription_holder.pk}")


# The examples of the docs, pasted as they are written there.
@active_subscription_required
def subscription_gated_page(request, subscription_holder=None):
    return HttpResponse(f"gated {subscription_holder.pk}")


@active_subscription_required(limit_to_plans=["pro", "enterprise"])
def pro_or_enterprise_page(request, subscription_holder=None):
    return HttpResponse(f"pro {subscription_holder.pk}")


gate_urlpatterns = [
    # The access check every billing view has anyway, without the gate.
    path("gate/plain/", subscriber_required(plain), name="gate_plain"),
    path("gate/any/", active_subscription_required(plain), name="gate_any"),
    path(
        "gate/pro/",
        active_subscription_required(limit_to_plans=["pro", "business"])(plain),
        name="gate_pro",
    ),
    path("gate/class/", GatedView.as_view(), name="gate_class"),
    path("gate/example/", subscription_gated_page, name="gate_example"),
    path("gate/example-pro/", pro_or_enterprise_page, name="gate_example_pro"),
]

billing_pages = next(
    pattern
    for pattern in site_urlpatterns
    if getattr(pattern, "namespace", None) == "subscriptions"
)

urlpatterns = [
    path("", include("config.urls")),
    path(str(billing_pages.pattern), include(gate_urlpatterns)),
]
