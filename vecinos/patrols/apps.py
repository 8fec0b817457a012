from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatrolsConfig(AppConfig):
    name = "vecinos.patrols"
    label = "patrols"
    verbose_name = _("Patrols")

    def ready(self) -> None:
        from vecinos.core.extensions import add_demo_step, add_nav, add_purge_step
        from vecinos.network import selectors as network
        from vecinos.patrols import selectors, services
        from vecinos.patrols.demo import demo_step
        from vecinos.patrols.purge import purge_personal

        add_demo_step("patrols", demo_step, order=30)
        add_purge_step("patrols", purge_personal, order=50)

        add_nav(
            "patrol_shifts", _("My shifts"), group="patrols", allowed=services.can_patrol, order=10
        )
        add_nav(
            "patrol_coverage",
            _("Patrol coverage"),
            group="patrols",
            allowed=selectors.can_see_coverage,
            order=20,
        )
        add_nav(
            "patrol_coord",
            _("Patrol places"),
            group="patrols",
            allowed=network.is_coordinator,
            order=30,
        )
