from django.db import models
from django.utils import timezone

from .stripe_data import grants_access, is_current_status


class SubscriptionModelBase(models.Model):
    """What a subscriber needs to hold a Stripe subscription.

    The Stripe objects themselves are dj-stripe rows; the subscriber only links to
    them and records when its billed quantity last changed and last reached Stripe.
    """

    customer = models.ForeignKey(
        "djstripe.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    subscription = models.ForeignKey(
        "djstripe.Subscription",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The subscription this subscriber is billed through.",
    )
    billing_details_last_changed = models.DateTimeField(
        default=timezone.now,
        help_text="When something that changes the billed quantity last changed.",
    )
    last_synced_with_stripe = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the billed quantity was last pushed to Stripe.",
    )

    class Meta:
        abstract = True

    def get_quantity(self) -> int:
        """The quantity to bill; override to bill per seat or per anything else."""
        return 1

    def has_active_subscription(self) -> bool:
        """Whether the linked subscription grants access now (from local rows).

        Its status counts as active (`SUBSCRIPTIONS_ACTIVE_STATUSES`); a past_due
        one only within the grace period (`SUBSCRIPTIONS_GRACE_PERIOD_DAYS`).
        """
        if self.subscription_id is None:
            return False
        return grants_access(self.subscription.stripe_data, timezone.now())

    def has_current_subscription(self) -> bool:
        """Whether the subscriber holds a subscription it pays, or owes, for.

        Its status counts as active, even past_due after the grace period, or it is
        unpaid, or paused (a trial that ended without a card, with
        `SUBSCRIPTIONS_TRIAL_END_BEHAVIOR` "pause"): the subscription page shows it
        with a way to pay or resume, and Checkout never sells a second subscription.
        """
        if self.subscription_id is None:
            return False
        return is_current_status(self.subscription.stripe_data.get("status"))


class PortalConfiguration(models.Model):
    """The Stripe customer portal configuration this site opens its sessions with.

    One per Stripe mode, written by `manage.py configure_billing_portal`, so that
    opening the portal needs no extra call to Stripe to find it.
    """

    livemode = models.BooleanField(
        unique=True, help_text="Whether the configuration is in live mode."
    )
    stripe_id = models.CharField(
        max_length=255, help_text="The configuration's id in Stripe (bpc_...)."
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "portal configuration"

    def __str__(self):
        return f"{self.stripe_id} ({'live' if self.livemode else 'test'} mode)"


class SubscriptionState(models.Model):
    """What the site last knew of a Stripe subscription, and acted on.

    `transitions.apply_subscription` compares Stripe's subscription with this row,
    sends the lifecycle signals of what differs and records the new state here, all
    in one transaction. dj-stripe's own Subscription row cannot serve as "before":
    dj-stripe rewrites it from every webhook before the site's handlers run.
    """

    subscription_id = models.CharField(
        max_length=255, unique=True, help_text="The subscription's id in Stripe."
    )
    status = models.CharField(
        max_length=32, blank=True, help_text="Empty until the site first sees it."
    )
    price_id = models.CharField(max_length=255, blank=True)
    product_id = models.CharField(max_length=255, blank=True)
    quantity = models.PositiveIntegerField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    cancel_at = models.DateTimeField(null=True, blank=True)
    pause_collection = models.CharField(
        max_length=32,
        blank=True,
        help_text="The behavior of a paused collection; empty when collecting.",
    )
    trial_will_end_sent_for = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The trial end that `subscription_trial_will_end` was sent for.",
    )
    version = models.PositiveIntegerField(
        default=0,
        help_text="Moves on with each change applied and each failed write: part "
        "of the idempotency keys of the site's own writes to Stripe.",
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "subscription state"

    def __str__(self):
        return f"{self.subscription_id} ({self.status or 'not seen yet'})"


class SignaledEvent(models.Model):
    """A Stripe event whose per-event signals (invoices, payments) have been sent.

    dj-stripe processes each event id once already; this keeps the signals to one
    even when an event is handled again (replayed by hand or by a reconciliation).
    """

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=250)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "signaled event"

    def __str__(self):
        return f"{self.type} {self.event_id}"
