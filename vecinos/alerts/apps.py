from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# What each audit action this app writes means, for the audit log (core.extensions).
AUDIT_ACTIONS = {
    "alert.create": _("Alert drafted"),
    "alert.request_approval": _("Alert approval requested"),
    "alert.approve": _("Alert approved"),
    "alert.send": _("Alert sent"),
    "alert.send_completed": _("Alert sending finished"),
    "alert.supersede": _("Earlier alerts stopped by a follow-up"),
    "alert.cancel": _("Alert cancelled before sending"),
    "alert.stop": _("Alert stopped"),
    "alert.recording_save": _("Voice recording saved"),
    "tree.view": _("Phone tree list opened"),
    "tree.mark": _("Phone tree call marked"),
    "subscription.request": _("Alert sign-up requested"),
    "subscription.resume": _("Alerts turned back on"),
    "subscription.phone_followed": _("Alerts moved to a new phone"),
    "push.subscribe": _("Notifications turned on"),
    "optout.import": _("Numbers added to the stop list"),
    "optout.lookup": _("Stop list searched"),
    "optout.undo": _("Number taken off the stop list"),
}


class AlertsConfig(AppConfig):
    name = "vecinos.alerts"
    label = "alerts"
    verbose_name = _("Alerts")

    def ready(self) -> None:
        from vecinos.alerts import (
            inbound,  # noqa: F401  (registers SMS keywords and acks)
            recordings,
            selectors,
        )
        from vecinos.network import phone_change
        from vecinos.reports import hooks

        # reports never imports alerts: the incident timeline and the console ask these.
        hooks.register_alert_counts(selectors.incident_alert_counts)
        hooks.register_console_notices(selectors.approval_notices)
        # ... and the hotline plays the prompts coordinators recorded here.
        hooks.register_prompt_recordings(recordings.prompt_urls)
        # A member's subscription follows their phone when it changes (network never imports
        # alerts).
        phone_change.phone_changed.connect(_follow_phone, dispatch_uid="alerts.follow_phone")
        _navigation(selectors)


def _follow_phone(sender, member, **kwargs) -> None:  # type: ignore[no-untyped-def]
    from vecinos.alerts.subscriptions import follow_member_phone

    follow_member_phone(member)


def _navigation(selectors) -> None:
    from vecinos.alerts import purge
    from vecinos.core.extensions import add_audit_actions, add_nav, add_page_rule, add_purge_step

    add_purge_step("alerts", purge.purge_personal, order=30)
    add_audit_actions(AUDIT_ACTIONS)

    add_nav("alerts", _("Alerts"), group="now", allowed=selectors.can_alert, order=30)
    add_nav("captain", _("Phone tree"), group="me", allowed=selectors.is_captain, order=40)
    add_nav("my_alerts", _("My alerts"), group="me", allowed=lambda member: True, order=20)
    add_page_rule("optouts", selectors.can_manage_optouts)
    add_page_rule("outbox", selectors.can_see_outbox)
    add_page_rule("alert_recordings", selectors.can_record_templates)
    add_page_rule("hotline_recordings", selectors.can_record_templates)
