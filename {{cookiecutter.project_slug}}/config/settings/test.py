"""Settings for the test suite: fast hashing, in-memory e-mail, eager Celery."""

from .base import *  # noqa: F403
from .base import env

# GENERAL
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key
SECRET_KEY = env(
    "DJANGO_SECRET_KEY",
    default="test-only-not-secret-7c1e9a4b2d6f48e0a3b5c7d9e1f2a4b6c8d0e2f4",
)
# https://docs.djangoproject.com/en/5.2/ref/settings/#test-runner
TEST_RUNNER = "django.test.runner.DiscoverRunner"
# https://docs.djangoproject.com/en/5.2/ref/settings/#allowed-hosts
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

# PASSWORDS
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#password-hashers
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# EMAIL
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#email-backend
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# STATIC
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#storages
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# CELERY
# ------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-always-eager
# Tasks run in the calling process unless a test brings its own broker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-eager-propagates
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = env("REDIS_URL", default="memory://")
CELERY_RESULT_BACKEND = env("REDIS_URL", default="cache+memory://")

# DJANGO-ALLAUTH
# ------------------------------------------------------------------------------
# https://docs.allauth.org/en/latest/account/configuration.html
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_RATE_LIMITS = False

# STRIPE / DJ-STRIPE
# ------------------------------------------------------------------------------
# https://dj-stripe.dev/dj-stripe/2.11/reference/settings/
# Valid-looking test keys; tests reach the emulator in-process, never Stripe.
STRIPE_LIVE_MODE = False
STRIPE_TEST_SECRET_KEY = "sk_test_testsuite000000000000000000000"
STRIPE_TEST_PUBLIC_KEY = "pk_test_testsuite000000000000000000000"
