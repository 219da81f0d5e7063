"""Billing URLs: under /a/<team_slug>/ in team builds, at the root in user builds."""

from django.urls import path

from . import views
from .subscribers import subscriber_is_user

app_name = "subscriptions"

prefix = "" if subscriber_is_user() else "a/<slug:team_slug>/"

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
