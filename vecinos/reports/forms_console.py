"""Forms of the dispatcher console, the duty page, the verifier pages and the member quick report.

Every field is validated here; the services validate again (coordinates, counts, photos), and
their ReportInvalid errors are copied back onto these forms by the views.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from vecinos.core import geo
from vecinos.reports import services
from vecinos.reports.models import Activity, Incident, Triage

DUTY_HOURS = ((1, _("1 hour")), (2, _("2 hours")), (4, _("4 hours")), (8, _("8 hours")))
DUTY_ROLE_LABELS = {"dispatcher": _("Dispatcher"), "verifier": _("Verifier")}
OUTCOME_CHOICES = [(value, Incident.Status(value).label) for value in services.OUTCOMES]
# "How many": one tap. A range is stored as its upper bound so nobody under-reads the size.
HOW_MANY_CHOICES = (("0", _("None seen")), ("2", "1–2"), ("5", "3–5"), ("6", _("6 or more")))
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


class TriageForm(forms.Form):
    tier = forms.ChoiceField(
        choices=[
            (Triage.LOG, Triage.LOG.label),
            (Triage.VERIFY, Triage.VERIFY.label),
            (Triage.URGENT, Triage.URGENT.label),
        ],
        error_messages={
            "required": _("Choose log only, send a verifier or urgent."),
            "invalid_choice": _("Choose log only, send a verifier or urgent."),
        },
    )


class MergeForm(forms.Form):
    incident = forms.IntegerField(
        min_value=1, error_messages={"required": _("Choose the incident to merge into.")}
    )


class BanForm(forms.Form):
    reason = forms.CharField(max_length=120, required=False)


class LockForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("take", "take"), ("release", "release"), ("break", "break")]
    )


class IncidentMergeForm(forms.Form):
    target = forms.TypedChoiceField(
        label=_("Merge this incident into"),
        coerce=int,
        error_messages={
            "required": _("Choose the incident to merge into."),
            "invalid_choice": _("That incident cannot be chosen any more."),
        },
    )

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.TypedChoiceField, self.fields["target"]).choices = choices


class DispatchForm(forms.Form):
    verifiers = forms.TypedMultipleChoiceField(
        label=_("Verifiers on duty"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Tick at least one verifier."),
            "invalid_choice": _("That verifier is no longer on duty."),
        },
    )

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.TypedMultipleChoiceField, self.fields["verifiers"]).choices = choices


class _LocationMixin:
    """Hidden lat/lng filled by "use my location"; both or neither, and on the map."""

    def _clean_location(self, cleaned: dict[str, Any]) -> None:
        lat, lng = cleaned.get("lat"), cleaned.get("lng")
        if (lat is None) != (lng is None):
            cleaned["lat"] = cleaned["lng"] = None
            return
        if lat is not None and lng is not None:  # both, after the check above
            try:
                geo.validate_lat_lng(lat, lng)
            except (geo.GeoError, TypeError, ValueError):
                raise ValidationError(
                    _("Your location could not be read. Try again or type the place.")
                ) from None


class DutyForm(_LocationMixin, forms.Form):
    role = forms.ChoiceField(label=_("On duty as"), widget=forms.RadioSelect)
    hours = forms.TypedChoiceField(
        label=_("Until"), coerce=int, choices=DUTY_HOURS, initial=4, widget=forms.RadioSelect
    )
    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, roles: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = cast(forms.ChoiceField, self.fields["role"])
        role.choices = [(r, DUTY_ROLE_LABELS[r]) for r in roles]
        if len(roles) == 1:
            role.initial = roles[0]
            role.widget = forms.HiddenInput()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data
        self._clean_location(cleaned)
        return cleaned


class DutyEndForm(forms.Form):
    role = forms.ChoiceField(choices=list(DUTY_ROLE_LABELS.items()))


class RespondForm(forms.Form):
    accept = forms.TypedChoiceField(coerce=lambda v: v == "yes", choices=[("yes", ""), ("no", "")])


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to MAX_PHOTOS images, each at most MAX_PHOTO_BYTES. Content is checked by the service."""

    widget = MultipleFileInput(attrs={"accept": "image/*"})

    def clean(self, data: Any, initial: Any = None) -> list:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > services.MAX_PHOTOS:
            raise ValidationError(_("Attach at most 5 photos."))
        for upload in files:
            if upload.size > services.MAX_PHOTO_BYTES:
                raise ValidationError(_("Each photo must be 10 MB or smaller."))
            if (upload.content_type or "").split(";")[0] not in PHOTO_TYPES:
                raise ValidationError(_("Only photos (JPEG, PNG, WebP or GIF) can be attached."))
        return list(files)


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("What did you find?"),
        choices=OUTCOME_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what you found.")},
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=2000,
        help_text=_(
            "What you saw: agency, how many, what they were doing. Nothing about officers' "
            "identities."
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": _("Keep the notes under 2000 characters.")},
    )
    photos = PhotosField(
        label=_("Photos (at most 5)"),
        required=False,
        help_text=_("Location and camera details are removed from photos before they are saved."),
    )


def _how_many(value: str) -> int | None:
    return int(value) if value else None


class QuickReportForm(_LocationMixin, forms.Form):
    activity = forms.ChoiceField(
        label=_("What is happening?"),
        choices=Activity.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, widget=forms.HiddenInput)
    place_text = forms.CharField(
        label=_("Or type the place"),
        required=False,
        max_length=300,
        help_text=_("Street and cross street, a school, a landmark."),
        error_messages={"max_length": _("Keep the place under 300 characters.")},
    )
    how_many = forms.TypedChoiceField(
        label=_("How many agents?"),
        choices=HOW_MANY_CHOICES,
        coerce=_how_many,
        empty_value=None,
        widget=forms.RadioSelect,
        required=False,
    )
    agents_count = forms.IntegerField(
        label=_("Or the exact number"),
        required=False,
        min_value=0,
        max_value=500,
        error_messages={
            "min_value": _("Enter a number between 0 and 500."),
            "max_value": _("Enter a number between 0 and 500."),
            "invalid": _("Enter a number between 0 and 500."),
        },
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data
        self._clean_location(cleaned)
        if not cleaned.get("activity"):
            self.add_error("activity", _("Tap what you see."))
        if cleaned.get("lat") is None and not (cleaned.get("place_text") or "").strip():
            self.add_error("place_text", _("Tell us where: use your location or type the place."))
        return cleaned

    @property
    def count(self) -> int | None:
        exact = self.cleaned_data.get("agents_count")
        return exact if exact is not None else self.cleaned_data.get("how_many")
