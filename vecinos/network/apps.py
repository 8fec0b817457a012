from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NetworkConfig(AppConfig):
    name = "vecinos.network"
    label = "network"
    verbose_name = _("Coalition")

    def ready(self) -> None:
        from vecinos.core import roles
        from vecinos.network import inbound, selectors, signals  # noqa: F401

        roles.register("coordinator", selectors.is_coordinator)
