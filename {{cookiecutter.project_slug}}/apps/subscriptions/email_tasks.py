"""The Celery tasks that send the customer e-mails (`customer_emails.py`) and the
site admins' notes.

A module of its own, not `tasks.py`: `receivers.py` imports it to queue the task,
and `SubscriptionsConfig.ready()` imports `receivers.py`, so every process that
loads Django (the web, and the worker) knows the task.
"""

from celery import shared_task
from django.core.mail import mail_admins

from .customer_emails import send_customer_email
from .subscribers import subscriber_from_reference


# A mail server that fails or cannot be reached is tried again, later and later; a
# retry after some of the messages went out sends those again.
@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_customer_email_task(kind: str, subscriber: str, data: dict) -> int:
    """Send one customer e-mail of `kind` about the subscriber named by `subscriber`
    (a `subscriber_reference`); how many messages went out. A subscriber deleted
    meanwhile gets none."""
    found = subscriber_from_reference(subscriber)
    if found is None:
        return 0
    return send_customer_email(kind, found, data)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def mail_admins_task(subject: str, message: str) -> None:
    """Mail the site's admins (`ADMINS`)."""
    mail_admins(subject, message)
