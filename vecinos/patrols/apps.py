from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# What each audit action this app writes means, for the audit log (core.extensions).
AUDIT_ACTIONS = {
    "patrol.place_create": _("Patrol place added"),
    "patrol.place_update": _("Patrol place changed"),
    "patrol.template_create": _("Recurring shift added"),
    "patrol.generate": _("Shifts generated"),
    "patrol.holiday": _("Holiday added"),
    "patrol.swap": _("Shift taken over in a swap"),
    "patrol.ask_to_fill": _("People asked to fill a shift"),
    "patrol.feed_create": _("Calendar link made"),
    "demo.patrols": _("Demo patrols loaded"),
}


class PatrolsConfig(AppConfig):
    name = "vecinos.patrols"
    label = "patrols"
    verbose_name = _("Patrols")

    def ready(self) -> None:
        from vecinos.core.extensions import (
            add_audit_actions,
            add_demo_step,
            add_nav,
            add_purge_step,
        )
        from vecinos.network import selectors as network
        from vecinos.patrols import selectors, services
        from vecinos.patrols.demo import demo_step
        from vecinos.patrols.purge import purge_personal

        add_demo_step("patrols", demo_step, order=30)
        add_purge_step("patrols", purge_personal, order=50)
        add_audit_actions(AUDIT_ACTIONS)

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
