from django.apps import AppConfig
from django.db.models.signals import pre_delete


class SubscriptionsConfig(AppConfig):
    name = "apps.subscriptions"
    verbose_name = "Subscriptions"

    def ready(self):
        # Registers the system checks, the dj-stripe webhook handlers and the app's
        # own receivers.
        from . import checks, payment_webhooks, receivers, webhooks  # noqa: F401
        from .stripe_client import configure_stripe_client
        from .subscribers import get_subscriber_model

        # Short timeouts and few retries for every Stripe call, dj-stripe's included.
        configure_stripe_client()
        pre_delete.connect(
            receivers.cancel_subscriptions_before_delete,
            sender=get_subscriber_model(),
            dispatch_uid="subscriptions.cancel_before_delete",
        )
        if self.apps.is_installed("django.contrib.admin"):
            from .admin import install_billing_admin

            install_billing_admin()
