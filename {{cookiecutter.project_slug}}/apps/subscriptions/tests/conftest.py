"""Fixtures of the lifecycle tests: a log of every signal sent, and a subscriber
billed on an emulator test clock, its webhooks delivered through dj-stripe."""

from dataclasses import dataclass, field

import pytest
import stripe
from django.dispatch import Signal
from djstripe.models import Customer

from apps.subscriptions import signals
from apps.subscriptions.stripe_client import api_key, stripe_options
from apps.subscriptions.subscribers import subscriber_reference
from tests.processes import free_port

# Each signal once, by its first name (subscription_cancelled is the same object).
CATALOGUE = {}
for _name, _value in vars(signals).items():
    if isinstance(_value, Signal) and _value not in CATALOGUE.values():
        CATALOGUE[_name] = _value


@dataclass
class SignalLog:
    """Signals as they were sent: (name, sender, kwargs), oldest first."""

    sent: list = field(default_factory=list)

    def names(self, webhooks=False) -> list[str]:
        return [
            name
            for name, _, _ in self.sent
            if webhooks or not name.startswith("webhook_")
        ]

    def of(self, name) -> list[dict]:
        return [kwargs for sent, _, kwargs in self.sent if sent == name]

    def one(self, name) -> dict:
        [kwargs] = self.of(name)
        return kwargs

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def sent():
    """Every lifecycle signal sent during the test."""
    log = SignalLog()
    receivers = {}
    for name, signal in CATALOGUE.items():

        def receiver(sender, _name=name, **kwargs):
            kwargs.pop("signal", None)
            log.sent.append((_name, sender, kwargs))

        receivers[name] = receiver
        signal.connect(receiver, weak=False, dispatch_uid=f"test-log-{name}")
    yield log
    for name, signal in CATALOGUE.items():
        signal.disconnect(dispatch_uid=f"test-log-{name}")


@dataclass
class Billing:
    """A subscriber's billing in the emulator, on a test clock of its own."""

    emulator: object
    subscriber: object
    clock: str
    customer_id: str
    capture: object

    def deliver(self):
        """Deliver every queued webhook through dj-stripe and run what commits."""
        with self.capture(execute=True):
            attempts = self.emulator.deliver_webhooks()
        assert {a["status_code"] for a in attempts} <= {200}, attempts
        return attempts

    def advance(self, **kwargs):
        """Move the clock on, then deliver what it caused."""
        self.emulator.advance_clock(self.clock, **kwargs)
        return self.deliver()

    def subscribe(self, price, **params):
        """Create the subscription in Stripe (as Checkout would), then deliver."""
        subscription = stripe.Subscription.create(
            customer=self.customer_id,
            items=[{"price": price.id, "quantity": 1}],
            **params,
            **stripe_options(),
        )
        self.deliver()
        self.subscriber.refresh_from_db()
        return subscription

    def stripe_subscription(self):
        self.subscriber.refresh_from_db()
        return stripe.Subscription.retrieve(
            self.subscriber.subscription.id, **stripe_options()
        )


@pytest.fixture
def billing_at(
    stripe_emulator,
    stripe_catalogue,
    webhook_endpoint,
    subscriber,
    django_capture_on_commit_callbacks,
):
    """`billing_at(frozen_time=None, card=True)`: the subscriber's Stripe customer on
    a new test clock (at that time, else now), with a working card unless `card` is
    False."""

    def make(frozen_time=None, card=True) -> Billing:
        clock = stripe_emulator.create_test_clock(frozen_time)
        customer = stripe.Customer.create(
            email="billing@example.com",
            test_clock=clock,
            metadata={"subscriber": subscriber_reference(subscriber)},
            **stripe_options(),
        )
        if card:
            payment_method = stripe.PaymentMethod.attach(
                "pm_card_visa", customer=customer.id, **stripe_options()
            )
            stripe.Customer.modify(
                customer.id,
                invoice_settings={"default_payment_method": payment_method.id},
                **stripe_options(),
            )
        local = Customer.sync_from_stripe_data(
            stripe.Customer.retrieve(customer.id, **stripe_options()),
            api_key=api_key(),
        )
        local.subscriber = subscriber
        local.save(update_fields=["subscriber"])
        subscriber.customer = local
        subscriber.save(update_fields=["customer"])
        billing = Billing(
            stripe_emulator,
            subscriber,
            clock,
            customer.id,
            django_capture_on_commit_callbacks,
        )
        billing.deliver()
        return billing

    return make


@pytest.fixture
def billing(billing_at):
    """The subscriber's Stripe customer on a test clock at now, with a working card."""
    return billing_at()


@pytest.fixture
def pro(billing, stripe_catalogue, sent):
    """The subscriber on Pro (monthly), paid, webhooks delivered; the log empty."""
    subscription = billing.subscribe(stripe_catalogue["pro"])
    sent.clear()
    return subscription


@pytest.fixture
def unreachable_stripe(monkeypatch) -> str:
    """Point stripe-python at a closed local port, with no retries; its URL."""
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(stripe, "api_base", url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    return url
