from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# Django puts ":" after a form's label unless the label already ends with one of these, which
# it looks up as a translation (BoundField.label_tag). Each catalog adds its language's own
# question marks and colons, so "كيف نتواصل معك؟" and "どの方法でご連絡しましょうか？" get no
# ":" after them (outside walk, session 17).
# Translators: keep ":?.!" and add your language's question mark, colon and full stop, if any.
LABEL_ENDS = gettext_noop(":?.!")

# What each audit action core writes means, for the audit log (extensions.add_audit_actions):
# coalition.set_language_reviewed, a coalition coordinator's mark on an interface language.
AUDIT_ACTIONS = {
    "language.reviewed": _("Language marked as reviewed"),
    "language.needs_review": _("Language marked as needing review"),
}


class CoreConfig(AppConfig):
    name = "vecinos.core"
    label = "core"

    def ready(self) -> None:
        from vecinos.core import checks  # noqa: F401  (registers the system checks)
        from vecinos.core.extensions import add_audit_actions

        add_audit_actions(AUDIT_ACTIONS)
