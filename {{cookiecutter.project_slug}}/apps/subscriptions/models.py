from django.db import models
from django.utils import timezone

from .stripe_data import is_active_status


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
        """Whether the linked subscription's status counts as active (from local rows)."""
        if self.subscription_id is None:
            return False
        return is_active_status(self.subscription.stripe_data.get("status"))
