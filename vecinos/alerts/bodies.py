"""What each person reads: the alert in their language, with the acknowledgement link."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from vecinos.alerts.acks import (
    FanOutSigner,
    ack_link,
)
from vecinos.alerts.models import (
    Alert,
)
from vecinos.alerts.rules import (
    FALLBACK_LANGUAGES,
)
from vecinos.core import languages
from vecinos.messaging.models import Channel


def message_for(alert: Alert, language: str) -> tuple[str, str]:
    """The alert's text in the person's language, falling back to Spanish, then English."""
    for lang in (language, *FALLBACK_LANGUAGES):
        if alert.messages.get(lang):
            return alert.messages[lang], lang
    lang, text = next(iter(alert.messages.items()))
    return text, lang


def _wording_language(lang: str) -> str:
    """The language the words around the alert (the confirmation request) are in: the text's
    own when the interface ships in it, else Spanish."""
    known = languages.get(lang)
    if known is not None and (known.code == "en" or languages.has_catalog(known)):
        return known.code
    return "es"


def _bodies(alert: Alert):
    """A fast body maker for a fan-out: each language's wording is translated once."""
    templates: dict[tuple[str, str], tuple[str, bool]] = {}
    signer = FanOutSigner()

    def make(recipient_id: int, language: str, channel: str) -> str:
        key = (language, channel)
        if key not in templates:
            text, lang = message_for(alert, language)
            with translation.override(_wording_language(lang)):
                if channel == Channel.VOICE or alert.kind in (
                    Alert.Kind.ALL_CLEAR,
                    Alert.Kind.CORRECTION,
                    Alert.Kind.NOTICE,
                ):
                    templates[key] = (text, False)
                else:
                    wording = (
                        # A reply on Signal reaches no one here: only the link confirms.
                        _("%(text)s Confirm you got this: %(link)s")
                        if channel == Channel.SIGNAL
                        else _("%(text)s Reply 1 to confirm you got this: %(link)s")
                    )
                    templates[key] = (wording.replace("%(text)s", text.replace("%", "%%")), True)
        wording, with_link = templates[key]
        return wording % {"link": ack_link(recipient_id, signer)} if with_link else wording

    return make
