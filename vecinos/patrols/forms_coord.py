"""Forms of the coordinators' patrol pages: places, shift templates, holidays, calendar feeds.

Every message says what to fix. The same rules as ``services.template_validate`` are checked
here field by field, so the error sits next to the field it is about; the service checks again.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vecinos.network.models import Organization
from vecinos.patrols import services
from vecinos.patrols.models import Place

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

NAME_MAX = 120
NOTES_MAX = 2000
MAX_PEOPLE = 50

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]

END_BEFORE_START = _("The shift must end after it starts.")
NO_WEEKDAYS = _("Choose at least one day of the week.")
PEOPLE_ORDER = _("People needed must be: minimum ≤ ideal ≤ maximum, at most 50.")


class OrganizationChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organization) -> str:
        return obj.name


def _coordinate(label, low: float, high: float, message) -> forms.FloatField:
    return forms.FloatField(
        label=label,
        min_value=low,
        max_value=high,
        error_messages={
            "required": message,
            "invalid": message,
            "min_value": message,
            "max_value": message,
        },
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


class PlaceForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX,
        error_messages={
            "required": _("Give the place a name."),
            "max_length": _("A name can be at most 120 characters."),
        },
    )
    kind = forms.ChoiceField(
        label=_("Kind of place"),
        choices=Place.Kind.choices,
        error_messages={"invalid_choice": _("Choose the kind of place from the list.")},
    )
    organization = OrganizationChoice(
        label=_("Organization responsible"),
        queryset=Organization.objects.none(),
        empty_label=None,
        error_messages={
            "required": _("Choose the organization responsible for this place."),
            "invalid_choice": _("Choose one of your organizations."),
        },
    )
    lat = _coordinate(
        _("Latitude"), -90, 90, _("Enter a latitude between -90 and 90, for example 34.0407.")
    )
    lng = _coordinate(
        _("Longitude"),
        -180,
        180,
        _("Enter a longitude between -180 and 180, for example -118.2468."),
    )
    notes = forms.CharField(
        label=_("Notes for volunteers"),
        required=False,
        max_length=NOTES_MAX,
        help_text=_(
            "Where to stand, who the school contact is. Only coordinators and members of the "
            "organization see them."
        ),
        error_messages={"max_length": _("Notes can be at most 2000 characters.")},
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    active = forms.BooleanField(
        label=_("Active (shifts are generated for it)"), required=False, initial=True
    )

    def __init__(self, *args: Any, organizations, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(OrganizationChoice, self.fields["organization"]).queryset = organizations

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Give the place a name."), code="required")
        return name

    def clean_notes(self) -> str:
        return self.cleaned_data["notes"].strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        for field in ("lat", "lng"):
            value = data.get(field)
            if value is not None and not math.isfinite(value):
                self.add_error(field, self.fields[field].error_messages["invalid"])
        return data


class TemplateForm(forms.Form):
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Days of the week"),
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": NO_WEEKDAYS, "invalid_choice": NO_WEEKDAYS},
    )
    start_time = forms.TimeField(
        label=_("Starts at"),
        error_messages={
            "required": _("Enter the time the shift starts, for example 07:15."),
            "invalid": _("Enter a time such as 07:15 or 14:30."),
        },
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    end_time = forms.TimeField(
        label=_("Ends at"),
        error_messages={
            "required": _("Enter the time the shift ends, for example 08:15."),
            "invalid": _("Enter a time such as 08:15 or 15:30."),
        },
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    min_people = forms.IntegerField(
        label=_("Minimum people"),
        initial=2,
        min_value=1,
        max_value=MAX_PEOPLE,
        error_messages={
            "required": PEOPLE_ORDER,
            "invalid": PEOPLE_ORDER,
            "min_value": PEOPLE_ORDER,
            "max_value": PEOPLE_ORDER,
        },
    )
    ideal_people = forms.IntegerField(
        label=_("Ideal number of people"),
        initial=4,
        min_value=1,
        max_value=MAX_PEOPLE,
        error_messages={
            "required": PEOPLE_ORDER,
            "invalid": PEOPLE_ORDER,
            "min_value": PEOPLE_ORDER,
            "max_value": PEOPLE_ORDER,
        },
    )
    max_people = forms.IntegerField(
        label=_("Maximum people"),
        initial=6,
        min_value=1,
        max_value=MAX_PEOPLE,
        error_messages={
            "required": PEOPLE_ORDER,
            "invalid": PEOPLE_ORDER,
            "min_value": PEOPLE_ORDER,
            "max_value": PEOPLE_ORDER,
        },
    )
    active_from = forms.DateField(
        label=_("First day"),
        error_messages={
            "required": _("Enter the first day, for example 2026-01-12."),
            "invalid": _("Enter a date such as 2026-01-12."),
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    active_until = forms.DateField(
        label=_("Last day (optional)"),
        required=False,
        help_text=_("Leave empty to repeat until you stop it."),
        error_messages={"invalid": _("Enter a date such as 2026-06-12.")},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["active_from"].initial = timezone.localdate

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        start, end = data.get("start_time"), data.get("end_time")
        if start is not None and end is not None and end <= start:
            self.add_error("end_time", END_BEFORE_START)
        low, ideal, high = (data.get(k) for k in ("min_people", "ideal_people", "max_people"))
        if (
            low is not None
            and ideal is not None
            and high is not None
            and not (low <= ideal <= high)
        ):
            self.add_error("ideal_people", PEOPLE_ORDER)
        first, last = data.get("active_from"), data.get("active_until")
        if first is not None and last is not None and last < first:
            self.add_error("active_until", _("The last day must be on or after the first day."))
        if not self.errors:
            try:
                services.template_validate(
                    weekdays=data["weekdays"],
                    start_time=data["start_time"],
                    end_time=data["end_time"],
                    min_people=data["min_people"],
                    ideal_people=data["ideal_people"],
                    max_people=data["max_people"],
                )
            except services.PatrolError as error:
                raise ValidationError(str(error)) from None
        return data


class HolidayForm(forms.Form):
    ALL = "all"

    date = forms.DateField(
        label=_("Day"),
        error_messages={
            "required": _("Enter the day, for example 2026-11-26."),
            "invalid": _("Enter a date such as 2026-11-26."),
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX,
        help_text=_("For example: Thanksgiving break. People signed up that day are told."),
        error_messages={
            "required": _("Give the holiday a name, for example Thanksgiving break."),
            "max_length": _("A name can be at most 120 characters."),
        },
    )
    organization = forms.ChoiceField(
        label=_("Places of"),
        error_messages={"invalid_choice": _("Choose one of your organizations.")},
    )

    def __init__(self, *args: Any, organizations, allow_all: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, StrOrPromise]] = [(str(o.pk), o.name) for o in organizations]
        if allow_all:
            choices.insert(0, (self.ALL, _("All organizations")))
        cast(forms.ChoiceField, self.fields["organization"]).choices = choices

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day < timezone.localdate():
            raise ValidationError(_("Choose today or a later day."), code="past")
        return day

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(
                _("Give the holiday a name, for example Thanksgiving break."), code="required"
            )
        return name

    def organization_id(self) -> int | None:
        value = self.cleaned_data["organization"]
        return None if value == self.ALL else int(value)


class ShiftChoiceForm(forms.Form):
    """The shift a one-tap action is about (ask people to fill)."""

    shift = forms.IntegerField(min_value=1, error_messages={"required": _("Choose a shift.")})
    next = forms.CharField(required=False, max_length=500)


class FeedForm(forms.Form):
    """Create or replace a calendar link: one's own, or an organization's."""

    organization = forms.IntegerField(required=False, min_value=1)
