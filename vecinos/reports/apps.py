from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# What each audit action this app writes means, for the audit log (core.extensions).
AUDIT_ACTIONS = {
    "report.ban_source": _("Report source banned"),
    "report.recording_fetched": _("Hotline recording downloaded"),
    "report.recording_deleted_at_provider": _("Hotline recording deleted at the phone provider"),
    "report.recording_gone": _("Hotline recording already gone at the provider"),
    "incident.responders_ask": _("Responders asked to look"),
    "incident.verified_otherwise": _("Incident verified another way"),
}


class ReportsConfig(AppConfig):
    name = "vecinos.reports"
    label = "reports"
    verbose_name = _("Reports and incidents")

    def ready(self) -> None:
        from vecinos.core.extensions import add_audit_actions, add_nav, add_purge_step
        from vecinos.reports.purge import purge_personal

        add_purge_step("reports", purge_personal, order=40)
        from django.db.models.signals import post_delete, post_save

        from vecinos.reports.models import BannedSource
        from vecinos.reports.services import forget_no_bans

        # A ban made (or lifted) in this process applies to its next report at once.
        post_save.connect(forget_no_bans, sender=BannedSource, dispatch_uid="reports.no_bans")
        post_delete.connect(forget_no_bans, sender=BannedSource, dispatch_uid="reports.no_bans_d")
        add_audit_actions(AUDIT_ACTIONS)
        from vecinos.reports import (
            inbound,  # noqa: F401  (registers SMS/voice handlers)
            selectors,
        )

        add_nav(
            "console",
            _("Dispatch console"),
            group="now",
            allowed=selectors.can_use_console,
            order=10,
        )
        add_nav("duty", _("On duty"), group="now", allowed=selectors.can_take_duty, order=20)
        add_nav(
            "quick_report",
            _("Quick report"),
            group="now",
            allowed=selectors.can_quick_report,
            order=50,
        )
        add_nav("my_requests", _("My requests"), group="me", allowed=selectors.can_verify, order=30)
