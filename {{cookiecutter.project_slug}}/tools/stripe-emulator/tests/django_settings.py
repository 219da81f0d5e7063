"""The smallest Django project dj-stripe runs in, for the emulator's own tests."""

SECRET_KEY = "stripe-emulator-tests-only"
# dj-stripe's admin forms (used to create webhook endpoints) need the admin app.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "djstripe",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "tests.urls"
USE_TZ = True
ALLOWED_HOSTS = ["testserver"]

# https://dj-stripe.dev/dj-stripe/2.11/reference/settings/
# Valid-looking test keys: the tests reach the emulator in-process, never Stripe.
STRIPE_LIVE_MODE = False
STRIPE_TEST_SECRET_KEY = "sk_test_emulatortests000000000000"
STRIPE_TEST_PUBLIC_KEY = "pk_test_emulatortests000000000000"
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
