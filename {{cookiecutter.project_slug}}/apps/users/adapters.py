import logging
from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib import messages

logger = logging.getLogger(__name__)

# Sign-up sends one of these: a new address gets the confirmation, a registered one
# the "you already have an account" mail. Both fail with the same words, so that a
# failure tells no more than a success.
SIGN_UP_MAILS = (
    "account/email/email_confirmation",
    "account/email/account_already_exists",
)
SIGN_UP_MAIL_NOT_SENT = (
    "We could not send the confirmation e-mail just now. In a few minutes, log in "
    "again or open your e-mail addresses to have it sent again."
)
MAIL_NOT_SENT = "We could not send you an e-mail just now. Please try again later."
# Set on a request whose mail failed, to hold back allauth's "e-mail sent" message.
MAIL_FAILED = "_account_mail_failed"


class AccountAdapter(DefaultAccountAdapter):
    """Allauth behaviour that reads the site's settings instead of the Sites table."""

    def is_open_for_signup(self, request) -> bool:
        return settings.ACCOUNT_ALLOW_REGISTRATION

    def send_mail(self, template_prefix, email, context):
        # Account mail greets with SITE_NAME, not the "example.com" Site row.
        request = context.get("request") or self.request
        domain = request.get_host() if request else context["current_site"].domain
        context = {
            **context,
            "current_site": SimpleNamespace(name=settings.SITE_NAME, domain=domain),
        }
        try:
            super().send_mail(template_prefix, email, context)
        except OSError:  # smtplib.SMTPException too: refused, timed out, rejected
            # The account (or reset request) stands; the person can ask again once
            # the mail server is back, so the page says so instead of failing.
            logger.exception("Could not send %s to %s", template_prefix, email)
            if request is not None:
                setattr(request, MAIL_FAILED, True)
                sign_up_mail = template_prefix.startswith(SIGN_UP_MAILS)
                messages.error(
                    request, SIGN_UP_MAIL_NOT_SENT if sign_up_mail else MAIL_NOT_SENT
                )

    def add_message(self, request, level, message_template=None, *args, **kwargs):
        sent = message_template == "account/messages/email_confirmation_sent.txt"
        if sent and getattr(request, MAIL_FAILED, False):
            return
        super().add_message(request, level, message_template, *args, **kwargs)
