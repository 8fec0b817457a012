from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vecinos.alerts.forms import parse_polygon
from vecinos.alerts.models import Tier
from vecinos.core import ids
from vecinos.maps.selectors import PUBLIC_MAX_DAYS, PublicFilter, default_filter
from vecinos.network.models import Organization, Zone, ZoneKind
from vecinos.reports.models import Activity, Incident

OUTCOME_CHOICES = [
    ("", _("Confirmed and false alarms")),
    (Incident.Status.CONFIRMED, _("Confirmed only")),
    (Incident.Status.FALSE_ALARM, _("False alarms only")),
]


class PublicMapForm(forms.Form):
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput({"type": "date"})
    )
    until = forms.DateField(
        label=pgettext_lazy("date range", "To"),
        required=False,
        widget=forms.DateInput({"type": "date"}),
    )
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


class ReachForm(forms.Form):
    """The composer's area as it is being drawn (the same fields as the alert form)."""

    tiers = forms.MultipleChoiceField(choices=Tier.choices, required=False)
    zones = ids.ModelMultipleChoiceField(queryset=Zone.objects.all(), required=False)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180)
    radius_m = forms.IntegerField(required=False, min_value=50, max_value=50_000)
    polygon = forms.CharField(required=False, max_length=20_000)

    def clean_polygon(self) -> list[list[float]]:
        return parse_polygon(self.cleaned_data.get("polygon") or "")

    def point(self) -> tuple[float, float] | None:
        lat, lng = self.cleaned_data.get("lat"), self.cleaned_data.get("lng")
        if lat is None or lng is None or not self.cleaned_data.get("radius_m"):
            return None
        return lat, lng


class ZoneForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=ZoneKind.choices)
    organization = forms.ModelChoiceField(
        label=_("Organization"),
        queryset=Organization.objects.order_by("name"),
        required=False,
        empty_label=_("(the whole coalition)"),
    )
    # The outline drawn on the map, [[lat, lng], ...] as JSON (set by the map script).
    boundary = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20_000)

    def clean_boundary(self) -> list[list[float]]:
        ring = parse_polygon(self.cleaned_data.get("boundary") or "")
        if not ring:
            raise forms.ValidationError(
                _("Draw the zone's outline on the map (at least three corners).")
            )
        return ring
