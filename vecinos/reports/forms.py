"""Forms of the reports app: the public report form (SALUTE).

The rules that decide whether a report can be stored live in ``services.validate``; the form
calls it too, so the web page, the API and SMS give the same answer with the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vecinos.reports import services
from vecinos.reports.models import Activity, Agency

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

NUMBER_ERROR = _("Enter a number between 0 and 500.")
LOCATION_ERROR = _("That location is not on the map. Move the pin and try again.")
NOT_A_PHOTO = _("“%(name)s” is not a photo. Only photos (JPEG, PNG, WebP or GIF) can be attached.")
TOO_BIG = _("“%(name)s” is too big. Each photo must be 10 MB or smaller.")
TOO_MANY = _("Attach at most 5 photos.")
TOO_LARGE = _("“%(name)s” is too large an image. Send a smaller photo or a screenshot of it.")


class MultiplePhotoInput(forms.FileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several files in one input; cleaned to a list (possibly empty)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _now_local() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class ReportForm(forms.Form):
    activity = forms.ChoiceField(
        label=_("What is happening?"),
        choices=Activity.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    lat = forms.FloatField(
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid": LOCATION_ERROR},
    )
    lng = forms.FloatField(
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid": LOCATION_ERROR},
    )
    place_text = forms.CharField(
        label=_("Address, cross streets or landmark"),
        max_length=300,
        required=False,
        error_messages={"max_length": _("Keep the place under 300 characters.")},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    agency = forms.ChoiceField(
        label=_("Who did you see?"),
        choices=Agency.choices,
        initial=Agency.UNKNOWN,
        widget=forms.RadioSelect,
        required=False,
    )
    agents_count = forms.IntegerField(
        label=_("How many agents?"),
        min_value=0,
        max_value=500,
        required=False,
        error_messages={
            "invalid": NUMBER_ERROR,
            "min_value": NUMBER_ERROR,
            "max_value": NUMBER_ERROR,
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 500}),
    )
    vehicles_count = forms.IntegerField(
        label=_("How many vehicles?"),
        min_value=0,
        max_value=500,
        required=False,
        error_messages={
            "invalid": NUMBER_ERROR,
            "min_value": NUMBER_ERROR,
            "max_value": NUMBER_ERROR,
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 500}),
    )
    seen_at = forms.DateTimeField(
        label=_("When did you see it?"),
        required=False,
        initial=_now_local,
        error_messages={"invalid": _("Enter a date and time, like 2025-06-01 14:30.")},
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    equipment = forms.CharField(
        label=_("Equipment"),
        help_text=_("For example: vests marked ICE, unmarked vans, rifles."),
        max_length=200,
        required=False,
        error_messages={"max_length": _("Keep the equipment under 200 characters.")},
    )
    description = forms.CharField(
        label=_("What did you see?"),
        help_text=_("Describe the operation, not the officers: no names, faces or license plates."),
        max_length=2000,
        required=False,
        error_messages={"max_length": _("Keep the description under 2000 characters.")},
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    photos = MultiplePhotoField(
        label=_("Photos (optional)"),
        help_text=_("Up to 5 photos, 10 MB each. We remove the location and camera data."),
        required=False,
    )
    reporter_contact = forms.CharField(
        label=_("How can we reach you? (optional)"),
        max_length=200,
        required=False,
        error_messages={"max_length": _("Keep the contact under 200 characters.")},
        # A phone or an email: either reads left to right, on Arabic and Farsi pages too.
        widget=forms.TextInput(attrs={"autocomplete": "tel", "dir": "ltr"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photos"].help_text = _(
            "Up to 5 photos, 10 MB each and %(mb)s MB in all. We remove the location and camera "
            "data."
        ) % {"mb": settings.REQUEST_BODY_MAX // (1024 * 1024)}

    # Which form field shows each error key of services.ReportInvalid.
    SERVICE_FIELDS = {"location": "lat", "__all__": None}

    def clean_photos(self):
        photos = self.cleaned_data.get("photos") or []
        if len(photos) > services.MAX_PHOTOS:
            raise forms.ValidationError(TOO_MANY, code="too_many")
        errors = []
        for upload in photos:
            if upload.size > services.MAX_PHOTO_BYTES:
                errors.append(forms.ValidationError(TOO_BIG, params={"name": upload.name}))
                continue
            # The header only (no decoding, cheap): services.clean_photo decodes and re-encodes
            # every photo without metadata, a few at a time, before anything is written.
            try:
                fmt, pixels = services.photo_header(upload)
            except services.ReportInvalid:
                errors.append(forms.ValidationError(NOT_A_PHOTO, params={"name": upload.name}))
                continue
            if services.photo_too_large(fmt, pixels):
                errors.append(forms.ValidationError(TOO_LARGE, params={"name": upload.name}))
        if errors:
            raise forms.ValidationError(errors)
        return photos

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        photos = cleaned.get("photos")
        if photos is None:  # rejected above; they still count as "something was seen"
            photos = self.files.getlist("photos") if self.files else []
        try:
            services.validate(self._input(photos=photos))
        except services.ReportInvalid as exc:
            self.add_service_errors(exc.errors)
        return cleaned

    def _input(self, **extra) -> services.ReportInput:
        data = self.cleaned_data
        return services.ReportInput(
            channel="web",
            activity=data.get("activity") or "",
            agency=data.get("agency") or Agency.UNKNOWN,
            agents_count=data.get("agents_count"),
            vehicles_count=data.get("vehicles_count"),
            lat=data.get("lat"),
            lng=data.get("lng"),
            place_text=data.get("place_text") or "",
            seen_at=data.get("seen_at"),
            equipment=data.get("equipment") or "",
            description=data.get("description") or "",
            reporter_contact=data.get("reporter_contact") or "",
            **extra,
        )

    def add_service_errors(self, errors: Mapping[str, StrOrPromise]) -> None:
        """Show services.ReportInvalid errors on the fields they concern (once each)."""
        for key, message in errors.items():
            name = self.SERVICE_FIELDS.get(key, key)
            if name is not None and name not in self.fields:
                name = None
            if name is not None and (
                name in self.errors or key == "location" and "lng" in self.errors
            ):
                continue  # the field already says what is wrong with it
            self.add_error(name, message)

    def to_input(self, *, language: str, reporter_member=None) -> services.ReportInput:
        photos = [(upload.read(), upload.name) for upload in self.cleaned_data["photos"]]
        return self._input(language=language, reporter_member=reporter_member, photos=photos)

    @property
    def location_errors(self) -> list[str]:
        return [*self.errors.get("lat", []), *self.errors.get("lng", [])]
