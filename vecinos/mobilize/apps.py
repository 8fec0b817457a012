from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MobilizeConfig(AppConfig):
    name = "vecinos.mobilize"
    label = "mobilize"
    verbose_name = _("Call-outs and events")

    def ready(self) -> None:
        from vecinos.mobilize import inbound  # noqa: F401  (registers SMS replies and voice)
