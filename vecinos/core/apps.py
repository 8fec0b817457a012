from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "vecinos.core"
    label = "core"

    def ready(self) -> None:
        from vecinos.core import checks  # noqa: F401  (registers the system checks)
