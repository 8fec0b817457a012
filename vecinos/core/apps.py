from django.apps import AppConfig
from django.utils.translation import gettext_noop

# Django puts ":" after a form's label unless the label already ends with one of these, which
# it looks up as a translation (BoundField.label_tag). Each catalog adds its language's own
# question marks and colons, so "كيف نتواصل معك؟" and "どの方法でご連絡しましょうか？" get no
# ":" after them (outside walk, session 17).
# Translators: keep ":?.!" and add your language's question mark, colon and full stop, if any.
LABEL_ENDS = gettext_noop(":?.!")


class CoreConfig(AppConfig):
    name = "vecinos.core"
    label = "core"

    def ready(self) -> None:
        from vecinos.core import checks  # noqa: F401  (registers the system checks)
