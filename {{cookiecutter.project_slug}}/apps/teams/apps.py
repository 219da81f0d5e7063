from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "apps.teams"
    verbose_name = "Teams"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the signal receivers)
