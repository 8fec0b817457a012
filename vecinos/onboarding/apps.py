from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnboardingConfig(AppConfig):
    name = "vecinos.onboarding"
    label = "onboarding"
    verbose_name = _("Onboarding")

    def ready(self) -> None:
        from vecinos.core.extensions import add_demo_step, add_nav
        from vecinos.network import selectors as network
        from vecinos.onboarding.demo import load_day_one

        add_demo_step("onboarding", load_day_one, order=50)
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
