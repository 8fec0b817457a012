"""Forms of the member patrol pages: the finder's location, shift actions, the patrol report."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from vecinos.patrols.models import Shift
from vecinos.reports.models import Activity, Agency

COUNT_ERRORS = {
    "min_value": _("Enter a number between 0 and 500."),
    "max_value": _("Enter a number between 0 and 500."),
    "invalid": _("Enter a number between 0 and 500."),
}


class _LatLngForm(forms.Form):
    """Optional coordinates filled by the phone (hidden inputs or query parameters)."""

    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data
        lat, lng = cleaned.get("lat"), cleaned.get("lng")
        if (lat is None) != (lng is None):
            raise forms.ValidationError(_("That location could not be used."))
        if lat is not None and lng is not None:
            if not (math.isfinite(lat) and math.isfinite(lng)):
                raise forms.ValidationError(_("That location could not be used."))
            if not (-90 <= lat <= 90 and -180 <= lng <= 180):
                raise forms.ValidationError(_("That location could not be used."))
        return cleaned

    def point(self) -> tuple[float, float] | None:
        if not self.is_valid():
            return None
        lat, lng = self.cleaned_data.get("lat"), self.cleaned_data.get("lng")
        return (lat, lng) if lat is not None and lng is not None else None


class NearForm(_LatLngForm):
    """GET /patrols/?lat=..&lng=..: filled by "Use my location"."""


class CheckInForm(_LatLngForm):
    """Check-in: the phone may add where it is; the server keeps only "at the place" yes/no."""


class SignupForm(forms.Form):
    lead = forms.BooleanField(required=False)


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[
            (Shift.Outcome.ALL_CLEAR, Shift.Outcome.ALL_CLEAR.label),
            (Shift.Outcome.ACTIVITY, Shift.Outcome.ACTIVITY.label),
        ],
        error_messages={
            "required": _("Choose all clear or activity seen."),
            "invalid_choice": _("Choose all clear or activity seen."),
        },
    )


class LogForm(forms.Form):
    text = forms.CharField(
        label=_("Add a note to the patrol log"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 1000}),
        help_text=_("Short and factual. The shift's people and the coordinators read it."),
        error_messages={
            "required": _("Write a note of at most 1000 characters."),
            "max_length": _("Write a note of at most 1000 characters."),
        },
    )


class PatrolReportForm(forms.Form):
    activity = forms.ChoiceField(
        label=_("What did you see?"),
        choices=Activity.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    agents_count = forms.IntegerField(
        label=_("How many agents?"),
        required=False,
        min_value=0,
        max_value=500,
        error_messages=COUNT_ERRORS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    vehicles_count = forms.IntegerField(
        label=_("How many vehicles?"),
        required=False,
        min_value=0,
        max_value=500,
        error_messages=COUNT_ERRORS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    agency = forms.ChoiceField(
        label=_("Which agency?"),
        choices=Agency.choices,
        widget=forms.RadioSelect,
        required=False,
        initial=Agency.UNKNOWN,
    )
    description = forms.CharField(
        label=_("Note for the dispatchers"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
        help_text=_("Vehicles, plates, uniforms, which way they went."),
        error_messages={"max_length": _("Keep the description under 2000 characters.")},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data
        if not cleaned.get("activity") and "activity" not in self.errors:
            self.add_error("activity", _("Tap what you see."))
        if not cleaned.get("agency"):
            cleaned["agency"] = Agency.UNKNOWN
        return cleaned
