"""Forms of the alerts pages: compose an alert, member subscriptions, the public subscribe page,
opt-out imports.

Alert message templates are kept per language here (not in the UI catalog): an alert goes out
in the recipient's language whatever language the coordinator's screen is in, so the Spanish and
English texts must both exist at once. ``{area}``, ``{time}`` and ``{details}`` are filled by
the page where it can; whatever is left makes ``services.validate_messages`` refuse the message,
so a template is never sent half-filled.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vecinos.alerts import wording
from vecinos.alerts.models import RECORDING_KINDS, Alert, Tier
from vecinos.alerts.services import MAX_MESSAGE
from vecinos.core import geo, ids
from vecinos.core.coalition import brand_sms
from vecinos.core.languages import Language
from vecinos.messaging import selectors as messaging_selectors
from vecinos.network.models import LANGUAGE_CHOICES, Zone
from vecinos.network.phones import InvalidPhone, normalize_phone
from vecinos.reports import voice_prompts

MESSAGE_LANGUAGES = ("es", "en")

# Spanish and English are edited on the page; every language's text is in ``wording``.
MESSAGE_TEMPLATES: dict[str, dict[str, str]] = {
    kind: {lang: texts[lang] for lang in MESSAGE_LANGUAGES}
    for kind, texts in wording.TEMPLATES.items()
}
MISSING_FACT = wording.MISSING_FACT
# The fact each placeholder is filled from, and the form field it is asked in.
FACT_FIELDS = {"area": "area_label", "time": "time", "details": "details"}

EXPIRY_CHOICES = [
    (1, _("1 hour")),
    (2, _("2 hours")),
    (4, _("4 hours")),
    (8, _("8 hours")),
    (12, _("12 hours")),
    (24, _("1 day")),
    (48, _("2 days")),
    (72, _("3 days")),
]
DEFAULT_EXPIRY_HOURS = 4
DEFAULT_RADIUS_M = 2000


local_time = wording.local_time


def fill_template(text: str, *, area: str = "", when: datetime | None = None, lang: str) -> str:
    """Fill what is known; leave unknown placeholders for the coordinator to write."""
    if area:
        text = text.replace("{area}", area)
    if when is not None:
        text = text.replace("{time}", local_time(when, lang))
    return text


def filled_templates(*, area: str = "", when: datetime | None = None) -> dict[str, dict[str, str]]:
    return {
        str(kind): {
            # Prefilled with the coalition's short name, as the text message will start.
            lang: brand_sms(fill_template(text, area=area, when=when, lang=lang))
            for lang, text in texts.items()
        }
        for kind, texts in MESSAGE_TEMPLATES.items()
    }


def other_template_languages() -> list[str]:
    """The written languages but Spanish and English (whose messages are typed on the page)."""
    return [code for code in wording.template_languages() if code not in MESSAGE_LANGUAGES]


def template_previews(
    kind: str,
    *,
    area: str = "",
    time: str = "",
    details: str = "",
    details_in: dict[str, str] | None = None,
) -> list[tuple[Language, str]]:
    """(language, its message of ``kind`` with the known facts) for every written language but
    Spanish and English (edited on the page): the composer shows them, and its script swaps them
    as the kind and the facts change."""
    from vecinos.core import languages

    facts = {"area": area, "time": time, "details": details}
    made = wording.messages_for(kind, facts, details_in)
    return [
        (languages.BY_CODE[code], made[code]) for code in other_template_languages() if code in made
    ]


def raw_templates() -> dict[str, dict[str, str]]:
    """Every kind's template in every written language, placeholders left (for the script)."""
    languages_ = wording.template_languages()
    return {
        kind: {lang: brand_sms(text) for lang, text in texts.items() if lang in languages_}
        for kind, texts in wording.TEMPLATES.items()
    }


class ZoneMultipleChoiceField(ids.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Zone) -> str:
        return obj.name


class AlertForm(forms.Form):
    """Compose an alert. For a follow-up (``parent``) tiers and target come from the original."""

    kind = forms.ChoiceField(label=_("Kind of alert"), choices=Alert.Kind.choices)
    tiers = forms.MultipleChoiceField(
        label=_("Who gets it"),
        choices=Tier.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Public subscribers need a second coordinator or dispatcher to approve."),
    )
    zones = ZoneMultipleChoiceField(
        label=_("Zones"),
        queryset=Zone.objects.order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Choose zones, or a place and a radius below."),
    )
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    lng = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    radius_m = forms.IntegerField(
        label=_("Radius in meters"),
        required=False,
        min_value=50,
        max_value=50_000,
        initial=DEFAULT_RADIUS_M,
    )
    area_label = forms.CharField(
        label=_("Area name"),
        max_length=120,
        required=False,
        help_text=_("Shown publicly (in the alert feed): a neighborhood, never an address."),
    )
    # Corners of an area drawn on the map, [[lat, lng], ...] as JSON (set by the map script).
    polygon = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20_000)
    message_es = forms.CharField(
        label=_("Message in Spanish"),
        required=False,
        max_length=MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 4, "lang": "es"}),
    )
    message_en = forms.CharField(
        label=_("Message in English"),
        required=False,
        max_length=MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 4, "lang": "en"}),
    )
    # The facts, written once: with ``all_languages`` every language's message is made from the
    # kind's template (``wording``) and they fill what is left unfilled in Spanish and English.
    time = forms.CharField(label=_("Time"), required=False, max_length=40)
    details = forms.CharField(
        label=_("What to do, or other details"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    all_languages = forms.BooleanField(
        label=_("Also send it in every other language, written from the template"),
        required=False,
    )
    rights_article = forms.ChoiceField(label=_("rights article"), required=False, choices=[])
    expires_hours = forms.TypedChoiceField(
        label=_("Expires after"),
        choices=EXPIRY_CHOICES,
        coerce=int,
        initial=DEFAULT_EXPIRY_HOURS,
        help_text=_("Messages not delivered by then are not sent."),
    )
    incident = forms.IntegerField(required=False, widget=forms.HiddenInput)
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, parent: Alert | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.parent_alert = parent
        # The details in each other language, optional: what is left blank goes out as typed
        # above (outside walk: the Korean text carried the Spanish details).
        from vecinos.core import languages

        for code in other_template_languages():
            lang = languages.BY_CODE[code]
            label = _("Details in %(language)s") % {"language": lang.native_name}
            # The page shows the box in a <details> under its language's preview: the summary
            # says what it is, and the box is named for screen readers by the same words.
            attrs = {"rows": 2, "lang": code, "dir": lang.direction, "aria-label": label}
            self.fields[f"details_{code}"] = forms.CharField(
                label=label, required=False, max_length=300, widget=forms.Textarea(attrs=attrs)
            )
        field = cast(forms.ChoiceField, self.fields["rights_article"])
        field.label = capfirst(field.label)
        field.choices = [("", "—"), *wording.rights_choices()]
        if parent is not None:
            from vecinos.alerts.services import FOLLOWUP_KINDS

            cast(forms.ChoiceField, self.fields["kind"]).choices = [
                (k, label) for k, label in Alert.Kind.choices if k in FOLLOWUP_KINDS
            ]
            for name in ("tiers", "zones", "lat", "lng", "radius_m", "polygon"):
                del self.fields[name]

    def clean(self) -> dict:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        if self.parent_alert is None:
            has_lat, has_lng = data.get("lat") is not None, data.get("lng") is not None
            if has_lat != has_lng:
                self.add_error("lat", _("Give both latitude and longitude, or neither."))
        if data.get("all_languages") and data.get("kind"):
            facts = self.facts()
            for name in wording.missing_facts(data["kind"], facts):
                field = FACT_FIELDS[name]
                if field in self.fields and field not in self.errors:
                    self.add_error(field, MISSING_FACT)
        return data

    def facts(self) -> dict[str, str]:
        facts = {
            name: (self.cleaned_data.get(field) or "").strip()
            for name, field in FACT_FIELDS.items()
        }
        parent = self.parent_alert
        if not facts["area"] and parent is not None:  # a follow-up is about the original's area
            facts["area"] = parent.area_label or ", ".join(z.name for z in parent.zones.all())
        return facts

    def clean_polygon(self) -> list[list[float]]:
        return parse_polygon(self.cleaned_data.get("polygon") or "")

    def messages(self) -> dict[str, str]:
        """Spanish and English as written; with ``all_languages`` the facts fill what they left
        unfilled, and every other written language comes from the kind's template."""
        facts = self.facts()
        # Details typed for a kind whose text has no place for them go at its end.
        typed = {
            lang: wording.with_details(
                self.cleaned_data.get(f"message_{lang}", ""), facts["details"]
            )
            if self.cleaned_data.get(f"message_{lang}", "").strip()
            else ""
            for lang in MESSAGE_LANGUAGES
        }
        made = typed
        if self.cleaned_data.get("all_languages"):
            made = wording.messages_for(self.cleaned_data["kind"], facts, self.details_in())
            for lang in MESSAGE_LANGUAGES:
                made[lang] = wording.fill(typed[lang], wording.facts_in(lang, facts))
        return wording.attach_rights(made, self.cleaned_data.get("rights_article") or "")

    def details_in(self) -> dict[str, str]:
        """The details written in other languages, by language code (blank ones left out)."""
        return {
            code: text.strip()
            for code in other_template_languages()
            if (text := self.cleaned_data.get(f"details_{code}") or "").strip()
        }

    def details_as_typed(self) -> list[str]:
        """The other languages whose message carries the details as they were typed: details
        were given, and none written for that language."""
        if not self.cleaned_data.get("all_languages"):
            return []
        if not (self.cleaned_data.get("details") or "").strip():
            return []
        own = self.details_in()
        return [code for code in other_template_languages() if code not in own]

    def language_details(self) -> list:
        """(code, bound field) of each other language's details, in the registry's order."""
        return [(code, self[f"details_{code}"]) for code in other_template_languages()]

    def point(self) -> tuple[float, float] | None:
        lat, lng = self.cleaned_data.get("lat"), self.cleaned_data.get("lng")
        return (lat, lng) if lat is not None and lng is not None else None

    def expires_at(self) -> datetime:
        return timezone.now() + timedelta(hours=self.cleaned_data["expires_hours"])

    # Service errors name these keys; a form field shows each next to what it is about.
    SERVICE_FIELDS = {
        "kind": "kind",
        "tiers": "tiers",
        "target": "zones",
        "polygon": "polygon",
        "radius_m": "radius_m",
        "expires_at": "expires_hours",
        "message_es": "message_es",
        "message_en": "message_en",
    }

    def error_links(self) -> list[tuple[str, str, str]]:
        """(id to jump to, name, first message) of each field with an error, in the page's
        order: the summary at the top of the composer lists them (outside walk: on a phone an
        error far down the page left the button seeming to do nothing)."""
        names = [n for n in self.fields if not n.startswith("details_")]
        at = names.index("all_languages") + 1
        names[at:at] = [n for n in self.fields if n.startswith("details_")]
        links = []
        for name in names:
            bound = self[name]
            if not bound.errors:
                continue
            if name == "polygon":  # drawn on the map: the "Where" box holds it
                anchor, label = "alert-where", str(_("Where"))
            elif name == "tiers":  # a box per audience: the first one
                anchor, label = f"{bound.auto_id}_0", str(bound.label)
            else:
                anchor, label = bound.auto_id, str(bound.label)
            links.append((anchor, label, str(bound.errors[0])))
        return links

    def add_service_errors(self, errors: dict[str, str]) -> None:
        for key, message in errors.items():
            field = self.SERVICE_FIELDS.get(key)
            if field not in self.fields:
                field = None
            self.add_error(field, message)


class ApproveForm(forms.Form):
    """Nothing to fill in: the button is the decision (CSRF-protected)."""


# --- subscriptions -----------------------------------------------------------------------------

CHANNEL_CHOICES = [
    ("sms", _("Text message (SMS)")),
    ("voice", _("Voice call")),
    ("email", _("Email")),
]
LANGUAGE_HELP = _(
    "Alerts are written in Spanish and English, and in other languages when the network has a "
    "translation; otherwise you get Spanish."
)
PUBLIC_CHANNEL_CHOICES = CHANNEL_CHOICES[:2]
# Offered only where a Signal provider is configured (messaging.selectors.channel_configured): the
# Signal number is the person's own phone number.
SIGNAL_CHOICE = ("signal", _("Signal (on this same phone number)"))
CHANNEL_UNAVAILABLE = _("That way of reaching you is not available here. Choose another one.")


def channel_choices(base: list, *, signal_first: bool = False) -> list:
    if not messaging_selectors.channel_configured("signal"):
        return list(base)
    return [SIGNAL_CHOICE, *base] if signal_first else [*base, SIGNAL_CHOICE]


RADIUS_CHOICES = [
    (500, _("500 m")),
    (1000, _("1 km")),
    (2000, _("2 km")),
    (3000, _("3 km")),
    (5000, _("5 km")),
]
LABEL_CHOICES = [
    ("home", pgettext_lazy("a place where someone lives", "Home")),
    ("work", _("Work")),
    ("school", _("School")),
]
PHONE_ERROR = _("Enter a valid phone number, for example (213) 555-0134.")


class ChannelsForm(forms.Form):
    """Language and channels in order of preference (first, then, then)."""

    language = forms.ChoiceField(
        label=_("Language of your alerts"), choices=LANGUAGE_CHOICES, help_text=LANGUAGE_HELP
    )
    first = forms.ChoiceField(label=_("First try"), choices=CHANNEL_CHOICES)
    second = forms.ChoiceField(
        label=_("Then"), choices=[("", _("Nothing else")), *CHANNEL_CHOICES], required=False
    )
    third = forms.ChoiceField(
        label=_("Then"), choices=[("", _("Nothing else")), *CHANNEL_CHOICES], required=False
    )

    def __init__(self, *args, has_email: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.has_email = has_email
        self.fields["third"].label = _("And then")
        offered = channel_choices(CHANNEL_CHOICES)
        for name in ("first", "second", "third"):
            field = cast(forms.ChoiceField, self.fields[name])
            field.choices = offered if name == "first" else [("", _("Nothing else")), *offered]
            field.error_messages["invalid_choice"] = CHANNEL_UNAVAILABLE

    @classmethod
    def initial_for(cls, language: str, channels: list[str]) -> dict:
        padded = [*channels, "", "", ""]
        return {"language": language, "first": padded[0], "second": padded[1], "third": padded[2]}

    def channels(self) -> list[str]:
        ordered: list[str] = []
        for name in ("first", "second", "third"):
            value = self.cleaned_data.get(name)
            if value and value not in ordered:
                ordered.append(value)
        return ordered

    def clean(self) -> dict:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        if not self.errors and "email" in self.channels() and not self.has_email:
            raise ValidationError(
                _("Add an email address to your profile first, or choose another way.")
            )
        return data


class AreaForm(forms.Form):
    """A zone, or "use my location" with a radius and a label."""

    zone = forms.ModelChoiceField(
        label=_("Zone"),
        queryset=Zone.objects.order_by("name"),
        required=False,
        empty_label=_("(use a place instead)"),
    )
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    radius_m = forms.TypedChoiceField(
        label=_("Radius"), choices=RADIUS_CHOICES, coerce=int, initial=1000
    )
    label = forms.ChoiceField(label=_("This place is"), choices=LABEL_CHOICES)

    def clean(self) -> dict:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        zone = data.get("zone")
        lat, lng = data.get("lat"), data.get("lng")
        if zone is None and (lat is None or lng is None):
            raise ValidationError(_("Choose a zone, or use your location."))
        if lat is not None and lng is not None:
            # About 100 m: enough for a radius of 500 m or more, and no one's front door.
            data["lat"], data["lng"] = round(lat, 3), round(lng, 3)
        return data


class PublicSubscribeForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone number"),
        max_length=32,
        error_messages={"required": _("Enter your phone number.")},
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    place = forms.CharField(
        label=_("ZIP code or neighborhood"),
        max_length=80,
        required=False,
        help_text=_("For example 90033 or Boyle Heights."),
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    # A place tapped on the map instead (rounded to about 100 m), with a radius.
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    radius_m = forms.TypedChoiceField(
        label=_("How far around it"),
        choices=RADIUS_CHOICES,
        coerce=int,
        initial=1000,
        required=False,
        help_text=_("For a place tapped on the map."),
    )
    language = forms.ChoiceField(
        label=_("Language"), choices=LANGUAGE_CHOICES, help_text=LANGUAGE_HELP
    )
    channels = forms.MultipleChoiceField(
        label=_("How should we reach you?"),
        choices=PUBLIC_CHANNEL_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["sms"],
        error_messages={
            "required": _("Choose at least one way to reach you."),
            "invalid_choice": CHANNEL_UNAVAILABLE,
        },
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Signal, when offered, is tried first: the order of the boxes is the order of trying.
        field = cast(forms.MultipleChoiceField, self.fields["channels"])
        field.choices = channel_choices(PUBLIC_CHANNEL_CHOICES, signal_first=True)
        if len(field.choices) > len(PUBLIC_CHANNEL_CHOICES):
            field.help_text = _("When you tick Signal, alerts come by Signal first.")

    def clean(self) -> dict:
        data = super().clean() or {}
        lat, lng = data.get("lat"), data.get("lng")
        if lat is not None and lng is not None:
            # About 100 m: enough for a radius of 500 m or more, and no one's front door.
            data["lat"], data["lng"] = round(lat, 3), round(lng, 3)
            data["radius_m"] = data.get("radius_m") or 1000
        else:
            data["lat"] = data["lng"] = None
            if not (data.get("place") or "").strip() and "place" not in self.errors:
                self.add_error("place", _("Enter a ZIP code or the name of your neighborhood."))
        return data

    def point(self) -> tuple[float, float] | None:
        lat, lng = self.cleaned_data.get("lat"), self.cleaned_data.get("lng")
        return (lat, lng) if lat is not None and lng is not None else None

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except InvalidPhone:
            raise ValidationError(PHONE_ERROR, code="invalid_phone") from None

    def clean_channels(self) -> list[str]:
        chosen = set(self.cleaned_data["channels"])
        offered = channel_choices(PUBLIC_CHANNEL_CHOICES, signal_first=True)
        return [value for value, _label in offered if value in chosen]


class ConfirmCodeForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone number"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    code = forms.CharField(
        label=_("6-digit code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*"}
        ),
    )

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except InvalidPhone:
            raise ValidationError(PHONE_ERROR, code="invalid_phone") from None

    def clean_code(self) -> str:
        code = "".join(c for c in self.cleaned_data["code"] if not c.isspace())
        if len(code) != 6 or not code.isdigit():
            raise ValidationError(_("The code has 6 digits."))
        return code


class OptOutImportForm(forms.Form):
    numbers = forms.CharField(
        label=_("Phone numbers, one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off"}),
    )
    file = forms.FileField(
        label=_("Or a text file with one number per line"),
        required=False,
    )

    MAX_BYTES = 2 * 1024 * 1024

    def clean(self) -> dict:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        lines = (data.get("numbers") or "").splitlines()
        upload = data.get("file")
        if upload is not None:
            if upload.size > self.MAX_BYTES:
                raise ValidationError(_("The file is too large (at most 2 MB)."))
            try:
                lines += upload.read().decode("utf-8-sig").splitlines()
            except UnicodeDecodeError:
                raise ValidationError(_("The file must be plain text.")) from None
        lines = [line.split(",")[0].strip() for line in lines if line.strip()]
        if not lines:
            raise ValidationError(_("Paste at least one phone number, or choose a file."))
        data["lines"] = lines
        return data


class OptOutUndoForm(forms.Form):
    phone = forms.CharField(
        label=_("Phone number to take off the stop list"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except InvalidPhone:
            raise ValidationError(PHONE_ERROR, code="invalid_phone") from None


MAX_POLYGON_POINTS = 200


def parse_polygon(text: str) -> list[list[float]]:
    """A drawn polygon from the composer: JSON [[lat, lng], ...], 3 to 200 distinct points.

    Raises forms.ValidationError with a message for the person (never a 500).
    """
    if not text or not text.strip():
        return []
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested thousands deep
        raise forms.ValidationError(_("The drawn area could not be read. Draw it again.")) from None
    if not isinstance(raw, list):
        raise forms.ValidationError(_("The drawn area could not be read. Draw it again."))
    points: list[list[float]] = []
    for item in raw:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in item)
        ):
            raise forms.ValidationError(_("The drawn area could not be read. Draw it again."))
        lat, lng = float(item[0]), float(item[1])
        if not (
            math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180
        ):
            raise forms.ValidationError(_("The drawn area is not on the map."))
        point = [round(lat, 6), round(lng, 6)]
        if not points or points[-1] != point:
            points.append(point)
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    if len(points) < 3:
        raise forms.ValidationError(_("An area needs at least three corners."))
    if len(points) > MAX_POLYGON_POINTS:
        raise forms.ValidationError(_("The drawn area has too many corners (at most 200)."))
    try:  # too large, across the date line or crossing itself: refused before any cell fill
        geo.check_outline(points)
    except geo.ShapeError as exc:
        raise forms.ValidationError(exc.message) from None
    return points


class TemplateRecordingForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of alert"), choices=RECORDING_KINDS)
    language = forms.ChoiceField(label=_("Language"), choices=[])
    audio = forms.FileField(
        label=_("Recording (MP3 or WAV, at most 10 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": "audio/mpeg,audio/wav"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        from vecinos.alerts.recordings import RECORDED_LANGUAGES
        from vecinos.core import languages

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["language"]).choices = [
            (code, languages.label(languages.BY_CODE[code])) for code in RECORDED_LANGUAGES
        ]


class HotlinePromptForm(TemplateRecordingForm):
    """One of the voice hotline's prompts (``reports.voice_prompts``) in a language."""

    kind = forms.ChoiceField(label=_("Hotline prompt"), choices=voice_prompts.CHOICES)
