"""The network app's own-account pages: sign-in and two-step sign-in, sign-out, home, profile,
API tokens, joining by invitation. (Rosters, vetting, zones and the audit log: views.py.)"""

from __future__ import annotations

import math
from base64 import b32encode
from typing import Any
from urllib.parse import urlencode

import django_otp
import phonenumbers
import segno
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from vecinos.core.nexturl import safe_next
from vecinos.network import phone_change, selectors, services, two_factor
from vecinos.network.forms import (
    DEFAULT_TOKEN_DAYS,
    PHONE_ERROR,
    WRONG_CODE,
    JoinForm,
    PhoneCodeForm,
    ProfileForm,
    SignInForm,
    SixDigitCodeForm,
    TokenCreateForm,
    VerifyCodeForm,
)
from vecinos.network.http import member_of
from vecinos.network.models import (
    LANGUAGE_CODES,
    ROLE_MIN_TIER,
    ApiToken,
    Member,
    Membership,
    PhoneChange,
    Role,
    Tier,
)
from vecinos.network.phones import InvalidPhone

# --- helpers (network/views.py uses them too) ----------------------------------------------


def _safe_next(request: HttpRequest, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    return safe_next(request, target, resolve_url(default))


def _qr_svg(data: str) -> str:
    """Our own generated markup (no user input reaches it as markup), safe to render inline."""
    return segno.make(data, error="m", micro=False).svg_inline(scale=4, border=4)


def _display_phone(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def _role_rows(member: Member, memberships: QuerySet[Membership]) -> list[dict[str, Any]]:
    """Each role with whether it is in force yet (its tier requirement met)."""
    rows = []
    for membership in memberships:
        needed = ROLE_MIN_TIER.get(membership.role, Tier.TRAINED)
        rows.append(
            {
                "organization": membership.organization,
                "role": membership.get_role_display(),
                "in_force": member.tier >= needed,
                "needs": Tier(needed).label,
            }
        )
    return rows


# --- sign in, two-step sign-in, sign out ------------------------------------------------------


class SignInView(LoginView):
    template_name = "registration/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        # Django lets a bare word through ("-1", a relative address): only a path on this
        # site is followed, as everywhere else a "next" is (core.nexturl).
        return safe_next(self.request, super().get_redirect_url(), "")

    def get_success_url(self) -> str:
        url = super().get_success_url()
        if getattr(self.request.user, "otp_device", None) is not None:
            return url  # the code was given with the password
        # Anyone who set up an authenticator is asked for a code, not only those whose role
        # makes it compulsory (the middleware enforces it for those).
        if django_otp.user_has_device(self.request.user, confirmed=True):
            return f"{reverse('two_factor_verify')}?{urlencode({'next': url})}"
        return url


sign_in = SignInView.as_view()


def locked_out(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """django-axes calls this (request, original response, credentials) when a username has too
    many failed sign-ins. The sign-in form is shown again: with a code from their
    authenticator, the owner gets in regardless."""
    credentials = next((arg for arg in args if isinstance(arg, dict)), None) or {}
    form = SignInForm(request)
    username = credentials.get("username")
    form.fields["username"].initial = username if isinstance(username, str) else ""
    return render(
        request,
        "registration/login.html",
        {
            "form": form,
            "locked": True,
            "next": _safe_next(request)
            if (request.POST.get("next") or request.GET.get("next"))
            else "",
        },
        status=429,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("login")


@login_required
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    revoked = services.sign_out_everywhere(member=member_of(request))
    logout(request)
    messages.info(request, _("You are signed out on every phone and computer."))
    if revoked:
        messages.info(
            request,
            ngettext(
                "Your API token was revoked.",
                "Your %(count)d API tokens were revoked.",
                revoked,
            )
            % {"count": revoked},
        )
    return redirect("login")


@never_cache
@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = member_of(request)
    if not user.is_verified() and django_otp.user_has_device(user, confirmed=True):
        # Someone holding only the password must not be able to add an authenticator of their own.
        return redirect(f"{reverse('two_factor_verify')}?{urlencode({'next': request.path})}")
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return render(request, "network/two_factor_status.html")

    device = two_factor.pending_device(user)

    form = SixDigitCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = _code_wait(user, form.cleaned_data["code"])
        if device.verify_token(form.cleaned_data["code"]):
            codes = two_factor.enroll(user=user, device=device)
            django_otp.login(request, device)
            request.session.cycle_key()
            return render(request, "network/recovery_codes.html", {"codes": codes, "new": True})
        form.add_error("code", _code_refused(wait))

    secret = b32encode(device.bin_key).decode()
    return render(
        request,
        "network/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": _qr_svg(device.config_url),
            "required": selectors.requires_two_factor(user),
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        },
    )


@never_cache
@login_required
@require_POST
def two_factor_recovery(request: HttpRequest) -> HttpResponse:
    """New recovery codes (the old ones stop working), for a session that passed a code."""
    user = member_of(request)
    if not user.is_verified():
        return redirect("two_factor_verify")
    codes = two_factor.recovery_codes_renew(user=user)
    return render(request, "network/recovery_codes.html", {"codes": codes, "new": False})


@never_cache
@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    user = member_of(request)
    next_url = _safe_next(request)
    if user.is_verified():
        return redirect(next_url)
    if not django_otp.user_has_device(user, confirmed=True):
        return redirect("two_factor_setup")

    form = VerifyCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = _code_wait(user, form.cleaned_data["code"])
        device = django_otp.match_token(user, form.cleaned_data["code"])
        if device is not None:
            django_otp.login(request, device)
            # A new session id once the session gains its second factor: an id planted or seen
            # before this point (fixation) is worth nothing afterwards.
            request.session.cycle_key()
            return redirect(next_url)
        services.two_factor_failed(member=user)
        form.add_error("code", _code_refused(wait))
    return render(request, "network/two_factor_verify.html", {"form": form, "next": next_url})


def _code_wait(user: Member, code: str) -> int:
    """Seconds before an app's code is checked at all: after a wrong code django-otp waits 1,
    2, 4... seconds, and refuses any code meanwhile, the right one too. (A recovery code is
    checked by its own device, which does not wait.)"""
    if not (code.isdigit() and len(code) == 6):
        return 0
    now = timezone.now()
    wait = 0
    for device in TOTPDevice.objects.filter(user=user):
        allowed, info = device.verify_is_allowed()
        if not allowed and info and info.get("locked_until"):
            wait = max(wait, math.ceil((info["locked_until"] - now).total_seconds()))
    return wait


def _code_refused(wait: int) -> str:
    """Why a code was refused: wrong, or not checked because it came during the wait after a
    wrong one (outside walk, session 17: the right code typed at once was "not right")."""
    if wait <= 0:
        return str(WRONG_CODE)
    return ngettext(
        "That code is not right, or came too soon after a wrong one. Wait %(seconds)s second, "
        "then enter the code your app shows.",
        "That code is not right, or came too soon after a wrong one. Wait %(seconds)s seconds, "
        "then enter the code your app shows.",
        wait,
    ) % {"seconds": wait}


# --- home, profile, tokens --------------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    user = request.user
    memberships = (
        Membership.objects.filter(member=user)
        .select_related("organization")
        .order_by("organization__name", "role")
    )
    return render(
        request,
        "network/home.html",
        {
            "roles": _role_rows(user, memberships),
            "tier_label": Tier(user.tier).label,
            "is_vouched": user.tier >= Tier.VOUCHED,
        },
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                texted = services.profile_update(member=member, **form.cleaned_data)
            except InvalidPhone:
                form.add_error("phone", PHONE_ERROR)
            except phone_change.TooManyCodes:
                messages.error(
                    request,
                    _(
                        "Your other details are saved, but not the new phone number: too many "
                        "codes were sent to you in the last hour. Try again later."
                    ),
                )
                return redirect("profile")
            else:
                if texted:
                    messages.success(
                        request,
                        _(
                            "Your profile is saved. We texted a code to your new phone number: "
                            "enter it below to start using that number."
                        ),
                    )
                else:
                    messages.success(request, _("Your profile is saved."))
                return redirect("profile")
    waiting = phone_change.pending(member)
    if request.method != "POST":
        phone = waiting.phone if waiting else member.phone  # saving again keeps it waiting
        form = ProfileForm(
            initial={
                "full_name": member.full_name,
                "phone": _display_phone(phone) if phone else "",
                "email": member.email,
                "preferred_language": member.preferred_language,
                "languages": member.languages,
                "notes": member.notes,
            }
        )
    return render(
        request,
        "network/profile.html",
        {
            "form": form,
            # Kept on one line (no-break space and hyphen), also inside right-to-left text.
            "waiting_phone": _display_phone(waiting.phone)
            .replace(" ", "\u00a0")
            .replace("-", "\u2011")
            if waiting
            else "",
            "code_form": PhoneCodeForm(),
            "tier_label": Tier(member.tier).label,
            "vouch_count": member.vouches_received.count(),
            "training_count": member.trainings.count(),
            "has_two_factor": TOTPDevice.objects.filter(user=member, confirmed=True).exists(),
        },
    )


_TOO_MANY_CODES = gettext_lazy(
    "Too many codes were sent to you in the last hour. Your phone number is unchanged: "
    "try again later."
)


@login_required
def profile_phone(request: HttpRequest) -> HttpResponse:
    """The code texted to a new phone number: confirm it, ask for a new one, or give up. A GET
    (signing in again after the session ended on this form comes back here) shows the profile,
    where the code box is."""
    if request.method != "POST":
        return redirect("profile")
    member = member_of(request)
    action = request.POST.get("action", "")
    if action == "cancel":
        phone_change.cancel(member)
        messages.success(request, _("Your phone number is unchanged."))
    elif action == "resend":
        waiting = PhoneChange.objects.filter(member=member).first()
        if waiting is None:
            messages.error(request, _("No phone number is waiting for a code."))
        else:
            try:
                phone_change.start(member, waiting.phone)
            except phone_change.TooManyCodes:
                messages.error(request, _TOO_MANY_CODES)
            else:
                messages.success(request, _("We texted you a new code."))
    else:
        form = PhoneCodeForm(request.POST)
        if not form.is_valid() or not phone_change.confirm(member, form.cleaned_data["code"]):
            messages.error(
                request,
                _(
                    "That code is not right, or it is more than 30 minutes old. Check the text "
                    "message, or ask for a new code."
                ),
            )
        else:
            member.refresh_from_db(fields=["phone"])
            messages.success(
                request,
                _("Your phone number is now %(phone)s.") % {"phone": _display_phone(member.phone)},
            )
    return redirect("profile")


@never_cache
@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    issued = None
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        issued = services.token_create(
            member=member,
            name=form.cleaned_data["name"].strip(),
            # 0: no end date; not given: the default lifetime.
            valid_days=DEFAULT_TOKEN_DAYS
            if form.cleaned_data["valid_days"] is None
            else form.cleaned_data["valid_days"] or None,
        )
        form = TokenCreateForm()
    return render(
        request,
        "network/tokens.html",
        {
            "form": form,
            "issued": issued,
            "tokens": ApiToken.objects.filter(member=member),
        },
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    member = member_of(request)
    token = get_object_or_404(ApiToken, pk=token_id, member=member)
    try:
        services.token_revoke(actor=member, token=token)
    except services.NotAllowed:
        raise PermissionDenied from None
    messages.success(request, _("The token “%(name)s” no longer works.") % {"name": token.name})
    return redirect("tokens")


# --- joining by invitation --------------------------------------------------------------------


def _invite_gone(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "error.html",
        {
            "title": _("This invitation cannot be used"),
            "message": _(
                "This invitation link has expired or was already used. "
                "Ask your coordinator for a new one."
            ),
        },
        status=410,
    )


@never_cache
def join(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_lookup(token)
    except services.InviteUnusable:
        return _invite_gone(request)
    context: dict[str, Any] = {
        "organization": invitation.organization,
        "role_label": Role(invitation.role).label,
    }
    if request.user.is_authenticated:
        return render(request, "network/join_signed_in.html", context)

    ui_language = get_language() or "es"
    initial = {"preferred_language": ui_language if ui_language in LANGUAGE_CODES else "es"}
    form = JoinForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            member = services.invitation_accept(
                token=token,
                username=data["username"],
                password=data["password1"],
                full_name=data["full_name"].strip(),
                phone=data["phone"],
                email=data["email"],
                preferred_language=data["preferred_language"],
                languages=data["languages"],
            )
        except services.InviteUnusable:
            return _invite_gone(request)
        except IntegrityError:
            form.add_error("username", _("That username is taken."))
        except InvalidPhone:
            form.add_error("phone", PHONE_ERROR)
        else:
            login(request, member, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                _(
                    "Welcome to %(org)s on Vecinos! As a new member you can keep your profile "
                    "up to date and read the public pages. When a coordinator or two members of "
                    "your organization vouch for you, you can see more and take on your role."
                )
                % {"org": invitation.organization.name},
            )
            messages.info(
                request,
                _(
                    "We texted a code to your phone. Enter it on “My profile” to start getting "
                    "messages there."
                ),
            )
            return redirect("profile")
    context["form"] = form
    return render(request, "network/join.html", context)
