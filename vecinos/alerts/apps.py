from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "vecinos.alerts"
    label = "alerts"
    verbose_name = _("Alerts")

    def ready(self) -> None:
        from vecinos.alerts import inbound  # noqa: F401  (registers SMS keywords and acks)
