from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


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
        super().send_mail(template_prefix, email, context)
