"""The coalition: organizations, members, their roles, vetting, invitations and zones.

By design there is no field for immigration status, nationality, country of origin, A-number or
SSN anywhere (tests/test_no_forbidden_fields.py fails if one appears). Names, phone numbers,
emails and notes are encrypted at rest; phone and email are found by blind index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from vecinos.core import languages
from vecinos.core.crypto import EncryptedTextField


class Role(models.TextChoices):
    COALITION_COORDINATOR = "coalition_coordinator", _("Coalition coordinator")
    ORG_COORDINATOR = "org_coordinator", _("Organization coordinator")
    DISPATCHER = "dispatcher", _("Dispatcher")
    VERIFIER = "verifier", _("Verifier")
    RESPONDER = "responder", _("Rapid responder / legal observer")
    PATROL = "patrol", _("Patrol member")
    CAPTAIN = "captain", _("Phone-tree captain")
    SUBSCRIBER = "subscriber", _("Subscriber")


class Tier(models.IntegerChoices):
    NEW = 0, _("New")
    VOUCHED = 1, _("Vouched")
    TRAINED = 2, _("Trained")


# A role only takes effect once its holder has reached this tier: an infiltrator handed the
# dispatcher role on day one still sees nothing until a coordinator records their training.
ROLE_MIN_TIER: dict[str, int] = {
    Role.COALITION_COORDINATOR: Tier.TRAINED,
    Role.ORG_COORDINATOR: Tier.TRAINED,
    Role.DISPATCHER: Tier.TRAINED,
    Role.VERIFIER: Tier.TRAINED,
    Role.RESPONDER: Tier.VOUCHED,
    Role.CAPTAIN: Tier.VOUCHED,
    Role.PATROL: Tier.NEW,
    Role.SUBSCRIBER: Tier.NEW,
}

COORDINATOR_ROLES = (Role.COALITION_COORDINATOR, Role.ORG_COORDINATOR)
# Roles whose power reaches past the holder's organization (every alert, every incident): only a
# coalition coordinator gives them, and never to themself.
COALITION_WIDE_ROLES = (Role.COALITION_COORDINATOR, Role.DISPATCHER, Role.VERIFIER)

# Every language a person may prefer, written or spoken only: see vecinos.core.languages.
LANGUAGE_CHOICES = languages.choices()
LANGUAGE_CODES = {code for code, _label in LANGUAGE_CHOICES}


class Organization(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    short_name = models.SlugField(_("short name"), max_length=32, unique=True)
    languages = models.JSONField(_("languages served"), default=list, blank=True)
    # Contact for coordinators (a phone or email of the group's office): encrypted all the same.
    coordinator_contact = EncryptedTextField(_("contact for coordinators"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name


class MemberManager(BaseUserManager["Member"]):
    use_in_migrations = True

    def create_user(self, username: str, password: str | None = None, **extra) -> Member:
        member = self.model(username=username, **extra)
        member.set_password(password)
        member.save(using=self._db)
        return member

    def create_superuser(self, username: str, password: str | None = None, **extra) -> Member:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("tier", Tier.TRAINED)
        return self.create_user(username, password, **extra)


username_validator = RegexValidator(
    r"^[a-zA-Z0-9_.-]{3,40}$",
    _("Use 3 to 40 letters, digits, dots, dashes or underscores."),
)


class Member(AbstractBaseUser, PermissionsMixin):
    """A person. The username is a handle people choose (not their legal name)."""

    username = models.CharField(
        _("username"), max_length=40, unique=True, validators=[username_validator]
    )
    full_name = EncryptedTextField(_("name"), blank=True)
    phone = EncryptedTextField(_("phone"), blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True)
    email = EncryptedTextField(_("email"), blank=True)
    email_index = models.CharField(max_length=64, blank=True, db_index=True)
    notes = EncryptedTextField(_("notes"), blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=LANGUAGE_CHOICES, default="es"
    )
    languages = models.JSONField(_("languages spoken"), default=list, blank=True)
    tier = models.PositiveSmallIntegerField(
        _("vetting tier"), choices=Tier.choices, default=Tier.NEW
    )
    is_active = models.BooleanField(_("active"), default=True)  # type: ignore[misc]
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped by "sign out everywhere": every existing session's auth hash stops matching.
    session_epoch = models.PositiveIntegerField(default=0)

    objects = MemberManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["username"]
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        return self.username

    def get_session_auth_hash(self) -> str:
        key_salt = "vecinos.network.Member.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.session_epoch}", algorithm="sha256"
        ).hexdigest()

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    if TYPE_CHECKING:
        # Installed on request.user by django_otp's OTPMiddleware: whether this session passed
        # a second-factor check. Members loaded any other way do not have it.
        def is_verified(self) -> bool: ...


class PhoneChange(models.Model):
    """A phone number a member asked to use, waiting for the code texted to it. Until the code
    comes back, the member's phone stays what it was: nobody takes another person's number (and
    with it their replies, and the messages meant for them) by typing it into a form."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="phone_change")
    phone = EncryptedTextField()
    code_hash = models.CharField(max_length=64)
    sent_at = models.DateTimeField(default=timezone.now)
    tries = models.PositiveSmallIntegerField(default=0)


class Membership(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "organization", "role"], name="membership_unique_role"
            )
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.member_id}@{self.organization_id}:{self.role}"


class Vouch(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="vouches_received")
    voucher = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="vouches_given")
    voucher_was_coordinator = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "voucher"], name="vouch_once"),
        ]


class Training(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="trainings")
    recorded_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    topic = models.CharField(_("training"), max_length=120)
    completed_on = models.DateField(_("completed on"))
    created_at = models.DateTimeField(auto_now_add=True)


class Invitation(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    # Only a hash of the token is stored: a copy of the database cannot be used to join.
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class ApiToken(models.Model):
    """A personal token for partner systems. Shown once; only its SHA-256 is kept."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # None: no end date (the owner chose so, or a token made before tokens could expire).
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class ZoneKind(models.TextChoices):
    NEIGHBORHOOD = "neighborhood", _("Neighborhood")
    SCHOOL = "school", _("School catchment")
    OTHER = "other", _("Other area")


class Zone(models.Model):
    """A named area as a set of H3 cells at resolution 9 (about 0.1 km² each)."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ZoneKind.choices)
    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="zones"
    )
    cells = models.JSONField(default=list)
    boundary = models.JSONField(null=True, blank=True)  # GeoJSON Polygon, [lng, lat] pairs
    center_lat = models.FloatField()
    center_lng = models.FloatField()

    class Meta:
        ordering = ["name"]
        verbose_name = _("zone")
        verbose_name_plural = _("zones")

    def __str__(self) -> str:
        return self.name
