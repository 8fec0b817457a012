from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from vecinos.alerts import wording
from vecinos.alerts.forms import parse_polygon
from vecinos.alerts.models import Tier
from vecinos.core import ids, languages
from vecinos.mobilize import guidance as guidance_texts
from vecinos.mobilize.models import ActivationMessage, Event
from vecinos.mobilize.services import DEFAULT_GUIDANCE, MAX_GUIDANCE, MAX_STAGING, active_roles
from vecinos.network.models import Organization, Zone

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ActivationForm(forms.Form):
    staging_point = forms.CharField(
        label=_("Staging point"),
        max_length=MAX_STAGING,
        help_text=_(
            "Where people meet: a corner or a landmark near the place, not the place itself."
        ),
    )
    needed_by = forms.DateTimeField(label=_("Needed by"), widget=DATETIME_INPUT)
    tiers = forms.MultipleChoiceField(
        label=_("Who is asked"),
        choices=[c for c in Tier.choices if c[0] != Tier.INTERNAL],
        widget=forms.CheckboxSelectMultiple,
        initial=[Tier.RESPONDERS],
        help_text=_("The public needs a second coordinator or dispatcher to approve."),
    )
    zones = ids.ModelMultipleChoiceField(
        label=_("Zones"), queryset=Zone.objects.order_by("name"), required=False
    )
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    lng = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    radius_m = forms.IntegerField(
        label=_("Radius in meters"), required=False, min_value=50, max_value=50_000
    )
    # The area drawn on the map, [[lat, lng], ...] as JSON (set by the map script).
    polygon = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20_000)
    quota = forms.BooleanField(
        label=_("Quota mode: ask in waves until enough people say yes"), required=False
    )
    wave_size = forms.IntegerField(
        label=_("People per wave"), min_value=1, max_value=5000, initial=20
    )
    wave_minutes = forms.IntegerField(
        label=_("Minutes before the next wave"), min_value=1, max_value=240, initial=10
    )
    rights_article = forms.ChoiceField(label=_("rights article"), required=False, choices=[])
    incident = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        rights = cast(forms.ChoiceField, self.fields["rights_article"])
        rights.label = capfirst(rights.label)
        rights.choices = [("", "—"), *wording.rights_choices()]
        self.role_keys = []
        # The page's whole code: "zh-hans", not "zh" (which has no catalog: the Chinese pages
        # showed the roles in English; outside walk, session 19).
        lang = get_language() or "es"
        for role in active_roles():
            self.fields[f"role_{role.key}"] = forms.IntegerField(
                label=role.name(lang), min_value=0, max_value=5000, required=False, initial=0
            )
            self.role_keys.append(role.key)
        self._add_guidance_fields()
        if not self.is_bound:
            self.initial.setdefault("needed_by", timezone.localtime() + timedelta(minutes=30))
            for code in guidance_texts.guidance_languages():
                if code in DEFAULT_GUIDANCE:
                    self.initial.setdefault(guidance_texts.field_name(code), DEFAULT_GUIDANCE[code])

    # Spanish and English are shown open; every other written language under "Other languages".
    MAIN_GUIDANCE = ("es", "en")

    def _add_guidance_fields(self) -> None:
        labels = {"es": _("Guidance in Spanish"), "en": _("Guidance in English")}
        for code in guidance_texts.guidance_languages():
            lang = languages.BY_CODE[code]
            self.fields[guidance_texts.field_name(code)] = forms.CharField(
                label=labels.get(code) or languages.label(lang),
                max_length=MAX_GUIDANCE,
                required=False,
                widget=forms.Textarea(attrs={"rows": 3, "lang": code, "dir": lang.direction}),
            )

    def main_guidance_fields(self):
        return [self[guidance_texts.field_name(code)] for code in self.MAIN_GUIDANCE]

    def other_guidance_fields(self):
        return [
            self[guidance_texts.field_name(code)]
            for code in guidance_texts.guidance_languages()
            if code not in self.MAIN_GUIDANCE
        ]

    def other_guidance_errors(self) -> bool:
        """Open "Other languages" when one of its fields was refused."""
        return any(field.errors for field in self.other_guidance_fields())

    def role_fields(self):
        return [self[f"role_{k}"] for k in self.role_keys]

    def roles(self) -> dict[str, int]:
        return {k: self.cleaned_data.get(f"role_{k}") or 0 for k in self.role_keys}

    def guidance(self) -> dict[str, str]:
        return {
            code: self.cleaned_data.get(guidance_texts.field_name(code)) or ""
            for code in guidance_texts.guidance_languages()
        }

    def clean_polygon(self) -> list[list[float]]:
        return parse_polygon(self.cleaned_data.get("polygon") or "")

    def point(self):
        lat, lng = self.cleaned_data.get("lat"), self.cleaned_data.get("lng")
        return (lat, lng) if lat is not None and lng is not None else None


class _LanguageTexts(forms.Form):
    """A text per written language: Spanish and English in the open, every other one optional
    under "Other languages" (whoever's is empty reads Spanish, then English)."""

    labels: dict[str, Any] = {}  # code -> label for the open fields (es, en)
    leading: tuple[str, ...] = ()  # fields shown before the texts

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for code in guidance_texts.guidance_languages():
            lang = languages.BY_CODE[code]
            self.fields[self._name(code)] = forms.CharField(
                label=self.labels.get(code) or languages.label(lang),
                max_length=MAX_GUIDANCE,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2, "lang": code, "dir": lang.direction}),
            )

    @staticmethod
    def _name(code: str) -> str:
        return "text_" + code.replace("-", "_")

    @staticmethod
    def _other_codes() -> list[str]:
        return [c for c in guidance_texts.guidance_languages() if c not in ("es", "en")]

    def main_fields(self):
        return [self[name] for name in (*self.leading, "text_es", "text_en")]

    def other_fields(self):
        return [self[self._name(code)] for code in self._other_codes()]

    def texts(self) -> dict[str, str]:
        return {
            code: self.cleaned_data.get(self._name(code)) or ""
            for code in guidance_texts.guidance_languages()
        }


class MessageForm(_LanguageTexts):
    audience = forms.ChoiceField(
        label=pgettext_lazy("recipient", "To"), choices=ActivationMessage.Audience.choices
    )
    new_staging_point = forms.CharField(
        label=_("Move to a new staging point (optional)"), max_length=MAX_STAGING, required=False
    )
    labels = {"es": _("Message in Spanish"), "en": _("Message in English")}
    leading = ("audience", "new_staging_point")


class StandDownForm(_LanguageTexts):
    """The coordinator's optional note after the stand-down text, per language. Its own ids
    (``auto_id``) on the page: the message form above has the same field names."""

    labels = {
        "es": _("Added note in Spanish (optional)"),
        "en": _("Added note in English (optional)"),
    }

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "sd-%s")
        super().__init__(*args, **kwargs)


class RsvpForm(forms.Form):
    nickname = forms.CharField(
        label=_("Name or nickname (optional)"), max_length=60, required=False
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    email = forms.CharField(label=_("Email"), max_length=120, required=False)


class EventForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Event.Kind.choices)
    title_es = forms.CharField(label=_("Title in Spanish"), max_length=120, required=False)
    title_en = forms.CharField(label=_("Title in English"), max_length=120, required=False)
    description_es = forms.CharField(
        label=_("Description in Spanish"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    description_en = forms.CharField(
        label=_("Description in English"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    starts_at = forms.DateTimeField(label=_("Starts"), widget=DATETIME_INPUT)
    ends_at = forms.DateTimeField(label=_("Ends"), widget=DATETIME_INPUT)
    place = forms.CharField(label=_("Place"), max_length=200)
    capacity = forms.IntegerField(
        label=_("Capacity"), required=False, min_value=1, max_value=100_000
    )
    accessibility = forms.CharField(
        label=_("Accessibility notes"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    public = forms.BooleanField(
        label=_("Public (listed on the events page)"), required=False, initial=True
    )
    organization = forms.ModelChoiceField(
        label=_("Organization"), queryset=Organization.objects.none()
    )
    # Only organizations the coordinator coordinates (a coalition coordinator: any): naming
    # another group as host would put its name on an announcement it never agreed to.
    hosts = ids.ModelMultipleChoiceField(
        label=_("Co-hosts"),
        queryset=Organization.objects.none(),
        required=False,
        help_text=_(
            "Only organizations you coordinate. To add another organization, ask a coalition "
            "coordinator."
        ),
    )

    # Spanish and English are shown open; every other written language under "Other
    # languages" (outside walk, session 19: a Korean or Tagalog group could only title its
    # event in Spanish or English).
    MAIN_LANGUAGES = ("es", "en")

    def __init__(self, *args, organizations=None, any_host: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._add_language_fields()
        if organizations is None:
            organizations = Organization.objects.all()
        if any_host:
            self.fields["hosts"].help_text = ""
        for name in ("organization", "hosts"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = organizations.order_by("name")

    def _add_language_fields(self) -> None:
        for lang in languages.written_languages():
            if lang.code in self.MAIN_LANGUAGES:
                continue
            attrs = {"lang": lang.code, "dir": lang.direction}
            name = _field_suffix(lang.code)
            self.fields[f"title_{name}"] = forms.CharField(
                label=_("Title: %(language)s") % {"language": languages.label(lang)},
                max_length=120,
                required=False,
                widget=forms.TextInput(attrs=attrs),
            )
            self.fields[f"description_{name}"] = forms.CharField(
                label=_("Description: %(language)s") % {"language": languages.label(lang)},
                max_length=2000,
                required=False,
                widget=forms.Textarea(attrs={"rows": 3, **attrs}),
            )

    def main_text_fields(self):
        """The titles and descriptions in Spanish and English (shown open, first)."""
        kinds = ("title", "description")
        return [self[f"{kind}_{code}"] for kind in kinds for code in self.MAIN_LANGUAGES]

    def lead_fields(self):
        """The kind of event, first (the edit form has none)."""
        return [self["kind"]] if "kind" in self.fields else []

    def detail_fields(self):
        """Every other visible field (when, where, who hosts), after the other languages."""
        shown = (*self.lead_fields(), *self.main_text_fields(), *self.other_language_fields())
        names = {f.name for f in shown}
        return [f for f in self.visible_fields() if f.name not in names]

    def other_language_fields(self):
        return [
            self[f"{kind}_{_field_suffix(lang.code)}"]
            for lang in languages.written_languages()
            if lang.code not in self.MAIN_LANGUAGES
            for kind in ("title", "description")
        ]

    def other_language_errors(self) -> bool:
        """Open "Other languages" when one of its fields was refused."""
        return any(field.errors for field in self.other_language_fields())

    def titles(self) -> dict[str, str]:
        return {
            lang.code: self.cleaned_data.get(f"title_{_field_suffix(lang.code)}") or ""
            for lang in languages.written_languages()
        }

    def descriptions(self) -> dict[str, str]:
        return {
            lang.code: self.cleaned_data.get(f"description_{_field_suffix(lang.code)}") or ""
            for lang in languages.written_languages()
        }


def _field_suffix(code: str) -> str:
    """A language's part of a field name: "zh_hans" (a name a template can use)."""
    return code.replace("-", "_")


class EventEditForm(EventForm):
    """What its organizers may change once an event exists (not its kind, organization or
    hosts: those are in its code and its announcement)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("kind", "organization", "hosts"):
            del self.fields[name]

    @classmethod
    def initial_for(cls, event) -> dict:
        local = timezone.localtime
        texts = {}
        for lang in languages.written_languages():
            texts[f"title_{_field_suffix(lang.code)}"] = event.titles.get(lang.code, "")
            texts[f"description_{_field_suffix(lang.code)}"] = event.descriptions.get(lang.code, "")
        return {
            **texts,
            "starts_at": local(event.starts_at),
            "ends_at": local(event.ends_at),
            "place": event.place,
            "capacity": event.capacity,
            "accessibility": event.accessibility,
            "public": event.public,
        }
