from django.conf import settings
from django.urls import NoReverseMatch, reverse


def subscription_url(team=None) -> str:
    """The billing page (of `team` in team builds), or "" while billing has none."""
    kwargs = {"team_slug": team.slug} if team is not None else {}
    try:
        return reverse("subscriptions:subscription", kwargs=kwargs)
    except NoReverseMatch:
        return ""


def site(request):
    """Site-wide names, and the navigation's link to the subscription page."""
    return {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_DESCRIPTION": settings.SITE_DESCRIPTION,
        "subscription_url": subscription_url(getattr(request, "team", None)),
    }
