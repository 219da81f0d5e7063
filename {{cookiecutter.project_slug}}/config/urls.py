"""Root URLs: the site's apps, accounts (allauth), Stripe webhooks and the admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views import defaults as default_views

urlpatterns = [
    path("", include("apps.web.urls", namespace="web")),
{%- if cookiecutter.billing_subject == "team" %}
    path("", include("apps.teams.urls", namespace="teams")),
{%- endif %}
    path("", include("apps.subscriptions.urls", namespace="subscriptions")),
    path("accounts/", include("allauth.urls")),
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    path(settings.DJANGO_ADMIN_URL, admin.site.urls),
]

if settings.DEBUG:
    # Lets the error pages be seen while developing.
    urlpatterns += [
        path("404/", default_views.page_not_found, {"exception": Exception()}),
        path("500/", default_views.server_error),
    ]
