"""Billing URLs, one set per subscriber."""

from django.urls import path

from . import views

app_name = "subscriptions"

# >>> team builds
# Each team's billing lives under the team's own URLs.
prefix = "a/<slug:team_slug>/"
# <<< team builds
# >>> user builds
prefix = ""
# <<< user builds

urlpatterns = [
    path(f"{prefix}subscription/", views.subscription, name="subscription"),
    path(f"{prefix}subscription/checkout/", views.create_checkout, name="checkout"),
    path(
        f"{prefix}subscription/confirm/",
        views.checkout_success,
        name="checkout_success",
    ),
    path(f"{prefix}subscription/portal/", views.billing_portal, name="portal"),
    path(f"{prefix}subscription/demo/", views.demo, name="demo"),
    path(
        f"{prefix}subscription/demo/subscribers/",
        views.demo_subscribers,
        name="demo_subscribers",
    ),
    path(f"{prefix}subscription/demo/pro/", views.demo_pro, name="demo_pro"),
    path(
        f"{prefix}subscription/demo/billing/", views.demo_billing, name="demo_billing"
    ),
]
