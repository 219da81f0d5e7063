from django.apps import AppConfig
from django.db.models.signals import pre_delete


class SubscriptionsConfig(AppConfig):
    name = "apps.subscriptions"
    verbose_name = "Subscriptions"

    def ready(self):
        # Registers the system checks, the dj-stripe webhook handlers and the app's
        # own receivers.
        from . import checks, payment_webhooks, receivers, webhooks  # noqa: F401
        from .subscribers import get_subscriber_model

        pre_delete.connect(
            receivers.cancel_subscriptions_before_delete,
            sender=get_subscriber_model(),
            dispatch_uid="subscriptions.cancel_before_delete",
        )
        if self.apps.is_installed("django.contrib.admin"):
            from .admin import install_billing_admin

            install_billing_admin()
