"""dj-stripe's webhook view, where the fixture delivers events in these tests."""

from django.urls import include, path

urlpatterns = [path("stripe/", include("djstripe.urls", namespace="djstripe"))]
