from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# What each audit action this app writes means, for the audit log (core.extensions).
# imports.run_import writes "import.<kind>" and "import.<kind>.counts", one per imports.Kind.
AUDIT_ACTIONS = {
    "import.members": _("Members imported"),
    "import.members.counts": _("Members imported: full counts"),
    "import.subscribers": _("Subscribers imported"),
    "import.subscribers.counts": _("Subscribers imported: full counts"),
    "import.texted": _("Imported people texted"),
    "import.pending_view": _("People waiting to join viewed"),
    "import.member_joined": _("Imported person joined"),
    "import.member_declined": _("Imported person declined"),
    "coalition.settings_update": _("Coalition settings changed"),
}


class OnboardingConfig(AppConfig):
    name = "vecinos.onboarding"
    label = "onboarding"
    verbose_name = _("Onboarding")

    def ready(self) -> None:
        from vecinos.core.extensions import (
            add_audit_actions,
            add_demo_step,
            add_nav,
            add_purge_step,
            add_retention_step,
        )
        from vecinos.network import selectors as network
        from vecinos.onboarding import joining
        from vecinos.onboarding.demo import load_day_one, load_phone_tree

        add_demo_step("onboarding", load_day_one, order=50)
        # After the call-out (mobilize, 61): the last thing the responders' phones got.
        add_demo_step("onboarding.phone_tree", load_phone_tree, order=62)
        add_retention_step("onboarding.pending_members", joining.drop_expired, order=91)
        add_retention_step(
            "onboarding.unconfirmed_subscribers", joining.drop_unconfirmed_subscribers, order=92
        )
        add_purge_step("onboarding.pending_members", joining.purge, order=50)
        add_audit_actions(AUDIT_ACTIONS)
        add_nav(
            "import_start",
            _("Import people"),
            group="people",
            allowed=network.is_coordinator,
            order=20,
        )
        add_nav(
            "coalition_settings",
            _("Coalition settings"),
            group="people",
            allowed=network.is_coalition_coordinator,
            order=60,
        )
