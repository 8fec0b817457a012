from django import template

from vecinos.core import languages

register = template.Library()


@register.filter
def translation_needs_review(code: str | None) -> bool:
    """``{% if LANGUAGE_CODE|translation_needs_review %}``: see ``languages.needs_review``."""
    return languages.needs_review(code)


@register.filter
def native_language_name(code: str | None) -> str:
    """The language's own name from the registry ("Tagalog", "한국어"). Django's
    ``language_name_local`` knows no Tagalog (it raises KeyError for "tl")."""
    lang = languages.get(code)
    return lang.native_name if lang is not None else (code or "")


@register.filter
def language_label(code: str | None) -> str:
    """``{{ code|language_label }}``: "한국어 (Korean)", see ``languages.label``; a code the
    registry does not know stays as it is."""
    lang = languages.get(code)
    return str(languages.label(lang)) if lang is not None else (code or "")
