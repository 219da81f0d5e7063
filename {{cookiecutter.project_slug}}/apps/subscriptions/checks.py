"""System checks: what billing needs to be set up, and `ACTIVE_PRODUCTS` must name
products that can be sold."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.db import DatabaseError
from djstripe.settings import djstripe_settings

from .customer_emails import EMAIL_KINDS
from .metadata import PlanInterval, get_active_plan_intervals, get_active_products
from .portal import recorded_configuration_id

# Against the emulator, `make dev` runs this before the site starts.
SETUP_WITH_THE_EMULATOR = "with the emulator, `manage.py setup_local_billing` does it"


def _synced_products(product_ids):
    from djstripe.models import Price, Product

    products = {p.id: p for p in Product.objects.filter(id__in=product_ids)}
    intervals: dict[str, set[str]] = {product_id: set() for product_id in product_ids}
    for price in Price.objects.filter(active=True, product__id__in=product_ids):
        interval = PlanInterval.of_price(price.stripe_data)
        if interval is not None:
            intervals[price.product_id].add(interval.value)
    return products, intervals


@checks.register("subscriptions")
def check_active_products(app_configs=None, **kwargs):
    """Warn about `ACTIVE_PRODUCTS` entries that are not synced or have no price."""
    products = get_active_products()
    product_ids = [product.stripe_id for product in products]
    try:
        synced, intervals = _synced_products(product_ids)
    except DatabaseError:
        # Tables not migrated yet: nothing to compare against.
        return []
    messages = []
    for product in products:
        if product.stripe_id not in synced:
            messages.append(
                checks.Warning(
                    f"ACTIVE_PRODUCTS names {product.stripe_id} ({product.slug}), "
                    "which is not synced from Stripe.",
                    hint="Run `manage.py bootstrap_subscriptions` (with "
                    "--create-demo-products against the emulator), or fix the id "
                    "in apps/subscriptions/metadata.py.",
                    id="subscriptions.W001",
                )
            )
            continue
        for interval in get_active_plan_intervals():
            if interval.value not in intervals[product.stripe_id]:
                messages.append(
                    checks.Warning(
                        f"Product {product.stripe_id} ({product.slug}) has no active "
                        f"recurring price billed every {interval.every}.",
                        hint="Add the price in Stripe and run "
                        "`manage.py bootstrap_subscriptions`, or remove the interval "
                        "from ACTIVE_PLAN_INTERVALS.",
                        id="subscriptions.W002",
                    )
                )
    return messages


@checks.register("subscriptions")
def check_nothing_on_sale(app_configs=None, **kwargs):
    """Warn when `ACTIVE_PRODUCTS` is empty: the pricing page has nothing to show."""
    if get_active_products():
        return []
    return [
        checks.Warning(
            "ACTIVE_PRODUCTS is empty: nothing is on sale.",
            hint="Run `manage.py bootstrap_subscriptions` and paste the block it "
            "prints into apps/subscriptions/metadata.py.",
            id="subscriptions.W004",
        )
    ]


@checks.register("subscriptions")
def check_webhook_endpoint(app_configs=None, **kwargs):
    """Warn when no webhook endpoint is registered for the Stripe mode in use."""
    from djstripe.models import WebhookEndpoint

    live = djstripe_settings.STRIPE_LIVE_MODE
    try:
        registered = WebhookEndpoint.objects.filter(livemode=live).exists()
    except DatabaseError:
        return []  # not migrated yet
    if registered:
        return []
    mode = "live" if live else "test"
    return [
        checks.Warning(
            f"No Stripe webhook endpoint is registered in {mode} mode: subscriptions "
            "will not follow what happens in Stripe.",
            hint="Run `manage.py register_webhook_endpoint --base-url "
            f"https://your.domain` ({SETUP_WITH_THE_EMULATOR}).",
            id="subscriptions.W003",
        )
    ]


@checks.register("subscriptions")
def check_portal_configuration(app_configs=None, **kwargs):
    """Warn when the customer portal would open with Stripe's default configuration."""
    try:
        recorded = recorded_configuration_id()
    except DatabaseError:
        return []  # not migrated yet
    if recorded:
        return []
    return [
        checks.Warning(
            "No customer portal configuration is recorded: the portal opens with "
            "the account's default one, which may allow any plan or quantity.",
            hint="Run `manage.py configure_billing_portal` "
            f"({SETUP_WITH_THE_EMULATOR}).",
            id="subscriptions.W005",
        )
    ]


# https://docs.stripe.com/api/checkout/sessions/create
TRIAL_END_BEHAVIORS = ("cancel", "pause", "create_invoice")
# Stripe's bounds on `subscription_data.trial_period_days`.
MAX_TRIAL_DAYS = 730


@checks.register("subscriptions")
def check_billing_settings(app_configs=None, **kwargs):
    """Refuse trial, grace, e-mail and site address settings Stripe or the site
    cannot use, before the first Checkout or e-mail finds out."""
    errors = []
    behavior = settings.SUBSCRIPTIONS_TRIAL_END_BEHAVIOR
    if behavior not in TRIAL_END_BEHAVIORS:
        errors.append(
            checks.Error(
                f"SUBSCRIPTIONS_TRIAL_END_BEHAVIOR is {behavior!r}.",
                hint=f"Use one of {', '.join(TRIAL_END_BEHAVIORS)}.",
                id="subscriptions.E001",
            )
        )
    trials = {"SUBSCRIPTIONS_TRIAL_DAYS": settings.SUBSCRIPTIONS_TRIAL_DAYS}
    for product in get_active_products():
        if product.trial_days is not None:
            trials[f"trial_days of {product.slug}"] = product.trial_days
    for name, days in trials.items():
        if not 0 <= days <= MAX_TRIAL_DAYS:
            errors.append(
                checks.Error(
                    f"{name} is {days}.",
                    hint=f"A free trial lasts 1 to {MAX_TRIAL_DAYS} days; 0 for none.",
                    id="subscriptions.E002",
                )
            )
    if settings.SUBSCRIPTIONS_GRACE_PERIOD_DAYS < 0:
        errors.append(
            checks.Error(
                "SUBSCRIPTIONS_GRACE_PERIOD_DAYS is negative.",
                hint="0 closes the gates at the first failed payment.",
                id="subscriptions.E003",
            )
        )
    unknown = sorted(set(settings.SUBSCRIPTIONS_CUSTOMER_EMAILS) - set(EMAIL_KINDS))
    if unknown:
        errors.append(
            checks.Error(
                f"SUBSCRIPTIONS_CUSTOMER_EMAILS names unknown e-mails: {unknown}.",
                hint=f"Choose among {', '.join(EMAIL_KINDS)}.",
                id="subscriptions.E004",
            )
        )
    address = urlsplit(settings.SITE_URL)
    if address.scheme not in ("http", "https") or not address.netloc:
        errors.append(
            checks.Error(
                f"SITE_URL is {settings.SITE_URL!r}: links in e-mails need the "
                "site's address.",
                hint="Set it to the scheme and host, e.g. https://example.com.",
                id="subscriptions.E005",
            )
        )
    return errors


# Prefixes of Stripe's API keys by mode: secret, restricted and publishable.
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_", "pk_live_")
TEST_KEY_PREFIXES = ("sk_test_", "rk_test_", "pk_test_")


@checks.register(checks.Tags.security, deploy=True)
def check_stripe_keys(app_configs=None, **kwargs):
    """Refuse a deployment whose Stripe keys sit in the wrong mode's settings, or
    that has no secret key for the mode it runs in."""
    errors = []
    slots = {
        "STRIPE_TEST_SECRET_KEY": LIVE_KEY_PREFIXES,
        "STRIPE_TEST_PUBLIC_KEY": LIVE_KEY_PREFIXES,
        "STRIPE_LIVE_SECRET_KEY": TEST_KEY_PREFIXES,
        "STRIPE_LIVE_PUBLIC_KEY": TEST_KEY_PREFIXES,
    }
    for name, wrong_prefixes in slots.items():
        if getattr(settings, name, "").startswith(wrong_prefixes):
            mode = "live" if wrong_prefixes is LIVE_KEY_PREFIXES else "test"
            errors.append(
                checks.Error(
                    f"{name} holds a {mode}-mode key.",
                    hint=f"Put {mode} keys in the STRIPE_{mode.upper()}_* settings; "
                    "STRIPE_LIVE_MODE chooses which are used.",
                    id="subscriptions.E006",
                )
            )
    live = settings.STRIPE_LIVE_MODE
    needed = "STRIPE_LIVE_SECRET_KEY" if live else "STRIPE_TEST_SECRET_KEY"
    if not getattr(settings, needed, ""):
        errors.append(
            checks.Error(
                f"{needed} is empty, and STRIPE_LIVE_MODE is {live}: the site "
                "cannot reach Stripe.",
                hint=f"Set {needed} to the secret key of the Stripe account "
                f"({'sk_live_' if live else 'sk_test_'}...).",
                id="subscriptions.E007",
            )
        )
    return errors
