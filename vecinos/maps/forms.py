from __future__ import annotations

import json
import math
from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vecinos.maps.selectors import PUBLIC_MAX_DAYS, PublicFilter, default_filter
from vecinos.reports.models import Activity, Incident

OUTCOME_CHOICES = [
    ("", _("Confirmed and false alarms")),
    (Incident.Status.CONFIRMED, _("Confirmed only")),
    (Incident.Status.FALSE_ALARM, _("False alarms only")),
]


class PublicMapForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput({"type": "date"}))
    outcome = forms.ChoiceField(label=_("What was found"), choices=OUTCOME_CHOICES, required=False)
    activity = forms.ChoiceField(
        label=_("Activity"), choices=[("", _("Any activity")), *Activity.choices], required=False
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        default = default_filter()
        since, until = data.get("since") or None, data.get("until") or None
        today = timezone.localdate()
        until = min(until or today, today)
        since = since or (until - (default.until - default.since))
        if since > until:
            self.add_error("since", _("The first day must come before the last."))
        elif (until - since) > timedelta(days=PUBLIC_MAX_DAYS):
            self.add_error("since", _("Choose at most a year at a time."))
        data["since"], data["until"] = since, until
        return data

    def filter(self) -> PublicFilter:
        if not self.is_valid():
            return default_filter()
        d = self.cleaned_data
        return PublicFilter(
            since=d["since"],
            until=d["until"],
            outcome=d.get("outcome") or "",
            activity=d.get("activity") or "",
        )


MAX_POLYGON_POINTS = 200


def parse_polygon(text: str) -> list[list[float]]:
    """A drawn polygon from the composer: JSON [[lat, lng], ...], 3 to 200 distinct points.

    Raises forms.ValidationError with a message for the person (never a 500).
    """
    if not text or not text.strip():
        return []
    try:
        raw = json.loads(text)
    except ValueError:
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
        if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
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
    return points
