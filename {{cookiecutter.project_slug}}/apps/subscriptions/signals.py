"""The lifecycle signals of subscriptions, invoices, payments and webhooks.

Subscription, invoice and payment signals are sent once the change is committed,
with `sender` = the subscriber's model and keyword arguments `subscriber` (also as
`instance`) and `subscription` (a dj-stripe Subscription, or None for an invoice
that bills no subscription), plus those listed beside each signal.

Subscription signals come from `transitions.apply_subscription`, which compares
Stripe's subscription with the state the site last recorded: a change is signalled
once, whether a webhook, a redelivery, the site's own call or a later poll sees it
first. Invoice and payment signals are sent once per Stripe event. The table of
signals, with the Stripe events behind them, is in docs/subscriptions.md.
"""

from django.db import transaction
from django.dispatch import Signal

# -- subscriptions ---------------------------------------------------------------

# The site saw a subscription of the subscriber for the first time.
subscription_created = Signal()

# The subscription became `active`: first payment, end of a trial, or recovery from
# past_due, unpaid or paused.
subscription_activated = Signal()

# The trial ends soon (Stripe's `customer.subscription.trial_will_end`, three days
# before); also sent with `trial_end` (an aware datetime). Once per trial end.
subscription_trial_will_end = Signal()

# Status became `past_due`: a renewal payment failed and Stripe retries it.
subscription_past_due = Signal()

# Status became `unpaid`: retries ran out; Stripe keeps the subscription, unpaid.
subscription_unpaid = Signal()

# Collection paused (status `paused`, or `pause_collection` set).
subscription_paused = Signal()

# A paused subscription resumed (status left `paused`, or `pause_collection` cleared).
subscription_resumed = Signal()

# A renewal invoice (billing_reason `subscription_cycle`) was paid; also sent with
# `invoice` (dj-stripe Invoice).
subscription_renewed = Signal()

# The plan (the product of the billed item's price) changed; also sent with
# `old_plan` and `new_plan` (ProductMetadata, or None for a product not on sale).
subscription_plan_changed = Signal()

# The billed quantity changed; also sent with `old_quantity` and `new_quantity`.
subscription_seats_changed = Signal()

# The subscription was set to end (cancel at period end, or a cancel_at date), or
# its end moved; also sent with `ends_at` (an aware datetime).
subscription_cancel_scheduled = Signal()

# A scheduled end was called off: the subscription renews again.
subscription_cancellation_undone = Signal()

# The subscription ended (status `canceled`); the subscriber is no longer linked.
subscription_canceled = Signal()
subscription_cancelled = subscription_canceled

# The first payment never went through: status `incomplete_expired`.
subscription_expired = Signal()

# A second live subscription of a subscriber that has one was canceled at once, and
# what it took refunded (`duplicates.py`); the subscriber's link never moved to it.
# `subscription` is the canceled one; also sent with `kept` (the subscription the
# subscriber keeps) and `refund` (a `models.PaymentRefund`, or None when it took
# nothing). Once per duplicate.
subscription_duplicate_canceled = Signal()

# Anything the site follows changed (status, price, quantity, cancellation, pause),
# after the signals above; also sent with `previous_attributes`: the old values of
# what changed, by Stripe's field names (`status`, `price`, `quantity`,
# `cancel_at_period_end`, `cancel_at`, `pause_collection`).
subscription_updated = Signal()

# -- invoices and payments: each also sent with `invoice` (dj-stripe Invoice) -------

invoice_created = Signal()
invoice_paid = Signal()
# Also sent with `attempt_count` and `next_payment_attempt` (datetime or None).
invoice_payment_failed = Signal()
invoice_voided = Signal()

# Money moved, or did not: also sent with `invoice`, `amount` (in the currency's
# smallest unit) and `currency`. `payment_failed` also has `attempt_count` and
# `next_payment_attempt` (an aware datetime, or None when Stripe will not retry).
payment_succeeded = Signal()
payment_failed = Signal()

# -- one-off purchases, the wallet and refunds: `subscription` is None ----------------
# Once per paid Checkout session in payment mode (`purchases.fulfil_purchase`):
# `payment_succeeded` too, with `invoice=None`, `purchase`, `amount`, `currency`.

# A one-off purchase was paid: the place to fulfil it (grant the credits, ...); also
# sent with `purchase` (a `models.Purchase`), `amount` (paid, in the currency's
# smallest unit) and `currency`. Sent for top-ups too (`purchase.kind == "top_up"`).
purchase_completed = Signal()

# A paid top-up credited the wallet; also sent with `purchase`, `amount`, `currency`
# and `balance_transaction` (a `models.CustomerBalanceTransaction`).
topup_completed = Signal()

# The wallet (the customer's Stripe balance) was credited, or debited, by the site or
# in Stripe's dashboard; also sent with `amount` (positive), `currency`, `description`
# and `balance_transaction`. Once per Stripe balance transaction; what invoices take
# from the balance sends nothing.
wallet_credited = Signal()
wallet_debited = Signal()

# A payment was refunded, in full or in part, from the site or Stripe's dashboard;
# also sent with `refund` (a `models.PaymentRefund`), `amount`, `currency`, `reason`,
# `invoice` (the dj-stripe Invoice whose payment it was, or None) and `purchase` (or
# None). Once per Stripe refund.
payment_refunded = Signal()

# -- webhooks: sender = dj-stripe's WebhookEventTrigger, kwarg `trigger` (its row),
# `event_id` and `event_type` (from the body) --------------------------------------

# A delivery arrived and its signature was checked; also sent with `valid`. Sent at
# once, before processing (a failed processing would roll back an after-commit one).
webhook_received = Signal()

# A valid delivery was processed and committed; also sent with `event` (dj-stripe
# Event) and `redelivery` (True when the event had been processed before, so no
# handler ran again).
webhook_processed = Signal()

# Processing raised: the transaction was rolled back and dj-stripe answers 500, so
# Stripe delivers again later; also sent with `exception`. Sent at once.
webhook_failed = Signal()


def send_after_commit(signal: Signal, subscriber, subscription, **kwargs) -> None:
    """Send `signal` once the current transaction commits (at once outside one)."""
    transaction.on_commit(
        lambda: signal.send(
            sender=subscriber._meta.model,
            subscriber=subscriber,
            instance=subscriber,
            subscription=subscription,
            **kwargs,
        )
    )
