from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MobilizeConfig(AppConfig):
    name = "vecinos.mobilize"
    label = "mobilize"
    verbose_name = _("Call-outs and events")

    def ready(self) -> None:
        from vecinos.core.extensions import add_demo_step, add_nav, add_purge_step
        from vecinos.mobilize.demo import load_callout, load_events
        from vecinos.mobilize.purge import purge_personal

        add_demo_step("mobilize", load_events, order=60)
        add_demo_step("mobilize.callout", load_callout, order=61)

        # Call-out answers and RSVPs point at people: first.
        add_purge_step("mobilize", purge_personal, order=10)
        from vecinos.mobilize import (
            inbound,  # noqa: F401  (registers SMS replies and voice)
            services,
        )

        add_nav("mobilize", _("Call-outs"), group="now", allowed=services.can_activate, order=40)
        add_nav("events", _("Events"), group="me", allowed=lambda member: True, order=60)
