"""Forms for the network pages. They validate every input and speak the person's language."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vecinos.core.extensions import audit_action_label
from vecinos.network.models import (
    COALITION_WIDE_ROLES,
    LANGUAGE_CHOICES,
    Member,
    Role,
    username_validator,
)
from vecinos.network.phones import InvalidPhone, normalize_phone

NAME_MAX = 120
NOTES_MAX = 2000

PHONE_ERROR = _("Enter a valid phone number, for example (213) 555-0134.")
WRONG_CODE = _("That code is not right. Check the time on your phone and try again.")


def _name_field(required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=_("Name"),
        required=required,
        max_length=NAME_MAX,
        help_text=_("What people in your organization call you."),
        error_messages={"max_length": _("A name can be at most 120 characters.")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


def _phone_field(required: bool) -> forms.CharField:
    return forms.CharField(
        label=_("Phone"),
        required=required,
        max_length=32,
        error_messages={"max_length": PHONE_ERROR, "required": _("Enter your phone number.")},
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )


def _clean_phone(value: str) -> str:
    if not value:
        return ""
    try:
        return normalize_phone(value)
    except InvalidPhone:
        raise ValidationError(PHONE_ERROR, code="invalid_phone") from None


def _language_fields() -> tuple[forms.ChoiceField, forms.MultipleChoiceField]:
    preferred = forms.ChoiceField(
        label=_("Preferred language"),
        choices=LANGUAGE_CHOICES,
        help_text=_("Messages and calls to you use this language."),
    )
    spoken = forms.MultipleChoiceField(
        label=_("Languages you speak"),
        choices=LANGUAGE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    return preferred, spoken


class SixDigitCodeForm(forms.Form):
    """The first code from a new authenticator app."""

    code = forms.CharField(
        label=_("6-digit code"),
        max_length=12,
        error_messages={"required": _("Enter the 6-digit code from your app.")},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9 ]*",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].replace(" ", "").replace("-", "")
        if not (len(code) == 6 and code.isdigit()):
            raise ValidationError(_("Enter the 6 digits shown in your app."), code="format")
        return code


class PhoneCodeForm(forms.Form):
    """The code texted to a new phone number (network.phone_change)."""

    code = forms.CharField(
        label=_("Code from the text message"),
        max_length=12,
        error_messages={"required": _("Enter the 6-digit code we texted you.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*"}
        ),
    )


class VerifyCodeForm(forms.Form):
    """A TOTP code or a recovery code."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6-digit code from your app, or one of your recovery codes."),
        error_messages={"required": _("Enter a code.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        # Recovery codes are lowercase base32; people may type them in capitals or with spaces.
        return self.cleaned_data["code"].replace(" ", "").replace("-", "").lower()


class ProfileForm(forms.Form):
    full_name = _name_field()
    phone = _phone_field(required=False)
    email = forms.EmailField(
        label=_("Email"),
        required=False,
        max_length=254,
        error_messages={"invalid": _("Enter a valid email address.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    preferred_language, languages = _language_fields()
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=NOTES_MAX,
        help_text=_("Anything your coordinator should know, such as the best time to call."),
        error_messages={"max_length": _("Notes can be at most 2000 characters.")},
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_phone(self) -> str:
        return _clean_phone(self.cleaned_data.get("phone", ""))


DEFAULT_TOKEN_DAYS = 90


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=80,
        help_text=_("Say what uses it, for example “hotline bridge”."),
        error_messages={
            "required": _("Give the token a name."),
            "max_length": _("A token name can be at most 80 characters."),
        },
    )
    valid_days = forms.TypedChoiceField(
        label=_("Works for"),
        choices=[
            ("7", _("7 days")),
            ("30", _("30 days")),
            ("90", _("90 days")),
            ("365", _("1 year")),
            ("0", _("No end date")),
        ],
        coerce=int,
        initial="90",
        required=False,
        empty_value=None,  # not given: DEFAULT_TOKEN_DAYS
        error_messages={"invalid_choice": _("Choose how long the token works.")},
    )


def _role_choices(*, include_coalition: bool, coalition_wide: bool = True) -> list[tuple[str, Any]]:
    """``include_coalition``: the coalition coordinator role; ``coalition_wide``: dispatcher and
    verifier (offered to organization coordinators only to take away)."""
    return [
        (value, label)
        for value, label in Role.choices
        if (include_coalition or value != Role.COALITION_COORDINATOR)
        and (coalition_wide or value not in COALITION_WIDE_ROLES)
    ]


class InviteForm(forms.Form):
    role = forms.ChoiceField(label=_("Role for the new member"))

    def __init__(self, *args: Any, include_coalition: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = cast(forms.ChoiceField, self.fields["role"])
        # Only a coalition coordinator invites dispatchers and verifiers.
        role.choices = _role_choices(
            include_coalition=include_coalition, coalition_wide=include_coalition
        )
        role.initial = Role.PATROL


class RoleChangeForm(forms.Form):
    """``op`` comes from the submit button pressed ("give" or "take away")."""

    GRANT, REVOKE = "grant", "revoke"

    role = forms.ChoiceField(label=_("Role"), error_messages={"required": _("Choose a role.")})
    op = forms.ChoiceField(
        choices=[(GRANT, _("Give")), (REVOKE, _("Take away"))], widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, include_coalition: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = cast(forms.ChoiceField, self.fields["role"])
        role.choices = [("", _("Choose a role"))] + _role_choices(
            include_coalition=include_coalition
        )


class TrainingForm(forms.Form):
    topic = forms.CharField(
        label=_("Training"),
        max_length=120,
        help_text=_("For example: know your rights, verifier training."),
        error_messages={
            "required": _("Say which training they completed."),
            "max_length": _("A training name can be at most 120 characters."),
        },
    )
    completed_on = forms.DateField(
        label=_("Completed on"),
        error_messages={
            "required": _("Enter the date of the training."),
            "invalid": _("Enter a date, for example 2025-06-30."),
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean_completed_on(self) -> date:
        value: date = self.cleaned_data["completed_on"]
        if value > timezone.localdate():
            raise ValidationError(_("The date cannot be in the future."), code="future")
        return value


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, I am sure"),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class VouchForm(forms.Form):
    username = forms.CharField(
        label=_("Their username"),
        max_length=40,
        error_messages={"required": _("Enter a username.")},
        widget=forms.TextInput(attrs={"autocapitalize": "off", "autocomplete": "off"}),
    )

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip()


class JoinForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=40,
        help_text=_(
            "A nickname others will see. You do not have to use your real name. "
            "3 to 40 letters, digits, dots, dashes or underscores."
        ),
        validators=[username_validator],
        error_messages={"required": _("Choose a username.")},
        widget=forms.TextInput(attrs={"autocapitalize": "off", "autocomplete": "username"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=256,
        help_text=_("At least 10 characters. A few unrelated words work well."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    full_name = _name_field()
    phone = _phone_field(required=True)
    email = forms.EmailField(
        label=_("Email (optional)"),
        required=False,
        max_length=254,
        error_messages={"invalid": _("Enter a valid email address.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    preferred_language, languages = _language_fields()

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if Member.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("That username is taken."), code="taken")
        return username

    def clean_phone(self) -> str:
        return _clean_phone(self.cleaned_data.get("phone", ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        password1, password2 = data.get("password1"), data.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords are not the same."))
        elif password1:
            probe = Member(username=data.get("username") or "", full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(password1, user=probe)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


class AuditFilterForm(forms.Form):
    person = forms.CharField(label=_("Person (username)"), max_length=40, required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action = cast(forms.ChoiceField, self.fields["action"])
        # Each action by what it means in the reader's language, in the order of those words;
        # the value stays the code (the table shows it too, for those who search by code).
        labels = {a: audit_action_label(a) for a in actions}
        ordered = sorted(actions, key=lambda a: (labels[a].casefold(), a))
        action.choices = [("", _("All actions"))] + [(a, labels[a]) for a in ordered]


class SignInForm(AuthenticationForm):
    """Username and password, and optionally the authenticator code in the same step: a sign-in
    with a valid code is let through even while wrong passwords typed by someone else have the
    username locked (vecinos.network.signin)."""

    code = forms.CharField(
        label=_("Code from your authenticator app (if you use one)"),
        required=False,
        max_length=16,
        help_text=_(
            "Optional. With it you skip the next step, and you can sign in even after "
            "someone else typed wrong passwords for your username."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self) -> dict[str, Any]:
        from vecinos.network.signin import second_factor_device

        cleaned = super().clean()
        device = second_factor_device(self.request) if self.request is not None else None
        if device is not None and self.user_cache is not None:
            # django_otp keeps this device in the session when the member is logged in: the
            # code given here counts as the second step.
            self.user_cache.otp_device = device  # type: ignore[attr-defined]
        return cleaned
