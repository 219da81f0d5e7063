from django.urls import reverse

from apps.subscriptions.selectors import billing_alert


def billing(request):
    """The navigation's link to the user's own subscription page, and the banner of a
    payment the user owes."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "subscription_url": reverse("subscriptions:subscription"),
        "billing_alert": billing_alert(user),
    }
