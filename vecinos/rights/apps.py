from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RightsConfig(AppConfig):
    name = "vecinos.rights"
    label = "rights"
    verbose_name = _("Know your rights")

    def ready(self) -> None:
        from vecinos.core.extensions import add_nav
        from vecinos.rights import inbound  # noqa: F401  (registers RIGHTS / DERECHOS and voice)
        from vecinos.rights.selectors import can_mark_languages

        add_nav(
            "rights_translations",
            _("Translations and review"),
            group="people",
            allowed=can_mark_languages,
            order=80,
        )
        add_nav("rights_index", _("Know your rights"), group="me", allowed=lambda m: True, order=70)
