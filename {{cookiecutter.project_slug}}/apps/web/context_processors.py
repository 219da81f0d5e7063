from django.conf import settings
from django.urls import NoReverseMatch, reverse


def site(request):
    """Site-wide names and the navigation links that depend on installed apps."""
    return {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_DESCRIPTION": settings.SITE_DESCRIPTION,
        "subscription_url": _subscription_url(request),
    }


def _subscription_url(request) -> str:
    """The billing page for the current subscriber, or "" while billing has none."""
    team = getattr(request, "team", None)
    attempts = [{"team_slug": team.slug}] if team is not None else []
    attempts.append({})
    for kwargs in attempts:
        try:
            return reverse("subscriptions:subscription", kwargs=kwargs)
        except NoReverseMatch:
            continue
    return ""
