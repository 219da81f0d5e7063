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
