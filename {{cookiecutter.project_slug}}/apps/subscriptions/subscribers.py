"""Who holds the subscription (`DJSTRIPE_SUBSCRIBER_MODEL`), and its billing URLs.

What depends on the subscriber's kind lives here, so the rest of the app reads the
same whoever is billed.
"""

from django.apps import apps
from django.conf import settings
from django.urls import reverse


def get_subscriber_model():
    return apps.get_model(settings.DJSTRIPE_SUBSCRIBER_MODEL)


def subscriber_reference(subscriber) -> str:
    """A string naming the subscriber, for `client_reference_id` and metadata."""
    return f"{subscriber._meta.label_lower}:{subscriber.pk}"


def subscriber_from_reference(reference: str | None):
    """The subscriber a `subscriber_reference()` string names, or None."""
    if not reference or ":" not in reference:
        return None
    label, _, pk = reference.rpartition(":")
    model = get_subscriber_model()
    if label != model._meta.label_lower:
        return None
    try:
        return model.objects.filter(pk=pk).first()
    except (ValueError, TypeError):
        return None


def subscriber_url_kwargs(subscriber) -> dict:
    """The URL kwargs of the billing pages of this subscriber."""
    # >>> team builds
    return {"team_slug": subscriber.slug}
    # <<< team builds
    # >>> user builds
    return {}
    # <<< user builds


def subscriber_reverse(name: str, subscriber) -> str:
    """Reverse a `subscriptions:` URL for this subscriber."""
    return reverse(f"subscriptions:{name}", kwargs=subscriber_url_kwargs(subscriber))


def subscriber_display_name(subscriber) -> str:
    return getattr(subscriber, "name", "") or getattr(subscriber, "email", "")


BILLING_URL_NAMES = (
    "subscription",
    "checkout",
    "portal",
    "demo",
    "demo_subscribers",
    "demo_pro",
    "demo_billing",
)


def billing_urls(subscriber) -> dict[str, str]:
    """The subscriber's billing page URLs by name, for templates."""
    return {name: subscriber_reverse(name, subscriber) for name in BILLING_URL_NAMES}
