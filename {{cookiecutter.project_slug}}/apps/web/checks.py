from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def check_stripe_emulator_not_deployed(app_configs=None, **kwargs):
    """The Stripe emulator fakes payments: it must never run with DEBUG off."""
    if settings.STRIPE_EMULATOR and not settings.DEBUG:
        return [
            checks.Error(
                "STRIPE_EMULATOR is on outside development.",
                hint="Unset STRIPE_EMULATOR and give real Stripe keys in production.",
                id="web.E001",
            )
        ]
    return []


@checks.register(checks.Tags.security, deploy=True)
def check_admin_url(app_configs=None, **kwargs):
    """The admin at the site's root or at /admin/ is the first place scanners try."""
    if settings.DJANGO_ADMIN_URL.strip("/").lower() in ("", "admin"):
        return [
            checks.Error(
                f"DJANGO_ADMIN_URL is {settings.DJANGO_ADMIN_URL!r}.",
                hint="Set it to a path of your own, ending in a slash, e.g. "
                "'control-room-7f3a/'.",
                id="web.E002",
            )
        ]
    return []
