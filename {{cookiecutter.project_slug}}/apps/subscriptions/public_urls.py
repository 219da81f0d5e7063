"""Billing pages for anyone: `config/urls.py` mounts them at the site's root."""

from django.urls import path

from . import views

app_name = "pricing"

urlpatterns = [
    path("pricing/", views.pricing, name="pricing"),
    path(
        "pricing/checkout/<str:price_id>/",
        views.pricing_checkout,
        name="checkout",
    ),
]
