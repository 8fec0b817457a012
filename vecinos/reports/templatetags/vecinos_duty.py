from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def verifiers_on_duty() -> int:
    """How many verifiers are on duty now (the console offers other ways when none is)."""
    from vecinos.reports.verify_otherwise import verifiers_on_duty_count

    return verifiers_on_duty_count()


@register.simple_tag
def verified_otherwise_form():
    from vecinos.reports.views_notify import VerifiedOtherwiseForm

    return VerifiedOtherwiseForm()
