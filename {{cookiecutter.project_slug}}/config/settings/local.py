"""Settings for development: DEBUG on, console e-mail, no server needed.

Variables come from the environment and from .env (read by base.py first).
"""

from pathlib import Path

from .base import *  # noqa: F403
from .base import (
    BASE_DIR,
    CONTENT_SECURITY_POLICY,
    REDIS_URL,
    STRIPE_EMULATOR,
    STRIPE_EMULATOR_URL,
    env,
)

# GENERAL
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env.bool("DJANGO_DEBUG", default=True)
# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key
SECRET_KEY = env(
    "DJANGO_SECRET_KEY",
    default="local-only-not-secret-2f6c1f0b9a3e4d58b7a1c9e0d4f3b2a1",
)
# https://docs.djangoproject.com/en/5.2/ref/settings/#allowed-hosts
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "0.0.0.0", "[::1]"]
)

# EMAIL
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/topics/email/#console-backend
EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)

# CELERY
# ------------------------------------------------------------------------------
# https://docs.celeryq.dev/projects/kombu/en/stable/reference/kombu.transport.filesystem.html
# Without REDIS_URL the broker is a folder, so worker and beat run with no server.
CELERY_DATA_DIR = Path(env("CELERY_DATA_DIR", default=str(BASE_DIR / ".celery")))
CELERY_DATA_DIR.mkdir(parents=True, exist_ok=True)
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#beat-schedule-filename
CELERY_BEAT_SCHEDULE_FILENAME = str(CELERY_DATA_DIR / "beat-schedule")
if not REDIS_URL:
    for _folder in ("queue", "processed", "results", "control"):
        (CELERY_DATA_DIR / _folder).mkdir(exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DATA_DIR / "queue"),
        "data_folder_out": str(CELERY_DATA_DIR / "queue"),
        "processed_folder": str(CELERY_DATA_DIR / "processed"),
        # Its exchange tables; left to itself, kombu puts them in ./control.
        "control_folder": str(CELERY_DATA_DIR / "control"),
        "store_processed": False,
    }
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#conf-filesystem-result-backend
    CELERY_RESULT_BACKEND = f"file://{CELERY_DATA_DIR / 'results'}"
    # The filesystem transport has no broadcast exchange for remote control.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False

# SUBSCRIPTIONS
# ------------------------------------------------------------------------------
# Seat changes reach Stripe within a minute while developing (daily elsewhere).
SUBSCRIPTIONS_SYNC_INTERVAL = env.int("SUBSCRIPTIONS_SYNC_INTERVAL", default=60)
{%- if cookiecutter.per_seat_billing == "y" %}
CELERY_BEAT_SCHEDULE["sync-subscriptions"]["schedule"] = SUBSCRIPTIONS_SYNC_INTERVAL  # noqa: F405
{%- endif %}

# STRIPE / DJ-STRIPE
# ------------------------------------------------------------------------------
# https://dj-stripe.dev/dj-stripe/2.11/reference/settings/#stripe_api_host
# STRIPE_EMULATOR=1 sends every Stripe call to the local emulator with test keys.
if STRIPE_EMULATOR:
    STRIPE_API_HOST = STRIPE_EMULATOR_URL
    # Its hosted Checkout and portal pages stand in for Stripe's.
    CONTENT_SECURITY_POLICY["form-action"] = [
        *CONTENT_SECURITY_POLICY["form-action"],
        STRIPE_EMULATOR_URL,
    ]
    STRIPE_LIVE_MODE = False
    STRIPE_TEST_SECRET_KEY = env(
        "STRIPE_TEST_SECRET_KEY", default="sk_test_emulator0000000000000000000000"
    )
    STRIPE_TEST_PUBLIC_KEY = env(
        "STRIPE_TEST_PUBLIC_KEY", default="pk_test_emulator0000000000000000000000"
    )
