from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "vecinos.alerts"
    label = "alerts"
    verbose_name = _("Alerts")

    def ready(self) -> None:
        from vecinos.alerts import (
            inbound,  # noqa: F401  (registers SMS keywords and acks)
            selectors,
        )
        from vecinos.reports import hooks

        # reports never imports alerts: the incident timeline and the console ask these.
        hooks.register_alert_counts(selectors.incident_alert_counts)
        hooks.register_console_notices(selectors.approval_notices)
