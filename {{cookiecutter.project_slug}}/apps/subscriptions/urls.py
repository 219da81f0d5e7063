"""Billing URLs of one subscriber; `config/urls.py` mounts them under its prefix."""

from django.urls import path

from . import views

app_name = "subscriptions"

urlpatterns = [
    path("subscription/", views.subscription, name="subscription"),
    path("subscription/checkout/", views.create_checkout, name="checkout"),
    path("subscription/confirm/", views.checkout_success, name="checkout_success"),
    path("subscription/buy/", views.buy, name="buy"),
    path(
        "subscription/purchase/",
        views.purchase_success,
        name="purchase_success",
    ),
    path(
        "subscription/promotion-code/",
        views.apply_promotion_code,
        name="promotion_code",
    ),
    path("subscription/portal/", views.billing_portal, name="portal"),
    path("subscription/resume/", views.resume_subscription, name="resume"),
    path("subscription/card/", views.update_card, name="update_card"),
    path("subscription/demo/", views.demo, name="demo"),
    path(
        "subscription/demo/subscribers/",
        views.demo_subscribers,
        name="demo_subscribers",
    ),
    path("subscription/demo/pro/", views.demo_pro, name="demo_pro"),
    path("subscription/demo/billing/", views.demo_billing, name="demo_billing"),
]
