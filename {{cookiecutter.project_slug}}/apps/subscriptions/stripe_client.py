"""The Stripe client: its timeouts and retries, the options every call carries, and
checks of the secret key."""

import time

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from djstripe.settings import djstripe_settings

# Secret (sk_) and restricted (rk_) keys, in test or live mode.
SECRET_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")


# Seconds to open a connection to Stripe: milliseconds when it is reachable, so
# waiting longer only keeps a visitor (and a server thread) waiting.
CONNECT_TIMEOUT_SECONDS = 2.0


def configure_stripe_client() -> None:
    """Give stripe-python a short timeout and few retries, for every call.

    Set on the module (not on a StripeClient) because dj-stripe calls
    `stripe.<Resource>.retrieve(api_key=...)` and so uses the global client.
    stripe-python sends an Idempotency-Key with every POST and keeps it across its
    retries, so a retried write is never done twice.
    """
    timeout = settings.STRIPE_HTTP_TIMEOUT_SECONDS
    retries = settings.STRIPE_MAX_NETWORK_RETRIES
    if timeout <= 0 or retries < 0:
        raise ImproperlyConfigured(
            "STRIPE_HTTP_TIMEOUT_SECONDS must be above 0 and "
            "STRIPE_MAX_NETWORK_RETRIES 0 or more."
        )
    stripe.default_http_client = stripe.RequestsClient(
        timeout=(min(CONNECT_TIMEOUT_SECONDS, timeout), timeout)
    )
    stripe.max_network_retries = retries


def worst_case_seconds(timeout: float, retries: int) -> float:
    """The longest one Stripe call can keep a request waiting before it fails.

    Each try waits at most the connect timeout, then `timeout` for each read of the
    answer; stripe-python sleeps between tries, doubling from
    INITIAL_DELAY up to MAX_DELAY. (An answer trickling in a byte at a time could
    take longer; Stripe does not answer that way.)
    """
    connect = min(CONNECT_TIMEOUT_SECONDS, timeout)
    delays = (
        min(stripe.HTTPClient.INITIAL_DELAY * 2**attempt, stripe.HTTPClient.MAX_DELAY)
        for attempt in range(retries)
    )
    return (retries + 1) * (connect + timeout) + sum(delays)


def is_stripe_outage(error: Exception) -> bool:
    """Whether `error` says Stripe is out of reach, overloaded or failing (not that it
    refused what was asked): worth a "try again shortly", not a fix."""
    if isinstance(error, (stripe.APIConnectionError, stripe.RateLimitError)):
        return True
    return isinstance(error, stripe.APIError) and (error.http_status or 500) >= 500


class StripeSetupError(Exception):
    """Stripe cannot be used as configured; the message says why, in one line."""


def api_key() -> str:
    """The secret key dj-stripe is configured with (test or live, per STRIPE_LIVE_MODE)."""
    return djstripe_settings.STRIPE_SECRET_KEY


def stripe_options(**extra) -> dict:
    """The API key and version of every call to Stripe, plus `extra`."""
    return {
        "api_key": api_key(),
        "stripe_version": djstripe_settings.STRIPE_API_VERSION,
        **extra,
    }


def _key_setting() -> str:
    live = djstripe_settings.STRIPE_LIVE_MODE
    return "STRIPE_LIVE_SECRET_KEY" if live else "STRIPE_TEST_SECRET_KEY"


def configured_secret_key() -> str:
    """The secret key in use, after checking it is set and shaped like one."""
    key = api_key()
    if not key:
        raise StripeSetupError(
            f"No Stripe secret key: set {_key_setting()} in the environment."
        )
    if not key.startswith(SECRET_KEY_PREFIXES) or len(key) <= len("sk_test_"):
        raise StripeSetupError(
            f"{_key_setting()} does not look like a Stripe secret key "
            "(sk_test_... or sk_live_...)."
        )
    return key


def check_stripe_configuration() -> str:
    """The secret key in use, after checking it is set and Stripe accepts it."""
    key = configured_secret_key()
    try:
        stripe.Account.retrieve(**stripe_options())
    except stripe.AuthenticationError as error:
        message = _one_line(error.user_message or str(error))
        raise StripeSetupError(f"Stripe refused {_key_setting()}: {message}") from error
    return key


def wait_for_stripe(seconds: float, *, sleep=time.sleep, clock=time.monotonic) -> str:
    """`check_stripe_configuration()`, tried again while Stripe does not answer.

    For a Stripe emulator that starts beside the site. After `seconds`, the last
    `stripe.APIConnectionError` is raised.
    """
    deadline = clock() + seconds
    while True:
        try:
            return check_stripe_configuration()
        except stripe.APIConnectionError:
            if clock() >= deadline:
                raise
            sleep(0.5)


def is_live_key(key: str) -> bool:
    return djstripe_settings.STRIPE_LIVE_MODE or key.startswith(("sk_live", "rk_live"))


def describe_stripe_error(error: stripe.StripeError) -> str:
    """One line about a failed Stripe call, for a command's error exit."""
    if isinstance(error, stripe.APIConnectionError):
        # stripe-python's own text spans several lines of support advice.
        return f"Could not reach Stripe at {stripe.api_base}."
    message = _one_line(error.user_message or str(error))
    if isinstance(error, stripe.AuthenticationError):
        return f"Stripe refused {_key_setting()}: {message}"
    return f"Stripe error: {message}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
