from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnboardingConfig(AppConfig):
    name = "vecinos.onboarding"
    label = "onboarding"
    verbose_name = _("Onboarding")

    def ready(self) -> None:
        from vecinos.network import demo
        from vecinos.onboarding.demo import load_day_one

        if load_day_one not in demo.EXTENSIONS:
            demo.EXTENSIONS.append(load_day_one)
