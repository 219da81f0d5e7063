"""The e-mails that tell a subscriber's billing managers about its subscription.

`receivers.py` queues one, after commit, as a Celery task for each lifecycle signal
worth telling (`email_tasks.send_customer_email_task`); the task calls
`send_customer_email`, which renders it and sends it. Nothing is rendered or sent
inside the webhook's request, and a slow mail server or Stripe never holds it up.

The task gets plain data (ids, amounts, timestamps) and reads the rest here, when it
runs. It has no request to take the site's host from, so links are built on the
setting `SITE_URL`. `SUBSCRIPTIONS_CUSTOMER_EMAILS` lists the kinds sent; leave one
out to switch it off. Each kind has three templates in
`templates/subscriptions/email/`: `<kind>_subject.txt`, `<kind>_message.txt` and
`<kind>_message.html`.
"""

import logging
from datetime import UTC, datetime

import stripe
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import timezone
from djstripe.models import Subscription

from .money import format_amount
from .selectors import payment_method_summary, subscription_plan
from .stripe_client import stripe_options
from .stripe_data import grace_period_end, grants_access
from .subscribers import billing_adapter, subscriber_display_name, subscriber_reverse

logger = logging.getLogger(__name__)

SUBSCRIPTION_STARTED = "subscription_started"
TRIAL_ENDING = "trial_ending"
PAYMENT_FAILED = "payment_failed"
PAYMENT_RECOVERED = "payment_recovered"
CANCELLATION_SCHEDULED = "cancellation_scheduled"
SUBSCRIPTION_ENDED = "subscription_ended"
PAYMENT_REFUNDED = "payment_refunded"
DUPLICATE_CANCELED = "duplicate_canceled"

EMAIL_KINDS = (
    SUBSCRIPTION_STARTED,
    TRIAL_ENDING,
    PAYMENT_FAILED,
    PAYMENT_RECOVERED,
    CANCELLATION_SCHEDULED,
    SUBSCRIPTION_ENDED,
    PAYMENT_REFUNDED,
    DUPLICATE_CANCELED,
)


def is_enabled(kind: str) -> bool:
    """Whether e-mails of this kind are sent (`SUBSCRIPTIONS_CUSTOMER_EMAILS`)."""
    return kind in settings.SUBSCRIPTIONS_CUSTOMER_EMAILS


def site_url(path: str) -> str:
    """`path` on the site's public address (`SITE_URL`), for links in e-mails."""
    return settings.SITE_URL.rstrip("/") + path


def _datetime(timestamp) -> datetime | None:
    return datetime.fromtimestamp(int(timestamp), tz=UTC) if timestamp else None


def decline_reason(invoice_id: str | None) -> str:
    """Why the invoice's last payment was declined, in Stripe's words, or "".

    Stripe keeps it on the invoice's payment intent (`last_payment_error`), reached
    through the invoice's payments. One read; without an answer, the e-mail goes
    out without the reason rather than not at all.
    """
    if not invoice_id:
        return ""
    try:
        invoice = stripe.Invoice.retrieve(
            invoice_id,
            expand=["payments.data.payment.payment_intent"],
            **stripe_options(),
        )
    except stripe.StripeError:
        logger.warning("Could not read why the payment of %s failed", invoice_id)
        return ""
    for invoice_payment in reversed((invoice.get("payments") or {}).get("data") or []):
        intent = (invoice_payment.get("payment") or {}).get("payment_intent")
        error = intent.get("last_payment_error") if hasattr(intent, "get") else None
        if error:
            return error.get("message") or error.get("decline_code") or ""
    return ""


def _trial_end_behavior(subscription_data) -> str:
    """What Stripe does when this subscription's trial ends without a card."""
    behavior = (
        (subscription_data.get("trial_settings") or {}).get("end_behavior") or {}
    ).get("missing_payment_method")
    return behavior or settings.SUBSCRIPTIONS_TRIAL_END_BEHAVIOR


def email_context(kind: str, subscriber, data: dict) -> dict:
    """What the templates of `kind` show, from the task's data and the local rows."""
    subscription = None
    if data.get("subscription"):
        subscription = Subscription.objects.filter(id=data["subscription"]).first()
    subscription_data = subscription.stripe_data if subscription is not None else {}
    plan = subscription_plan(subscription)
    context = {
        "kind": kind,
        "site_name": settings.SITE_NAME,
        "subscriber_name": subscriber_display_name(subscriber),
        "plan_name": plan.name if plan else "",
        # "the Pro subscription", or "the subscription" for a plan no longer on sale.
        "subscription_name": f"{plan.name} subscription" if plan else "subscription",
        "status": subscription_data.get("status", ""),
        "subscription_url": site_url(subscriber_reverse("subscription", subscriber)),
        "update_card_url": site_url(subscriber_reverse("update_card", subscriber)),
        "payment_method": (
            payment_method_summary(subscription) if subscription is not None else ""
        ),
        "trial_end": _datetime(data.get("trial_end")),
        "trial_end_behavior": _trial_end_behavior(subscription_data),
        "ends_at": _datetime(data.get("ends_at")),
    }
    if kind == PAYMENT_FAILED:
        context.update(
            amount=format_amount(data.get("amount"), data.get("currency", "")),
            reason=decline_reason(data.get("invoice")),
            next_payment_attempt=_datetime(data.get("next_payment_attempt")),
            # While a past_due subscription still opens the gates: until when.
            access_ends=(
                grace_period_end(subscription_data)
                if grants_access(subscription_data, timezone.now())
                else None
            ),
        )
    if kind == PAYMENT_REFUNDED:
        context.update(
            amount=format_amount(data.get("amount"), data.get("currency", "")),
            paid=format_amount(data.get("paid"), data.get("currency", "")),
            description=data.get("description", ""),
            in_full=data.get("amount") == data.get("paid"),
            note=data.get("note", ""),
        )
    if kind == DUPLICATE_CANCELED:
        context.update(
            refunded=(
                format_amount(data["amount"], data.get("currency", ""))
                if data.get("amount")
                else ""
            ),
        )
    return context


def compose(kind: str, subscriber, data: dict) -> list[EmailMultiAlternatives]:
    """One message for each billing manager with an address, text and HTML."""
    if kind not in EMAIL_KINDS:
        raise ValueError(f"Unknown customer e-mail: {kind}")
    context = email_context(kind, subscriber, data)
    template = f"subscriptions/email/{kind}"
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    messages = []
    for manager in billing_adapter().billing_managers(subscriber):
        if not manager.email:
            continue
        personal = {**context, "recipient_name": manager.get_display_name()}
        message = EmailMultiAlternatives(
            subject=f"[{settings.SITE_NAME}] {subject}",
            body=render_to_string(f"{template}_message.txt", personal),
            to=[manager.email],
        )
        message.attach_alternative(
            render_to_string(f"{template}_message.html", personal), "text/html"
        )
        messages.append(message)
    return messages


def send_customer_email(kind: str, subscriber, data: dict) -> int:
    """Render and send an e-mail of `kind` to the subscriber's billing managers;
    how many messages went out. Nothing when the kind is switched off."""
    if not is_enabled(kind):
        return 0
    messages = compose(kind, subscriber, data)
    if not messages:
        logger.info("No billing manager of %s to send %s to", subscriber, kind)
        return 0
    return get_connection().send_messages(messages) or 0
