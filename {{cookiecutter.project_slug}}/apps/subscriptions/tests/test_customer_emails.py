"""The customer e-mails: each sent to the billing managers by a Celery task queued
after the change commits (eager in tests), never by the webhook request itself."""

from datetime import UTC, datetime

import pytest
import stripe
from django.core import mail
from django.utils.dateformat import format as format_date
from kombu.exceptions import OperationalError

from apps.subscriptions import customer_emails, email_tasks, lifecycle, receivers
from apps.subscriptions.money import format_amount
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.subscribers import (
    billing_adapter,
    subscriber_reference,
    subscriber_reverse,
)

pytestmark = pytest.mark.django_db

SITE_URL = "https://billing.example.com"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE_URL
    settings.ADMINS = []


@pytest.fixture
def paying(billing, pro):
    """The subscriber on Pro (monthly), paid; the e-mails of its start read."""
    mail.outbox.clear()
    return pro


def sent(kind_subject: str) -> list:
    """The messages whose subject holds `kind_subject`."""
    return [m for m in mail.outbox if kind_subject in m.subject]


def one(kind_subject: str):
    [message] = sent(kind_subject)
    return message


def html(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def day(timestamp) -> str:
    return format_date(datetime.fromtimestamp(timestamp, tz=UTC), "N j, Y")


def test_a_new_subscriber_is_billed_to_the_user_who_manages_it(
    subscriber, billing_user
):
    assert billing_adapter().billing_managers(subscriber) == [billing_user]


def test_a_paid_subscription_mails_its_start_to_the_billing_managers(
    billing, stripe_catalogue, billing_user, settings
):
    billing.subscribe(stripe_catalogue["pro"])
    message = one("subscription has started")
    assert message.to == [billing_user.email]
    assert message.subject.startswith(f"[{settings.SITE_NAME}] ")
    assert "Pro" in message.subject
    assert "Visa ending 4242" in message.body
    link = SITE_URL + subscriber_reverse("subscription", billing.subscriber)
    assert link in message.body
    assert f'href="{link}"' in html(message)


def test_a_trial_without_a_card_says_when_it_ends_and_where_to_add_one(
    billing_at, stripe_catalogue
):
    billing = billing_at(card=False)
    subscription = billing.subscribe(stripe_catalogue["starter"], trial_period_days=14)
    message = one("free trial of Starter has started")
    assert day(subscription.trial_end) in message.body
    update_card = SITE_URL + subscriber_reverse("update_card", billing.subscriber)
    assert update_card in message.body
    assert f'href="{update_card}"' in html(message)


def test_the_trial_ending_soon_is_mailed(billing, stripe_catalogue, billing_user):
    subscription = billing.subscribe(stripe_catalogue["starter"], trial_period_days=14)
    assert sent("ends on") == []
    billing.advance(days=11, seconds=60)
    message = one(f"ends on {day(subscription.trial_end)}")
    assert message.to == [billing_user.email]
    assert "Visa ending 4242 is charged" in message.body


def test_a_failed_payment_mails_amount_reason_next_try_and_a_link_to_pay(
    billing, paying, billing_user
):
    billing.emulator.set_card(billing.customer_id, "fail")
    billing.advance(days=32)
    message = one("failed")
    assert message.to == [billing_user.email]
    invoice = stripe.Invoice.retrieve(
        billing.stripe_subscription().latest_invoice, **stripe_options()
    )
    assert format_amount(invoice.amount_due, invoice.currency) in message.subject
    assert "Reason: Your card was declined." in message.body
    retry = day(invoice.next_payment_attempt)
    assert f"We will try again on {retry}." in message.body
    update_card = SITE_URL + subscriber_reverse("update_card", billing.subscriber)
    assert update_card in message.body
    assert f'href="{update_card}"' in html(message)


def test_a_recovered_payment_is_mailed(billing, pro, billing_client, urls):
    billing.emulator.set_card(billing.customer_id, "fail")
    billing.advance(days=32)
    assert sent("went through") == []
    response = billing_client.get(urls("update_card"))
    portal_session = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    billing.emulator.portal_action(portal_session, None, "update_card")
    billing.deliver()
    assert "Pro subscription is active again" in one("went through").subject


def test_a_scheduled_cancellation_is_mailed_with_its_date(billing, pro):
    with billing.capture(execute=True):
        change = lifecycle.cancel_at_period_end(billing.subscriber)
    ends = change.subscription.stripe_data["items"]["data"][0]["current_period_end"]
    message = one(f"Pro subscription ends on {day(ends)}")
    assert "set to end" in message.body


def test_the_end_of_a_subscription_is_mailed(billing, pro):
    with billing.capture(execute=True):
        lifecycle.cancel_now(billing.subscriber)
    billing.deliver()
    assert "has ended" in one("Pro subscription has ended").body


@pytest.fixture
def queued(monkeypatch):
    """The e-mail tasks queued (kind, subscriber reference, data), none run."""
    calls = []
    monkeypatch.setattr(
        email_tasks.send_customer_email_task, "delay", lambda *args: calls.append(args)
    )
    return calls


@pytest.mark.parametrize("kind", customer_emails.EMAIL_KINDS)
def test_each_e_mail_can_be_switched_off(
    kind, subscriber, settings, queued, django_capture_on_commit_callbacks
):
    others = [other for other in customer_emails.EMAIL_KINDS if other != kind]
    settings.SUBSCRIPTIONS_CUSTOMER_EMAILS = others
    with django_capture_on_commit_callbacks(execute=True):
        for each in customer_emails.EMAIL_KINDS:
            receivers.queue_customer_email(each, subscriber)
    assert [args[0] for args in queued] == others
    assert customer_emails.send_customer_email(kind, subscriber, {}) == 0


def test_a_switched_off_e_mail_is_not_sent(billing, paying, settings):
    settings.SUBSCRIPTIONS_CUSTOMER_EMAILS = [customer_emails.SUBSCRIPTION_ENDED]
    billing.emulator.set_card(billing.customer_id, "fail")
    billing.advance(days=32)
    assert billing.stripe_subscription().status == "past_due"
    assert mail.outbox == []


def test_the_task_sends_the_e_mail_not_the_webhook_request(
    billing, paying, queued, billing_user
):
    billing.emulator.set_card(billing.customer_id, "fail")
    billing.advance(days=32)
    assert mail.outbox == []
    [(kind, reference, data)] = [args for args in queued if args[0] == "payment_failed"]
    # Only plain data goes through the broker.
    assert isinstance(reference, str)
    assert {type(value) for value in data.values()} <= {str, int, type(None)}
    assert email_tasks.send_customer_email_task(kind, reference, data) == 1
    assert one("failed").to == [billing_user.email]


def test_a_broker_that_is_down_does_not_fail_the_webhook(
    billing, paying, monkeypatch, caplog
):
    def broker_down(*args):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(email_tasks.send_customer_email_task, "delay", broker_down)
    billing.emulator.set_card(billing.customer_id, "fail")
    billing.advance(days=32)  # every delivery answered 200
    assert billing.stripe_subscription().status == "past_due"
    assert "Could not queue the payment_failed e-mail" in caplog.text


def test_the_task_sends_nothing_for_a_deleted_subscriber(billing, paying):
    reference = subscriber_reference(billing.subscriber)
    billing.subscriber._meta.model.objects.filter(pk=billing.subscriber.pk).delete()
    data = {"subscription": paying.id}
    kind = customer_emails.SUBSCRIPTION_ENDED
    assert email_tasks.send_customer_email_task(kind, reference, data) == 0
    assert mail.outbox == []
