"""What the voice hotline says, as data: the language menu's pages and the prompts a coordinator
records for the languages no text-to-speech voice reads.

Plain data and lazy strings only (no models, no queries): ``alerts.models`` takes the prompt
kinds as choices of its recorded templates, and ``reports.voice`` speaks them.

The language menu (``PAGES``): each language's entry is spoken in that language ("For 한국어,
press 2." with the Korean voice, or the coordinator's recording of the entry), in registry
order, at most nine keys a page. ``MORE`` leads to the next page; a caller who presses nothing
hears the next page too, so waiting is enough to hear every language. The keys are fixed:
a recorded entry says its own key, and the coordinator page shows which key to say.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

MORE = "9"
PAGES: tuple[tuple[str, ...], ...] = (
    ("en", "es"),
    ("tl", "ko", "zh-hans", "zh-hant", "vi", "hy", "fa", "ar"),
    ("ru", "km", "ja", "mix", "zap", "quc", "kjb", "mam", "tsz"),
)

LANGUAGE_ENTRY = _("For %(language)s, press %(key)s.")
MORE_LANGUAGES = _("For more languages, press %(key)s.")
MENU = _("To speak with a dispatcher, press 1. To leave a message, press 2.")
MENU_RIGHTS = _("To hear your rights, press 3.")
RECORD = _(
    "After the tone, tell us what you see, where, and how many agents. "
    "Press the pound key when you finish."
)
NO_DISPATCHER = _("No dispatcher is available right now.")
NO_ANSWER = _("No dispatcher could answer.")
THANKS = _("Thank you. A dispatcher will listen to your message. Stay safe.")
NOT_AN_OPTION = _("Sorry, that is not an option.")
NOTHING_RECORDED = _("We did not receive a message. Goodbye.")
CONNECTING = _("Connecting you with a dispatcher. Please hold.")

# Recorded prompt kinds (``alerts.TemplateRecording.kind``, at most 12 characters): the label
# on the coordinator page and what to say in the recording.
LANGUAGE = "hl-language"
PROMPTS: tuple[tuple[str, object, tuple[object, ...]], ...] = (
    (LANGUAGE, _("Language menu"), (LANGUAGE_ENTRY,)),
    ("hl-menu", _("Main menu"), (MENU, MENU_RIGHTS)),
    ("hl-busy", _("No dispatcher: leave a message"), (NO_DISPATCHER,)),
    ("hl-record", _("How to leave a message"), (RECORD,)),
    ("hl-thanks", _("Thanks"), (THANKS,)),
    ("hl-connect", _("Connecting to a dispatcher"), (CONNECTING,)),
    ("hl-sorry", _("Not an option"), (NOT_AN_OPTION,)),
    ("hl-bye", _("No message: goodbye"), (NOTHING_RECORDED,)),
)
KINDS: tuple[str, ...] = tuple(kind for kind, _label, _script in PROMPTS)
CHOICES: list[tuple[str, object]] = [(kind, label) for kind, label, _script in PROMPTS]

# A language without a voice and without its recorded entry is offered in Spanish: by the name
# Spanish gives it ("Para mixteco, oprima 4.").
SPOKEN_NAMES = {
    "hy": _("Armenian"),
    "fa": _("Farsi"),
    "km": _("Khmer"),
    "mix": _("Mixteco"),
    "zap": _("Zapotec"),
    "quc": _("K'iche'"),
    "kjb": _("Q'anjob'al"),
    "mam": _("Mam"),
    "tsz": _("Purépecha"),
}


def menu_key(code: str) -> tuple[int, str]:
    """(page number from 1, key) of a language's entry in the menu; (0, "") when not offered."""
    for number, page in enumerate(PAGES, 1):
        if code in page:
            return number, str(page.index(code) + 1)
    return 0, ""


def keys_to_press(code: str) -> str:
    """The keys a caller presses from the first page: "9 9 4" for Mixteco."""
    number, key = menu_key(code)
    return " ".join([MORE] * (number - 1) + [key]) if key else ""
