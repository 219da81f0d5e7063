"""Stripe's webhook URL, under dj-stripe's names (`djstripe:djstripe_webhook_by_uuid`)
that dj-stripe, its admin and `register_webhook_endpoint` reverse."""

from django.urls import path

from .webhook_view import StripeWebhookView

app_name = "djstripe"

urlpatterns = [
    path(
        "webhook/<uuid:uuid>/",
        StripeWebhookView.as_view(),
        name="djstripe_webhook_by_uuid",
    ),
]
