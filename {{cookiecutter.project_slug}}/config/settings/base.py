"""Settings shared by every environment; each value comes from the environment."""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
APPS_DIR = BASE_DIR / "apps"
env = environ.Env()
# https://django-environ.readthedocs.io/en/latest/tips.html#multiple-env-files
# Local development keeps its choices in .env (the post-generation hook wrote one), read
# before any setting below so that each of them sees it; a variable of the real
# environment still wins. Tests and production read the real environment only.
if os.environ.get("DJANGO_SETTINGS_MODULE") == "config.settings.local":
    env.read_env(os.environ.get("DJANGO_ENV_FILE", str(BASE_DIR / ".env")))

# GENERAL
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# https://docs.djangoproject.com/en/5.2/ref/settings/#time-zone
TIME_ZONE = env(
    "DJANGO_TIME_ZONE",
    default="{{ cookiecutter.timezone }}",
)
# https://docs.djangoproject.com/en/5.2/ref/settings/#language-code
LANGUAGE_CODE = "en-us"
# https://docs.djangoproject.com/en/5.2/ref/settings/#site-id
SITE_ID = 1
# https://docs.djangoproject.com/en/5.2/ref/settings/#use-i18n
USE_I18N = True
# https://docs.djangoproject.com/en/5.2/ref/settings/#use-tz
USE_TZ = True
# Shown in page titles, navigation and e-mails (see apps.web.context_processors).
SITE_NAME = env(
    "SITE_NAME",
    # Double quotes in the answers become single ones so the string stays valid.
    default="{{ cookiecutter.project_name|replace('\\', '\\\\')|replace('"', "'") }}",
)
SITE_DESCRIPTION = env(
    "SITE_DESCRIPTION",
    default="{{ cookiecutter.description|replace('\\', '\\\\')|replace('"', "'") }}",
)
# The site's public address, for links in what is sent without a request to take
# the host from: the billing e-mails, rendered by a Celery task.
SITE_URL = env("SITE_URL", default="http://localhost:8000")

# DATABASES
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
# A SQLite file needs no server; set DATABASE_URL=postgres://... to use PostgreSQL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A page and a Stripe webhook often write at once: queue for SQLite's write lock
    # from the start of each transaction instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
# https://docs.djangoproject.com/en/5.2/ref/settings/#std-setting-DEFAULT_AUTO_FIELD
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# URLS
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#root-urlconf
ROOT_URLCONF = "config.urls"
# https://docs.djangoproject.com/en/5.2/ref/settings/#wsgi-application
WSGI_APPLICATION = "config.wsgi.application"

# APPS
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#installed-apps
DJANGO_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.admin",
    "django.forms",
]
THIRD_PARTY_APPS = [
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "djstripe",
]
LOCAL_APPS = [
    "apps.users",
{%- if cookiecutter.billing_subject == "team" %}
    "apps.teams",
{%- endif %}
    "apps.subscriptions",
    "apps.web",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# AUTHENTICATION
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#authentication-backends
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# https://docs.djangoproject.com/en/5.2/ref/settings/#auth-user-model
AUTH_USER_MODEL = "users.User"
# https://docs.djangoproject.com/en/5.2/ref/settings/#login-redirect-url
{%- if cookiecutter.billing_subject == "team" %}
LOGIN_REDIRECT_URL = "teams:home"
{%- else %}
LOGIN_REDIRECT_URL = "web:dashboard"
{%- endif %}
# https://docs.djangoproject.com/en/5.2/ref/settings/#login-url
LOGIN_URL = "account_login"

# PASSWORDS
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#password-hashers
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# https://docs.djangoproject.com/en/5.2/ref/settings/#auth-password-validators
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# MIDDLEWARE
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#middleware
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.web.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # A Stripe outage that a view lets through becomes a 503 page, not a 500.
    "apps.web.middleware.StripeOutageMiddleware",
]

# STATIC
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#static-root
STATIC_ROOT = env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# https://docs.djangoproject.com/en/5.2/ref/settings/#static-url
STATIC_URL = "/static/"
# https://docs.djangoproject.com/en/5.2/ref/contrib/staticfiles/#std:setting-STATICFILES_DIRS
STATICFILES_DIRS = [str(BASE_DIR / "static")]
# https://docs.djangoproject.com/en/5.2/ref/settings/#storages
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# MEDIA
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#media-root
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media"))
# https://docs.djangoproject.com/en/5.2/ref/settings/#media-url
MEDIA_URL = "/media/"

# TEMPLATES
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#templates
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [str(BASE_DIR / "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.template.context_processors.i18n",
                "django.template.context_processors.static",
                "django.template.context_processors.tz",
                "django.contrib.messages.context_processors.messages",
                "apps.web.context_processors.site",
{%- if cookiecutter.billing_subject == "team" %}
                "apps.teams.context_processors.teams",
{%- else %}
                "apps.users.context_processors.billing",
{%- endif %}
            ],
        },
    },
]
# https://docs.djangoproject.com/en/5.2/ref/settings/#form-renderer
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# SECURITY
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#session-cookie-httponly
SESSION_COOKIE_HTTPONLY = True
# https://docs.djangoproject.com/en/5.2/ref/settings/#csrf-cookie-httponly
CSRF_COOKIE_HTTPONLY = True
# https://docs.djangoproject.com/en/5.2/ref/settings/#x-frame-options
X_FRAME_OPTIONS = "DENY"
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-content-type-nosniff
SECURE_CONTENT_TYPE_NOSNIFF = True
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-referrer-policy
SECURE_REFERRER_POLICY = "same-origin"
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-cross-origin-opener-policy
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy
# Sent by apps.web.security with every response. Pages load only the site's own
# files; a form leads only here, or (through the site's redirect) to Stripe's
# hosted Checkout and customer portal.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "form-action": [
        "'self'",
        "https://checkout.stripe.com",
        "https://billing.stripe.com",
    ],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}

# EMAIL
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#email-backend
EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend"
)
# https://docs.djangoproject.com/en/5.2/ref/settings/#default-from-email
DEFAULT_FROM_EMAIL = env(
    "DJANGO_DEFAULT_FROM_EMAIL",
    default="noreply@{{ cookiecutter.domain_name }}",
)
# https://docs.djangoproject.com/en/5.2/ref/settings/#server-email
SERVER_EMAIL = env("DJANGO_SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# https://docs.djangoproject.com/en/5.2/ref/settings/#email-subject-prefix
# Error reports and billing alerts to ADMINS carry the site's name.
EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
# https://docs.djangoproject.com/en/5.2/ref/settings/#email-timeout
EMAIL_TIMEOUT = 5

# ADMIN
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#admins
ADMINS = [
    (
        "{{ cookiecutter.author_name|replace('\\', '\\\\')|replace('"', "'") }}",
        "{{ cookiecutter.email }}",
    ),
]
# https://docs.djangoproject.com/en/5.2/ref/settings/#managers
MANAGERS = ADMINS
# A less guessable admin path keeps scanners off the login form.
DJANGO_ADMIN_URL = env("DJANGO_ADMIN_URL", default="admin/")

# LOGGING
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#logging
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "verbose": {"format": "%(levelname)s %(asctime)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "verbose"},
    },
    "root": {"level": env("DJANGO_LOG_LEVEL", default="INFO"), "handlers": ["console"]},
    "loggers": {
        # stripe-python logs every request at INFO; its errors still reach the console.
        "stripe": {"level": env("STRIPE_LOG_LEVEL", default="WARNING")},
    },
}

# CELERY
# ------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
REDIS_URL = env("REDIS_URL", default="")
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-url
CELERY_BROKER_URL = REDIS_URL
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-backend
CELERY_RESULT_BACKEND = REDIS_URL
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#timezone
CELERY_TIMEZONE = TIME_ZONE
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-serializer
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-expires
CELERY_RESULT_EXPIRES = 60 * 60 * 24
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-time-limit
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-connection-retry-on-startup
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# https://docs.celeryq.dev/en/stable/userguide/periodic-tasks.html#entries
CELERY_BEAT_SCHEDULE = {}

# DJANGO-ALLAUTH
# ------------------------------------------------------------------------------
# https://docs.allauth.org/en/latest/account/configuration.html
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# Mandatory everywhere by default: only then can sign-up answer a registered address
# as it answers a new one (allauth mails the owner instead). "optional" lets people in
# before they confirm, and its sign-up form then says which addresses are taken.
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
# Sign-up, login and password reset never tell whether an address has an account.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_LOGOUT_REDIRECT_URL = "web:home"
ACCOUNT_ALLOW_REGISTRATION = env.bool("ACCOUNT_ALLOW_REGISTRATION", default=True)
ACCOUNT_ADAPTER = "apps.users.adapters.AccountAdapter"
# https://docs.allauth.org/en/latest/account/rate_limits.html
# Rate limits count per client address. Behind N proxies of your own (a load balancer,
# a TLS terminator) every request comes from the last proxy: set N so that the client's
# address is read from X-Forwarded-For instead. 0 ignores that header, which anyone
# can write.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
# https://docs.allauth.org/en/latest/mfa/configuration.html
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME

# STRIPE / DJ-STRIPE
# ------------------------------------------------------------------------------
# https://dj-stripe.dev/dj-stripe/2.11/reference/settings/
STRIPE_LIVE_MODE = env.bool("STRIPE_LIVE_MODE", default=False)
STRIPE_TEST_SECRET_KEY = env("STRIPE_TEST_SECRET_KEY", default="")
STRIPE_LIVE_SECRET_KEY = env("STRIPE_LIVE_SECRET_KEY", default="")
STRIPE_TEST_PUBLIC_KEY = env("STRIPE_TEST_PUBLIC_KEY", default="")
STRIPE_LIVE_PUBLIC_KEY = env("STRIPE_LIVE_PUBLIC_KEY", default="")
# Seconds stripe-python waits for Stripe (to connect, then for each read of the
# answer) and times it tries a failed call again. With 5 and 1, a hung Stripe fails
# a request within 15 s (apps.subscriptions.stripe_client.worst_case_seconds), well
# inside gunicorn's timeout (gunicorn.conf.py).
STRIPE_HTTP_TIMEOUT_SECONDS = env.float("STRIPE_HTTP_TIMEOUT_SECONDS", default=5.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=1)
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
{%- if cookiecutter.billing_subject == "team" %}
DJSTRIPE_SUBSCRIBER_MODEL = "teams.Team"
{%- else %}
DJSTRIPE_SUBSCRIBER_MODEL = "users.User"
{%- endif %}
# The local stand-in for Stripe (python -m stripe_emulator); refused in production.
STRIPE_EMULATOR = env.bool("STRIPE_EMULATOR", default=False)
# `make dev` starts it on STRIPE_EMULATOR_PORT (see Procfile.dev).
STRIPE_EMULATOR_PORT = env.int("STRIPE_EMULATOR_PORT", default=12111)
STRIPE_EMULATOR_URL = env(
    "STRIPE_EMULATOR_URL", default=f"http://127.0.0.1:{STRIPE_EMULATOR_PORT}"
)

# SUBSCRIPTIONS
# ------------------------------------------------------------------------------
# Who the subscriber of a request is and who manages its billing (see
# apps/subscriptions/subscribers.py for what the adapter module provides).
{%- if cookiecutter.billing_subject == "team" %}
SUBSCRIPTIONS_BILLING_ADAPTER = "apps.teams.billing"
{%- else %}
SUBSCRIPTIONS_BILLING_ADAPTER = "apps.users.billing"
{%- endif %}
# The scheme of the links handed to Stripe (Checkout's success and cancel pages, the
# portal's return page): https once the site is served over HTTPS.
USE_HTTPS_IN_ABSOLUTE_URLS = env.bool("USE_HTTPS_IN_ABSOLUTE_URLS", default=False)
# Statuses that count as paid for: gates and pages read these from local rows.
SUBSCRIPTIONS_ACTIVE_STATUSES = env.list(
    "SUBSCRIPTIONS_ACTIVE_STATUSES", default=["active", "trialing", "past_due"]
)
# Bill per seat: the Stripe quantity follows the subscriber's get_quantity().
SUBSCRIPTIONS_PER_SEAT = {{ "True" if cookiecutter.per_seat_billing == "y" else "False" }}
# https://docs.stripe.com/billing/subscriptions/prorations
SUBSCRIPTIONS_PRORATION_BEHAVIOR = env(
    "SUBSCRIPTIONS_PRORATION_BEHAVIOR", default="create_prorations"
)
# https://docs.stripe.com/billing/subscriptions/trials
# Days of free trial of the plans whose ProductMetadata sets no trial_days (0: none).
SUBSCRIPTIONS_TRIAL_DAYS = env.int("SUBSCRIPTIONS_TRIAL_DAYS", default=0)
# Whether Checkout asks for a card before a trial starts (payment_method_collection
# "always") or starts it without one ("if_required").
SUBSCRIPTIONS_TRIAL_REQUIRES_CARD = env.bool(
    "SUBSCRIPTIONS_TRIAL_REQUIRES_CARD", default=False
)
# What Stripe does when a trial ends with no card: cancel, pause or create_invoice
# (trial_settings.end_behavior.missing_payment_method).
SUBSCRIPTIONS_TRIAL_END_BEHAVIOR = env(
    "SUBSCRIPTIONS_TRIAL_END_BEHAVIOR", default="cancel"
)
# https://docs.stripe.com/billing/subscriptions/coupons
# Whether Checkout has a field for a promotion code (allow_promotion_codes).
SUBSCRIPTIONS_ALLOW_PROMOTION_CODES = env.bool(
    "SUBSCRIPTIONS_ALLOW_PROMOTION_CODES", default=True
)
# Seconds between two refreshes of the local coupons and promotion codes from
# Stripe, for what webhooks missed (apps.subscriptions.coupons).
SUBSCRIPTIONS_REFRESH_COUPONS_INTERVAL = env.int(
    "SUBSCRIPTIONS_REFRESH_COUPONS_INTERVAL", default=24 * 60 * 60
)
# Days a past_due subscription keeps access after its first failed payment; then the
# gates close until it is paid. Counts only while past_due is an active status.
SUBSCRIPTIONS_GRACE_PERIOD_DAYS = env.int("SUBSCRIPTIONS_GRACE_PERIOD_DAYS", default=7)
# https://docs.stripe.com/invoicing/customer/balance
# The smallest and largest wallet top-up, in the currency's smallest unit (cents).
SUBSCRIPTIONS_WALLET_TOP_UP_MIN = env.int(
    "SUBSCRIPTIONS_WALLET_TOP_UP_MIN", default=500
)
SUBSCRIPTIONS_WALLET_TOP_UP_MAX = env.int(
    "SUBSCRIPTIONS_WALLET_TOP_UP_MAX", default=100000
)
# Invoices and payments on each page of the billing history.
SUBSCRIPTIONS_BILLING_HISTORY_PER_PAGE = env.int(
    "SUBSCRIPTIONS_BILLING_HISTORY_PER_PAGE", default=10
)
# The most units of a one-off product bought at once.
SUBSCRIPTIONS_ONE_OFF_MAX_QUANTITY = env.int(
    "SUBSCRIPTIONS_ONE_OFF_MAX_QUANTITY", default=10
)
# The billing e-mails the subscriber's billing managers get, by kind (see
# apps/subscriptions/customer_emails.py): leave one out to switch it off.
SUBSCRIPTIONS_CUSTOMER_EMAILS = env.list(
    "SUBSCRIPTIONS_CUSTOMER_EMAILS",
    default=[
        "subscription_started",
        "trial_ending",
        "payment_failed",
        "payment_recovered",
        "cancellation_scheduled",
        "subscription_ended",
        "payment_refunded",
        "duplicate_canceled",
    ],
)
# Seconds between two seat syncs (per-seat billing; local settings use 60).
SUBSCRIPTIONS_SYNC_INTERVAL = env.int("SUBSCRIPTIONS_SYNC_INTERVAL", default=86400)
# Seconds between two reconciliations of every subscription with Stripe, by
# polling: it applies what lost webhooks did not tell (apps.subscriptions.reconcile).
SUBSCRIPTIONS_RECONCILE_INTERVAL = env.int(
    "SUBSCRIPTIONS_RECONCILE_INTERVAL", default=60 * 60
)
# Seconds between two checks for Stripe events the webhook endpoint missed
# (apps.subscriptions.pending_webhooks).
SUBSCRIPTIONS_PENDING_WEBHOOKS_INTERVAL = env.int(
    "SUBSCRIPTIONS_PENDING_WEBHOOKS_INTERVAL", default=60 * 60
)
# Seconds a check looks back before the newest stored event: at least the interval,
# so that a gap that opened and closed between two checks is still seen.
SUBSCRIPTIONS_PENDING_WEBHOOKS_OVERLAP = env.int(
    "SUBSCRIPTIONS_PENDING_WEBHOOKS_OVERLAP",
    default=SUBSCRIPTIONS_PENDING_WEBHOOKS_INTERVAL + 5 * 60,
)
# More missed events than this in one check mail the ADMINS: the endpoint is likely
# disabled, deleted or at a wrong URL.
SUBSCRIPTIONS_PENDING_WEBHOOKS_THRESHOLD = env.int(
    "SUBSCRIPTIONS_PENDING_WEBHOOKS_THRESHOLD", default=20
)
# Times the check itself tries an event whose processing raised, before it gives up.
SUBSCRIPTIONS_PENDING_WEBHOOKS_MAX_ATTEMPTS = env.int(
    "SUBSCRIPTIONS_PENDING_WEBHOOKS_MAX_ATTEMPTS", default=5
)
# https://docs.celeryq.dev/en/stable/userguide/periodic-tasks.html#entries
# Every site polls Stripe for what lost webhooks did not tell it.
CELERY_BEAT_SCHEDULE["reconcile-subscriptions"] = {
    "task": "apps.subscriptions.tasks.reconcile_subscriptions_task",
    "schedule": SUBSCRIPTIONS_RECONCILE_INTERVAL,
}
CELERY_BEAT_SCHEDULE["check-pending-webhooks"] = {
    "task": "apps.subscriptions.tasks.check_pending_webhooks_task",
    "schedule": SUBSCRIPTIONS_PENDING_WEBHOOKS_INTERVAL,
}
CELERY_BEAT_SCHEDULE["refresh-coupons"] = {
    "task": "apps.subscriptions.tasks.refresh_coupons_task",
    "schedule": SUBSCRIPTIONS_REFRESH_COUPONS_INTERVAL,
}
{%- if cookiecutter.per_seat_billing == "y" %}
# https://docs.celeryq.dev/en/stable/userguide/periodic-tasks.html#entries
# Seat counts that changed reach Stripe on this schedule (apps.subscriptions.sync).
CELERY_BEAT_SCHEDULE["sync-subscriptions"] = {
    "task": "apps.subscriptions.tasks.sync_subscriptions_task",
    "schedule": SUBSCRIPTIONS_SYNC_INTERVAL,
}
{%- endif %}
{%- if cookiecutter.billing_subject == "team" %}

# TEAMS
# ------------------------------------------------------------------------------
# Days an invitation link stays valid.
TEAMS_INVITATION_EXPIRY_DAYS = env.int("TEAMS_INVITATION_EXPIRY_DAYS", default=7)
# The most invitation e-mails (resent ones included) one team, and one person, may
# send in an hour: invitations go to any address, so they must not make a mailer.
TEAMS_INVITATIONS_PER_HOUR_PER_TEAM = env.int(
    "TEAMS_INVITATIONS_PER_HOUR_PER_TEAM", default=20
)
TEAMS_INVITATIONS_PER_HOUR_PER_USER = env.int(
    "TEAMS_INVITATIONS_PER_HOUR_PER_USER", default=20
)
{%- endif %}
