"""How a user is billed: the adapter `apps.subscriptions` reads through the setting
`SUBSCRIPTIONS_BILLING_ADAPTER`. Each user sees and manages their own billing."""

from apps.subscriptions.subscribers import BillingAccess

# A user's billing pages need nothing in the URL: the subscriber is the user.
URL_KWARGS = ()


def get_billing_access(request) -> BillingAccess:
    return BillingAccess(request.user, can_manage=True)


def url_kwargs(user) -> dict:
    return {}


def create_subscriber(owner):
    """A user is their own subscriber: nothing to create."""
    return owner


def managed_subscriber(user):
    """The user manages their own billing."""
    return user


def billing_managers(user) -> list:
    """The user, who gets their own billing e-mails (none once deactivated)."""
    return [user] if user.is_active else []
