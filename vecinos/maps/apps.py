from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MapsConfig(AppConfig):
    name = "vecinos.maps"
    label = "maps"
    verbose_name = _("Maps")

    def ready(self) -> None:
        from vecinos.maps import checks  # noqa: F401  (registers the tile-source check)
