"""The request options every call of this app to Stripe carries."""

from djstripe.settings import djstripe_settings


def stripe_options(**extra) -> dict:
    """The API key and version dj-stripe is configured with, plus `extra`."""
    return {
        "api_key": djstripe_settings.STRIPE_SECRET_KEY,
        "stripe_version": djstripe_settings.STRIPE_API_VERSION,
        **extra,
    }
