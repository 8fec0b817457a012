from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MapsConfig(AppConfig):
    name = "vecinos.maps"
    label = "maps"
    verbose_name = _("Maps")

    def ready(self) -> None:
        from vecinos.core.extensions import add_page_rule
        from vecinos.maps import checks  # noqa: F401  (registers the tile-source check)
        from vecinos.network import selectors as network

        add_page_rule("zone_list", network.is_coalition_coordinator)
