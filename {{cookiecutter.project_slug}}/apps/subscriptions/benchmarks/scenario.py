"""Subscribed subscribers against a Stripe (the emulator), for seat-sync tests and
benchmarks. Seats are what the subscriber's `get_quantity()` counts (for users, an
override, as the per-seat docs show).
"""

import contextlib
import itertools

import stripe
from django.contrib.auth import get_user_model
from djstripe.models import Customer, Price, Product, Subscription

from apps.subscriptions.metadata import get_active_products
from apps.subscriptions.stripe_api import stripe_options
from apps.subscriptions.subscribers import get_subscriber_model
from apps.subscriptions.sync import link_subscription

_numbers = itertools.count(1)
# >>> user builds
# Seats of each user (by pk), read by `user_seat_counts()`.
USER_SEATS: dict[int, int] = {}
# <<< user builds


def create_price(product_id: str | None = None, unit_amount: int = 1500) -> str:
    """A monthly per-seat price of a kit product (made if missing), synced locally."""
    product_id = product_id or get_active_products()[0].stripe_id
    try:
        product = stripe.Product.retrieve(product_id, **stripe_options())
    except stripe.InvalidRequestError:
        product = stripe.Product.create(
            id=product_id, name=product_id.replace("_", " "), **stripe_options()
        )
    Product.sync_from_stripe_data(product, api_key=stripe_options()["api_key"])
    price = stripe.Price.create(
        product=product_id,
        unit_amount=unit_amount,
        currency="usd",
        recurring={"interval": "month"},
        **stripe_options(),
    )
    Price.sync_from_stripe_data(price, api_key=stripe_options()["api_key"])
    return price["id"]


def _new_user():
    number = next(_numbers)
    return get_user_model().objects.create_user(email=f"seat{number}@example.com")


def make_subscriber(seats: int = 1):
    """A subscriber billed for `seats` seats."""
    # >>> team builds
    from apps.teams.models import Membership, Team

    number = next(_numbers)
    team = Team.objects.create(name=f"Seats {number}", slug=f"seats-{number}")
    for index in range(seats):
        role = Membership.Role.ADMIN if index == 0 else Membership.Role.MEMBER
        Membership.objects.create(team=team, user=_new_user(), role=role)
    return team
    # <<< team builds
    # >>> user builds
    user = _new_user()
    USER_SEATS[user.pk] = seats
    return user
    # <<< user builds


def set_seats(subscriber, seats: int) -> None:
    """Add or remove seats as the site would, which marks the subscriber changed."""
    # >>> team builds
    from apps.teams.models import Membership

    memberships = list(subscriber.memberships.order_by("-created_at"))
    for membership in memberships[: max(0, len(memberships) - seats)]:
        membership.delete()
    for _ in range(seats - len(memberships)):
        Membership.objects.create(team=subscriber, user=_new_user())
    # <<< team builds
    # >>> user builds
    from apps.subscriptions.sync import mark_billing_details_changed

    USER_SEATS[subscriber.pk] = seats
    mark_billing_details_changed(subscriber)
    # <<< user builds


@contextlib.contextmanager
def user_seat_counts():
    """Where users are billed, bill each for `USER_SEATS[pk]` seats while active."""
    # >>> team builds
    # A team's seats are its members: nothing to stand in for.
    yield
    # <<< team builds
    # >>> user builds
    model = get_subscriber_model()
    original = model.get_quantity
    model.get_quantity = lambda self: USER_SEATS.get(self.pk, 1)
    try:
        yield
    finally:
        model.get_quantity = original
    # <<< user builds


def subscribe(subscriber, price_id: str, *, quantity=None, trial_days=None):
    """Subscribe through Stripe with a working card, link it, and mark it synced."""
    customer = stripe.Customer.create(
        email=f"billing{subscriber.pk}@example.com",
        payment_method="pm_card_visa",
        **stripe_options(),
    )
    # Mirrored first, as checkout does, so syncing the subscription finds it locally.
    Customer.sync_from_stripe_data(customer, api_key=stripe_options()["api_key"])
    params = {"trial_period_days": trial_days} if trial_days else {}
    stripe_subscription = stripe.Subscription.create(
        customer=customer["id"],
        items=[{"price": price_id, "quantity": quantity or subscriber.get_quantity()}],
        **params,
        **stripe_options(),
    )
    link_subscription(subscriber, stripe_subscription)
    mark_synced(subscriber)
    return stripe_subscription


def mark_synced(subscriber) -> None:
    """Record the subscriber as in step with Stripe, as a finished sync leaves it."""
    subscriber.refresh_from_db()
    type(subscriber)._default_manager.filter(pk=subscriber.pk).update(
        last_synced_with_stripe=subscriber.billing_details_last_changed
    )
    subscriber.refresh_from_db()


def stripe_quantity(subscriber) -> int:
    """The quantity of the subscriber's subscription item, as Stripe has it now."""
    subscription = stripe.Subscription.retrieve(
        subscriber.subscription.id, **stripe_options()
    )
    return subscription["items"]["data"][0]["quantity"]


def bulk_synced_subscribers(template, count: int, start: int = 0) -> None:
    """`count` more subscribers in step with Stripe, copied from `template` in bulk.

    They stand for the many subscribers whose seats did not change: local rows only
    (a sync never reads them), a few bulk inserts for any count.
    """
    model = get_subscriber_model()
    source = template.subscription
    customers = Customer.objects.bulk_create(
        Customer(
            id=f"cus_bulk{start + n:08d}",
            livemode=source.livemode,
            stripe_data={
                **source.customer.stripe_data,
                "id": f"cus_bulk{start + n:08d}",
            },
            djstripe_owner_account=source.djstripe_owner_account,
        )
        for n in range(count)
    )
    subscriptions = Subscription.objects.bulk_create(
        Subscription(
            id=f"sub_bulk{start + n:08d}",
            customer=customer,
            livemode=source.livemode,
            stripe_data={
                **source.stripe_data,
                "id": f"sub_bulk{start + n:08d}",
                "customer": customer.id,
            },
            djstripe_owner_account=source.djstripe_owner_account,
        )
        for n, customer in enumerate(customers)
    )
    synced = template.billing_details_last_changed
    pairs = list(zip(customers, subscriptions, strict=True))
    # >>> team builds
    from apps.teams.models import Membership

    teams = model.objects.bulk_create(
        model(
            name=f"Bulk {start + n}",
            slug=f"bulk-{start + n}",
            customer=customer,
            subscription=subscription,
            billing_details_last_changed=synced,
            last_synced_with_stripe=synced,
        )
        for n, (customer, subscription) in enumerate(pairs)
    )
    owner = _new_user()
    # bulk_create sends no signals, so these members leave the teams in step.
    Membership.objects.bulk_create(
        Membership(team=team, user=owner, role=Membership.Role.ADMIN) for team in teams
    )
    # <<< team builds
    # >>> user builds
    model.objects.bulk_create(
        model(
            email=f"bulk{start + n}@example.com",
            customer=customer,
            subscription=subscription,
            billing_details_last_changed=synced,
            last_synced_with_stripe=synced,
        )
        for n, (customer, subscription) in enumerate(pairs)
    )
    # <<< user builds
