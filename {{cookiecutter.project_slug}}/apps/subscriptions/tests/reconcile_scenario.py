"""Many subscriptions in Stripe (the emulator) that the site already holds, for the
reconciliation's scale test and benchmark.

They are made through Stripe's API, as the reconciliation lists them, and mirrored
locally in bulk as applying each would leave it (dj-stripe rows of the subscription,
its customer and items, the recorded state, a subscriber linked to it): a few bulk inserts for any count, where applying them
one by one would cost more than what is measured.
"""

import stripe
from djstripe.models import Customer, Price, Subscription, SubscriptionItem

from apps.subscriptions.models import SubscriptionState
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.transitions import SNAPSHOT_FIELDS, Snapshot

from .seat_scenario import copy_of


def create_in_stripe(count: int, price_id: str) -> list[tuple]:
    """`count` customers, each with an active subscription to `price_id`."""
    made = []
    for n in range(count):
        customer = stripe.Customer.create(
            email=f"many{n}@example.com",
            payment_method="pm_card_visa",
            **stripe_options(),
        )
        subscription = stripe.Subscription.create(
            customer=customer.id, items=[{"price": price_id}], **stripe_options()
        )
        made.append((customer, subscription))
    return made


def mirror_in_bulk(template, made: list[tuple], start: int = 0) -> None:
    """Hold `made` locally as if each had been applied: rows, state and a linked
    subscriber copied from `template` (a subscriber subscribed the normal way)."""
    account = template.subscription.djstripe_owner_account
    customers = Customer.objects.bulk_create(
        Customer(
            id=customer.id,
            livemode=False,
            stripe_data=customer.to_dict(for_json=True),
            djstripe_owner_account=account,
        )
        for customer, _ in made
    )
    subscriptions = Subscription.objects.bulk_create(
        Subscription(
            id=subscription.id,
            customer=local_customer,
            livemode=False,
            stripe_data=subscription.to_dict(for_json=True),
            djstripe_owner_account=account,
        )
        for local_customer, (_, subscription) in zip(customers, made, strict=True)
    )
    prices = {price.id: price for price in Price.objects.all()}
    SubscriptionItem.objects.bulk_create(
        SubscriptionItem(
            id=item.id,
            subscription=local,
            price=prices[item.price.id],
            livemode=False,
            stripe_data=item.to_dict(for_json=True),
            djstripe_owner_account=account,
        )
        for local, (_, subscription) in zip(subscriptions, made, strict=True)
        for item in subscription["items"].data
    )
    SubscriptionState.objects.bulk_create(
        SubscriptionState(
            subscription_id=subscription.id,
            version=1,
            **{
                name: getattr(Snapshot.of(subscription), name)
                for name in SNAPSHOT_FIELDS
            },
        )
        for _, subscription in made
    )
    copies = []
    for n, (customer, subscription) in enumerate(
        zip(customers, subscriptions, strict=True)
    ):
        copy = copy_of(template, start + n)
        copy.customer, copy.subscription = customer, subscription
        copies.append(copy)
    type(template)._default_manager.bulk_create(copies)


def drift(subscription_ids: list[str], round_: int) -> None:
    """Change each subscription in Stripe with no webhook delivered: set to end at
    the period end in even rounds, called off in odd ones (so it can drift again)."""
    for subscription_id in subscription_ids:
        stripe.Subscription.modify(
            subscription_id, cancel_at_period_end=round_ % 2 == 0, **stripe_options()
        )
