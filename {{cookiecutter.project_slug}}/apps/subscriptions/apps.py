from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "apps.subscriptions"
    verbose_name = "Subscriptions"

    def ready(self):
        # Registers the system checks and the dj-stripe webhook handlers.
        from . import checks, webhooks  # noqa: F401
