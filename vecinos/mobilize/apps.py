from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# What each audit action this app writes means, for the audit log (core.extensions).
AUDIT_ACTIONS = {
    "activation.create": _("Call-out drafted"),
    "activation.request_approval": _("Call-out approval requested"),
    "activation.approve": _("Call-out approved"),
    "activation.send": _("Call-out sent"),
    "activation.message": _("Call-out update sent"),
    "activation.stand_down": _("Call-out ended"),
    "activation.after_action": _("After-action log saved"),
    "event.create": _("Event created"),
    "event.update": _("Event changed"),
    "event.cancel": _("Event cancelled"),
    "event.rsvps_view": _("Event door list opened"),
    "event.check_in": _("Attendee checked in"),
    "event.training_not_recorded": _("Training not added to vetting"),
}


class MobilizeConfig(AppConfig):
    name = "vecinos.mobilize"
    label = "mobilize"
    verbose_name = _("Call-outs and events")

    def ready(self) -> None:
        from vecinos.core.extensions import (
            add_audit_actions,
            add_demo_step,
            add_nav,
            add_purge_step,
        )
        from vecinos.mobilize.demo import load_callout, load_events
        from vecinos.mobilize.purge import purge_personal

        add_demo_step("mobilize", load_events, order=60)
        add_demo_step("mobilize.callout", load_callout, order=61)

        # Call-out answers and RSVPs point at people: first.
        add_purge_step("mobilize", purge_personal, order=10)
        add_audit_actions(AUDIT_ACTIONS)
        from vecinos.mobilize import (
            inbound,  # noqa: F401  (registers SMS replies and voice)
            services,
        )

        add_nav("mobilize", _("Call-outs"), group="now", allowed=services.can_activate, order=40)
        add_nav("events", _("Events"), group="me", allowed=lambda member: True, order=60)
