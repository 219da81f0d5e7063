"""Who holds the subscription (`DJSTRIPE_SUBSCRIBER_MODEL`), through its billing adapter.

The subscriber's own app provides a small adapter module, named by
`SUBSCRIPTIONS_BILLING_ADAPTER`, with:

- `URL_KWARGS`: the URL keyword arguments that name a subscriber in its page URLs;
- `get_billing_access(request, **url_kwargs)`: the request's `BillingAccess`, or
  `Http404` for someone who may not see that subscriber's billing;
- `url_kwargs(subscriber)`: the URL keyword arguments of its billing pages;
- `create_subscriber(owner)`: the subscriber a user starts with and manages;
- `managed_subscriber(user)`: the subscriber whose billing the user manages first;
- `billing_managers(subscriber)`: the active users who manage its billing, the
  recipients of the customer e-mails (`customer_emails.py`).

Everything else in this app reads the same whoever is billed.
"""

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from types import ModuleType

from django.apps import apps
from django.conf import settings
from django.urls import reverse
from djstripe.models import Customer


@dataclass(frozen=True)
class BillingAccess:
    """The subscriber a request may see, and whether it may also change its billing."""

    subscriber: object
    can_manage: bool


@cache
def _load_adapter(path: str) -> ModuleType:
    return import_module(path)


def billing_adapter() -> ModuleType:
    """The subscriber app's adapter module (`SUBSCRIPTIONS_BILLING_ADAPTER`)."""
    return _load_adapter(settings.SUBSCRIPTIONS_BILLING_ADAPTER)


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


def find_subscriber(subscription_id, customer_id=None, reference=None):
    """The subscriber of a subscription, from local rows: the one linked to it, else
    the owner of its customer, else the one its metadata `reference` names."""
    model = get_subscriber_model()
    subscriber = None
    if subscription_id:
        subscriber = model.objects.filter(subscription__id=subscription_id).first()
    if subscriber is None and customer_id:
        subscriber = model.objects.filter(customer__id=customer_id).first()
        if subscriber is None:
            owner = Customer.objects.filter(id=customer_id).values("subscriber")[:1]
            subscriber = model.objects.filter(pk__in=owner).first()
    return subscriber or subscriber_from_reference(reference)


def subscriber_for_subscription(subscription):
    """The subscriber linked to, or owning the customer of, a dj-stripe Subscription."""
    return find_subscriber(subscription.id, subscription.customer_id)


def subscriber_display_name(subscriber) -> str:
    return getattr(subscriber, "name", "") or getattr(subscriber, "email", "")


def subscriber_reverse(name: str, subscriber) -> str:
    """Reverse a `subscriptions:` URL for this subscriber."""
    kwargs = billing_adapter().url_kwargs(subscriber)
    return reverse(f"subscriptions:{name}", kwargs=kwargs)


BILLING_URL_NAMES = (
    "subscription",
    "checkout",
    "buy",
    "promotion_code",
    "portal",
    "update_card",
    "resume",
    "demo",
    "demo_subscribers",
    "demo_pro",
    "demo_billing",
)


def billing_urls(subscriber) -> dict[str, str]:
    """The subscriber's billing page URLs by name, for templates."""
    return {name: subscriber_reverse(name, subscriber) for name in BILLING_URL_NAMES}
