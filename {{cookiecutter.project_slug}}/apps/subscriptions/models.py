from django.db import models
from django.utils import timezone

from .money import format_amount
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


class Purchase(models.Model):
    """A one-off purchase (Checkout in payment mode), recorded once it is paid.

    The row is made by `purchases.fulfil_purchase` once per Checkout session (the
    unique `checkout_session_id`), whichever of the return page and the
    `checkout.session.completed` webhook comes first: making it is what sends
    `purchase_completed` and `payment_succeeded`, so they go out once. A session
    that was never paid (a declined card, an expired session) leaves no row.
    """

    class Kind(models.TextChoices):
        ONE_TIME = "one_time", "One-off purchase"
        TOP_UP = "top_up", "Wallet top-up"

    checkout_session_id = models.CharField(max_length=255, unique=True)
    customer = models.ForeignKey(
        "djstripe.Customer", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    product_id = models.CharField(max_length=255)
    price_id = models.CharField(max_length=255)
    quantity = models.PositiveIntegerField(default=1)
    description = models.CharField(max_length=255, blank=True)
    # In the currency's smallest unit, as Stripe counts: what was paid, before any
    # discount, and the discount.
    amount = models.PositiveIntegerField()
    amount_subtotal = models.PositiveIntegerField(default=0)
    amount_discount = models.PositiveIntegerField(default=0)
    amount_refunded = models.PositiveIntegerField(
        default=0, help_text="As Stripe's charge says, after the latest refund seen."
    )
    currency = models.CharField(max_length=3)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    receipt_url = models.URLField(max_length=500, blank=True)
    created = models.DateTimeField(help_text="When it was paid.")

    class Meta:
        verbose_name = "purchase"

    def __str__(self):
        return f"{self.description or self.product_id} ({self.checkout_session_id})"

    @property
    def amount_refundable(self) -> int:
        return max(self.amount - self.amount_refunded, 0)


class PaymentRefund(models.Model):
    """A refund of one of a subscriber's payments, recorded once per Stripe refund.

    Made by `refunds.record_refund`, whichever of the site's own refund (the admin
    action) and Stripe's webhooks (`refund.created`, `charge.refunded`: a refund
    made in Stripe's dashboard) sees it first; making it is what sends
    `payment_refunded`. What it refunded is a one-off `purchase`, or the payment of
    the invoice `invoice_id`.
    """

    refund_id = models.CharField(max_length=255, unique=True)
    customer = models.ForeignKey(
        "djstripe.Customer", on_delete=models.CASCADE, related_name="+"
    )
    charge_id = models.CharField(max_length=255, db_index=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    invoice_id = models.CharField(max_length=255, blank=True, db_index=True)
    purchase = models.ForeignKey(
        Purchase,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="refunds",
    )
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(
        max_length=32, blank=True, help_text="Stripe's reason, e.g. duplicate."
    )
    note = models.CharField(
        max_length=500, blank=True, help_text="Why, in the words of who refunded."
    )
    status = models.CharField(max_length=32, blank=True)
    created = models.DateTimeField()

    class Meta:
        verbose_name = "payment refund"

    def __str__(self):
        return f"{self.refund_id} of {self.charge_id}"


class CustomerBalanceTransaction(models.Model):
    """A mirror of one entry of a customer's Stripe balance (the wallet).

    dj-stripe 2.11 keeps no such rows, and a page never calls Stripe: the site
    records the entries it makes itself (top-ups, the admin's credits and debits)
    and those Stripe reports (`customer.updated`, `customer_balance_transaction.created`:
    what an invoice used, a credit made in the dashboard). Negative amounts are
    credits, as Stripe counts them.
    """

    stripe_id = models.CharField(max_length=255, unique=True)
    customer = models.ForeignKey(
        "djstripe.Customer", on_delete=models.CASCADE, related_name="+"
    )
    amount = models.IntegerField()
    currency = models.CharField(max_length=3)
    type = models.CharField(max_length=64, help_text="Stripe's type, e.g. adjustment.")
    description = models.CharField(max_length=500, blank=True)
    invoice_id = models.CharField(max_length=255, blank=True)
    ending_balance = models.IntegerField()
    created = models.DateTimeField()

    class Meta:
        verbose_name = "customer balance transaction"

    def __str__(self):
        return f"{self.stripe_id} ({self.amount} {self.currency})"

    @property
    def change_display(self) -> str:
        """What it did to the wallet: "+$25.00" for a credit, "-$5.00" for a debit."""
        sign = "+" if self.amount < 0 else "-"
        return sign + format_amount(abs(self.amount), self.currency)

    @property
    def ending_balance_display(self) -> str:
        """The wallet after it, as the customer counts (credit positive)."""
        return format_amount(-self.ending_balance, self.currency)

    @property
    def label(self) -> str:
        """The entry in words: its description, else what Stripe's type means."""
        return self.description or TRANSACTION_LABELS.get(self.type, self.type)


# How the wallet names Stripe's balance transaction types that have no description.
TRANSACTION_LABELS = {
    "adjustment": "Adjustment",
    "applied_to_invoice": "Used by an invoice",
    "unapplied_from_invoice": "Given back by a voided invoice",
    "invoice_overpaid": "Overpaid invoice",
    "initial": "Opening balance",
}
