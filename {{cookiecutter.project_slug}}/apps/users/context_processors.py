from django.urls import reverse


def billing(request):
    """The navigation's link to the user's own subscription page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"subscription_url": reverse("subscriptions:subscription")}
