"""The coalition settings form (name, short name, hotline numbers, logo, colour, languages)."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from vecinos.core.coalition import HEX_COLOR
from vecinos.network.models import LANGUAGE_CHOICES
from vecinos.network.phones import InvalidPhone, normalize_phone

MAX_LOGO_BYTES = 2 * 1024 * 1024


def _hotline_field(label) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )


class CoalitionSettingsForm(forms.Form):
    name = forms.CharField(label=_("Coalition name"), max_length=120)
    short_name = forms.CharField(
        label=_("Short name"),
        max_length=24,
        help_text=_("Starts every SMS, for example “LARRN:”. Keep it short."),
    )
    hotline_default = _hotline_field(_("Hotline number"))
    public_contact = forms.CharField(
        label=_("Public contact"),
        required=False,
        max_length=200,
        help_text=_("An email address or web page the public may use (shown on the home page)."),
    )
    accent_color = forms.CharField(
        label=_("Accent colour"),
        max_length=7,
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages the coalition works in"),
        choices=LANGUAGE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    time_zone = forms.CharField(label=_("Time zone"), max_length=64)
    logo = forms.FileField(
        label=_("Logo (PNG, JPEG or WebP)"),
        required=False,
        help_text=_("Stored again as a plain PNG, without any metadata."),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One hotline field per interface language, after the default one.
        for code, label in settings.LANGUAGES:
            self.fields[f"hotline_{code}"] = _hotline_field(
                _("Hotline number in %(language)s (if different)") % {"language": label}
            )
        order = ["name", "short_name", "hotline_default"]
        order += [f"hotline_{code}" for code, _label in settings.LANGUAGES]
        self.order_fields(order)

    def _clean_hotline(self, name: str) -> str:
        raw = (self.cleaned_data.get(name) or "").strip()
        if not raw:
            return ""
        try:
            return normalize_phone(raw)
        except InvalidPhone:
            raise forms.ValidationError(
                _("Enter a phone number, for example (213) 555-0100.")
            ) from None

    def clean(self):
        data = super().clean() or {}
        for key in ["hotline_default", *(f"hotline_{c}" for c, _l in settings.LANGUAGES)]:
            try:
                data[key] = self._clean_hotline(key)
            except forms.ValidationError as exc:
                self.add_error(key, exc)
        return data

    def clean_short_name(self) -> str:
        value = self.cleaned_data["short_name"].strip().rstrip(":")
        if not value:
            raise forms.ValidationError(_("Enter a short name."))
        return value

    def clean_accent_color(self) -> str:
        value = self.cleaned_data["accent_color"].strip()
        if not HEX_COLOR.match(value):
            raise forms.ValidationError(_("Enter a colour as # and six hex digits, like #0b6e4f."))
        return value.lower()

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"].strip()
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError(
                _("Enter a time zone such as America/Los_Angeles or America/Chicago.")
            )
        return value

    def clean_logo(self):
        upload = self.cleaned_data.get("logo")
        if upload and upload.size > MAX_LOGO_BYTES:
            raise forms.ValidationError(_("The logo must be 2 MB or smaller."))
        return upload

    def hotline(self) -> dict[str, str]:
        data = self.cleaned_data
        numbers = {"default": data["hotline_default"]}
        for code, _label in settings.LANGUAGES:
            numbers[code] = data[f"hotline_{code}"]
        return {k: v for k, v in numbers.items() if v}
