from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from vecinos.network.models import Organization
from vecinos.onboarding.imports import ALIASES, FIELDS, REQUIRED
from vecinos.onboarding.models import ImportJob

MAX_UPLOAD = 10 * 1024 * 1024  # 200,000 rows of a few columns; bigger files go by the CLI

FIELD_LABELS = {
    "phone": _("Phone"),
    "name": _("Name"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "email": _("Email"),
    "language": _("Language"),
    "zip": _("ZIP code"),
    "zone": _("Zone"),
    "roles": _("Roles"),
    "consent": _("Consent (how they agreed)"),
}


class UploadForm(forms.Form):
    organization: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=Organization.objects.none(), label=_("Organization")
    )
    kind = forms.ChoiceField(choices=ImportJob.Kind.choices, label=_("Who is in the file"))
    file = forms.FileField(
        label=_("Spreadsheet (.csv or .xlsx)"),
        help_text=_("The first row names the columns, in English or Spanish."),
    )

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]
        if organizations.count() == 1:
            self.fields["organization"].initial = organizations.first()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(
                _("The file is larger than 10 MB. Split it, or use the vecinos import command.")
            )
        return upload


class MappingForm(forms.Form):
    """One select per field: which column holds it (suggested from the headers)."""

    def __init__(self, *args, kind: str, headers: list[str], suggested: dict[str, int], **kw):
        super().__init__(*args, **kw)
        choices = [("", _("— not in the file —"))] + [
            (str(i), header or _("column %(n)s") % {"n": i + 1}) for i, header in enumerate(headers)
        ]
        for name in FIELDS[kind]:
            self.fields[name] = forms.ChoiceField(
                choices=choices,
                required=name in REQUIRED[kind],
                label=FIELD_LABELS[name],
                initial=str(suggested[name]) if name in suggested else "",
            )
        self.aliases = ALIASES

    def mapping(self) -> dict[str, int | None]:
        return {
            name: (int(value) if value not in ("", None) else None)
            for name, value in self.cleaned_data.items()
        }
