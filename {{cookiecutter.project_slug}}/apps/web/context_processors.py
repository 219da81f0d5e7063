from django.conf import settings
# >>> user builds
from django.urls import reverse
# <<< user builds


def site(request):
    """Site-wide names, and the navigation's link to the subscription page."""
    context = {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_DESCRIPTION": settings.SITE_DESCRIPTION,
    }
    # >>> team builds
    # The teams context processor links to the current team's subscription page.
    # <<< team builds
    # >>> user builds
    context["subscription_url"] = reverse("subscriptions:subscription")
    # <<< user builds
    return context
