"""The app's own receivers: queueing the customer e-mails and the seat syncs,
telling the site admins when a subscription ends, and ending the Stripe subscriptions
of a subscriber that is deleted.

The customer e-mails (`customer_emails.py`) and the admins' notes are queued as
Celery tasks once the change is committed; the tasks render and send them, never
the webhook's request.

`SubscriptionsConfig.ready()` connects `cancel_subscriptions_before_delete` to the
subscriber model (`DJSTRIPE_SUBSCRIBER_MODEL`), whichever it is.
"""

import logging

from django.db import transaction
from django.dispatch import receiver
from kombu.exceptions import OperationalError

from . import customer_emails, signals
from .email_tasks import mail_admins_task, send_customer_email_task
from .lifecycle import cancel_before_deletion
from .selectors import subscription_plan
from .stripe_data import is_owing_status
from .subscribers import subscriber_display_name, subscriber_reference
from .sync import seats_changed
from .tasks import sync_subscriber_task

logger = logging.getLogger(__name__)

# Statuses in which a subscription has started: paid, or on a free trial.
STARTED_STATUSES = ("active", "trialing")


def queue_customer_email(kind: str, subscriber, **data) -> None:
    """Queue the e-mail `kind` (if switched on) once the transaction commits.

    `data` must be JSON (ids, amounts, timestamps): it goes through the broker.
    """
    if not customer_emails.is_enabled(kind):
        return
    reference = subscriber_reference(subscriber)

    def queue():
        try:
            send_customer_email_task.delay(kind, reference, data)
        except OperationalError:
            # The change is committed and Stripe's event handled: a broker that is
            # down costs this e-mail, not a failed webhook that Stripe sends again.
            logger.exception("Could not queue the %s e-mail of %s", kind, reference)

    transaction.on_commit(queue)


@receiver(seats_changed)
def queue_seat_sync(sender, subscriber, **kwargs):
    """Queue the seat sync of a subscriber whose seats changed, once that commits:
    the request that changed them never waits on Stripe.

    Robust: a broker that cannot be reached must not fail that request; the
    scheduled run syncs the subscriber instead.
    """
    pk = subscriber.pk
    transaction.on_commit(lambda: sync_subscriber_task.delay(pk), robust=True)


def queue_admin_email(subject: str, message: str) -> None:
    """Queue a note to the site's admins once the transaction commits.

    Robust: should the task run in the request (a worker-less setup running tasks
    eagerly) and the mail server fail, that is logged, and the webhook that
    committed its changes still answers 200.
    """

    def queue():
        try:
            mail_admins_task.delay(subject, message)
        except OperationalError:
            logger.exception("Could not queue the admins' e-mail %r", subject)

    transaction.on_commit(queue, robust=True)


def _timestamp(value) -> int | None:
    return int(value.timestamp()) if value else None


def _status(subscription) -> str:
    return subscription.stripe_data.get("status", "") if subscription else ""


@receiver(signals.subscription_created, dispatch_uid="email_subscription_started")
def email_subscription_started(sender, subscriber, subscription, **kwargs):
    if _status(subscription) in STARTED_STATUSES:
        queue_customer_email(
            customer_emails.SUBSCRIPTION_STARTED,
            subscriber,
            subscription=subscription.id,
            trial_end=subscription.stripe_data.get("trial_end"),
        )


@receiver(signals.subscription_updated, dispatch_uid="email_status_changes")
def email_status_changes(
    sender, subscriber, subscription, previous_attributes, **kwargs
):
    """A first payment that went through late, or an overdue one paid."""
    before, after = previous_attributes.get("status"), _status(subscription)
    if before == "incomplete" and after in STARTED_STATUSES:
        queue_customer_email(
            customer_emails.SUBSCRIPTION_STARTED,
            subscriber,
            subscription=subscription.id,
            trial_end=subscription.stripe_data.get("trial_end"),
        )
    elif is_owing_status(before) and after == "active":
        queue_customer_email(
            customer_emails.PAYMENT_RECOVERED, subscriber, subscription=subscription.id
        )


@receiver(signals.subscription_trial_will_end, dispatch_uid="email_trial_ending")
def email_trial_ending(sender, subscriber, subscription, trial_end, **kwargs):
    queue_customer_email(
        customer_emails.TRIAL_ENDING,
        subscriber,
        subscription=subscription.id,
        trial_end=_timestamp(trial_end),
    )


@receiver(signals.payment_failed, dispatch_uid="email_payment_failed")
def email_payment_failed(sender, subscriber, subscription, invoice, **kwargs):
    queue_customer_email(
        customer_emails.PAYMENT_FAILED,
        subscriber,
        subscription=subscription.id if subscription else None,
        invoice=invoice.id,
        amount=kwargs["amount"],
        currency=kwargs["currency"],
        attempt_count=kwargs["attempt_count"],
        next_payment_attempt=_timestamp(kwargs["next_payment_attempt"]),
    )


@receiver(
    signals.subscription_cancel_scheduled, dispatch_uid="email_cancellation_scheduled"
)
def email_cancellation_scheduled(sender, subscriber, subscription, ends_at, **kwargs):
    queue_customer_email(
        customer_emails.CANCELLATION_SCHEDULED,
        subscriber,
        subscription=subscription.id,
        ends_at=_timestamp(ends_at),
    )


@receiver(signals.subscription_canceled, dispatch_uid="email_subscription_ended")
def email_subscription_ended(sender, subscriber, subscription, **kwargs):
    queue_customer_email(
        customer_emails.SUBSCRIPTION_ENDED, subscriber, subscription=subscription.id
    )


@receiver(signals.subscription_canceled, dispatch_uid="mail_admins_on_cancel")
def mail_admins_when_a_subscription_ends(sender, subscriber, subscription, **kwargs):
    plan = subscription_plan(subscription)
    name = subscriber_display_name(subscriber)
    plan_name = plan.name if plan else "a plan"
    queue_admin_email(
        f"Subscription ended: {name}",
        f"{name} ({subscriber.pk}) is no longer subscribed to {plan_name}.\n"
        f"Stripe subscription: {subscription.id}\n",
    )


@receiver(
    signals.subscription_duplicate_canceled, dispatch_uid="email_duplicate_canceled"
)
def email_duplicate_canceled(sender, subscriber, subscription, kept, refund, **kwargs):
    queue_customer_email(
        customer_emails.DUPLICATE_CANCELED,
        subscriber,
        subscription=kept.id,
        duplicate=subscription.id,
        amount=refund.amount if refund is not None else 0,
        currency=refund.currency if refund is not None else "",
    )


@receiver(signals.payment_refunded, dispatch_uid="email_payment_refunded")
def email_payment_refunded(sender, subscriber, refund, invoice, purchase, **kwargs):
    if purchase is not None:
        description, paid = purchase.description, purchase.amount
    else:
        data = invoice.stripe_data if invoice is not None else {}
        number = data.get("number") or refund.invoice_id
        description = f"invoice {number}" if number else "a payment"
        paid = data.get("amount_paid") or refund.amount
    queue_customer_email(
        customer_emails.PAYMENT_REFUNDED,
        subscriber,
        amount=refund.amount,
        currency=refund.currency,
        paid=paid,
        description=description,
        note=refund.note,
    )


def cancel_subscriptions_before_delete(sender, instance, **kwargs):
    """A deleted subscriber leaves nothing billing in Stripe.

    Its live subscriptions are canceled now; if Stripe refuses or cannot be
    reached, the error propagates and the deletion is rolled back. The admin
    cancels first, outside its delete transaction (`admin.SubscriberBillingAdmin`);
    this catches every other way of deleting.
    """
    for change in cancel_before_deletion(instance):
        logger.info(
            "Canceled subscription %s of deleted %s", change.subscription.id, instance
        )
