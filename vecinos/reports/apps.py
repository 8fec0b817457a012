from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "vecinos.reports"
    label = "reports"
    verbose_name = _("Reports and incidents")

    def ready(self) -> None:
        from vecinos.reports import inbound  # noqa: F401  (registers SMS/voice handlers)
