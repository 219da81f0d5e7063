"""Subscribed subscribers against a Stripe (the emulator), for the seat-sync tests and
benchmark. Their seat counts are set here, not counted from members or anything else
the subscriber's own `get_quantity()` counts: the sync is what is under test.
"""

import contextlib
import uuid

import stripe
from django.contrib.auth import get_user_model
from djstripe.models import Customer, Price, Product, Subscription

from apps.subscriptions.linking import link_subscription
from apps.subscriptions.metadata import get_active_products
from apps.subscriptions.stripe_client import api_key, stripe_options
from apps.subscriptions.subscribers import billing_adapter, get_subscriber_model
from apps.subscriptions.sync import mark_billing_details_changed

# The seats of each subscriber (by pk) while `fixed_seat_counts()` is on.
SEATS: dict[int, int] = {}


@contextlib.contextmanager
def fixed_seat_counts():
    """Bill each subscriber for `SEATS[pk]` seats (1 if unset) while active."""
    model = get_subscriber_model()
    original = model.get_quantity
    model.get_quantity = lambda self: SEATS.get(self.pk, 1)
    try:
        yield SEATS
    finally:
        model.get_quantity = original
        SEATS.clear()


@contextlib.contextmanager
def tasks_queued_not_run():
    """Queued Celery tasks wait for a worker (none in tests) instead of running at
    once in the caller, as they do in production."""
    from config.celery_app import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = eager


def create_price(product_id: str | None = None, unit_amount: int = 1500) -> str:
    """A monthly per-seat price of a product on sale (made if missing), synced locally."""
    product_id = product_id or get_active_products()[0].stripe_id
    try:
        product = stripe.Product.retrieve(product_id, **stripe_options())
    except stripe.InvalidRequestError:
        product = stripe.Product.create(
            id=product_id, name=product_id.replace("_", " "), **stripe_options()
        )
    Product.sync_from_stripe_data(product, api_key=api_key())
    price = stripe.Price.create(
        product=product_id,
        unit_amount=unit_amount,
        currency="usd",
        recurring={"interval": "month"},
        **stripe_options(),
    )
    Price.sync_from_stripe_data(price, api_key=api_key())
    return price["id"]


def new_user():
    """A user with an address of its own, whichever process makes it."""
    email = f"seat-{uuid.uuid4().hex[:12]}@example.com"
    return get_user_model().objects.create_user(email=email)


def make_subscriber(seats: int = 1):
    """A new subscriber billed for `seats` seats."""
    subscriber = billing_adapter().create_subscriber(new_user())
    SEATS[subscriber.pk] = seats
    return subscriber


def set_seats(subscriber, seats: int) -> None:
    """Change the seat count, and mark the subscriber changed as the site would."""
    SEATS[subscriber.pk] = seats
    mark_billing_details_changed(subscriber)


def subscribe(subscriber, price_id: str, *, quantity=None, trial_days=None):
    """Subscribe through Stripe with a working card, link it, and mark it synced."""
    customer = stripe.Customer.create(
        email=f"billing{subscriber.pk}@example.com",
        payment_method="pm_card_visa",
        **stripe_options(),
    )
    # Mirrored first, as checkout does, so syncing the subscription finds it locally.
    Customer.sync_from_stripe_data(customer, api_key=api_key())
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


def copy_of(template, number: int):
    """An unsaved copy of a subscriber row, its unique values made unique again."""
    model = type(template)
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in ("customer", "subscription"):
            continue
        value = getattr(template, field.attname)
        if field.unique and isinstance(value, str):
            # "bulk7-acme" for a slug, "bulk7-ann@example.com" for an e-mail address.
            value = f"bulk{number}-{value}"
        values[field.attname] = value
    # In step with Stripe: synced up to its last change.
    values["last_synced_with_stripe"] = values["billing_details_last_changed"]
    return model(**values)


def bulk_synced_subscribers(template, count: int, start: int = 0) -> None:
    """`count` more subscribers in step with Stripe, copied from `template` in bulk.

    They stand for the many subscribers whose seats did not change: local rows only
    (a sync compares them with no call to Stripe), a few bulk inserts for any count,
    each billed for as many seats as the template's subscription says.
    """
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
    copies = []
    for n, (customer, subscription) in enumerate(
        zip(customers, subscriptions, strict=True)
    ):
        copy = copy_of(template, start + n)
        copy.customer, copy.subscription = customer, subscription
        copies.append(copy)
    seats = source.stripe_data["items"]["data"][0]["quantity"]
    for copy in type(template)._default_manager.bulk_create(copies):
        SEATS[copy.pk] = seats
