from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# What each audit action this app writes means, for the audit log (core.extensions).
AUDIT_ACTIONS = {
    "rights.version_create": _("Rights article edited"),
    "rights.version_reviewed": _("Rights article reviewed"),
    "rights.recording_save": _("Rights recording saved"),
}


class RightsConfig(AppConfig):
    name = "vecinos.rights"
    label = "rights"
    verbose_name = _("Know your rights")

    def ready(self) -> None:
        from vecinos.core.extensions import add_audit_actions, add_nav
        from vecinos.rights import inbound  # noqa: F401  (registers RIGHTS / DERECHOS and voice)
        from vecinos.rights.selectors import can_mark_languages

        add_audit_actions(AUDIT_ACTIONS)
        add_nav(
            "rights_translations",
            _("Translations and review"),
            group="people",
            allowed=can_mark_languages,
            order=80,
        )
        add_nav("rights_index", _("Know your rights"), group="me", allowed=lambda m: True, order=70)
