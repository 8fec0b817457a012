"""Every write that touches several rows or must be audited. Keyword-only, atomic."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from vecinos.core import geo
from vecinos.core.audit import audit
from vecinos.network import phone_change, selectors
from vecinos.network.models import (
    COALITION_WIDE_ROLES,
    LANGUAGE_CODES,
    ApiToken,
    Invitation,
    Member,
    Membership,
    Organization,
    Role,
    Tier,
    Training,
    Vouch,
    Zone,
)
from vecinos.network.phones import email_index, normalize_phone, phone_index


class NotAllowed(PermissionError):
    """The actor may not do this. Views turn it into a 403 page."""


class NeedsCoalitionCoordinator(NotAllowed):
    """Only a coalition coordinator may give this role (it reaches past one organization)."""


class SelfGrant(NotAllowed):
    """Nobody gives themself a role."""


class InviteUnusable(ValueError):
    pass


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def set_contact(member: Member, *, phone: str = "", email: str = "") -> None:
    """Normalize and set phone/email with their blind indexes (raises InvalidPhone)."""
    if phone:
        e164 = normalize_phone(phone)
        member.phone, member.phone_index = e164, phone_index(e164)
    else:
        member.phone, member.phone_index = "", ""
    if email:
        member.email, member.email_index = email.strip(), email_index(email)
    else:
        member.email, member.email_index = "", ""


def find_member_by_phone(raw: str) -> Member | None:
    return Member.objects.filter(phone_index=phone_index(normalize_phone(raw))).first()


# --- Invitations ------------------------------------------------------------------------------


@dataclass
class IssuedInvite:
    invitation: Invitation
    token: str


def invitation_create(*, actor: Member, organization: Organization, role: str) -> IssuedInvite:
    if not selectors.can_manage_org(actor, organization):
        raise NotAllowed
    if role in COALITION_WIDE_ROLES and not selectors.is_coalition_coordinator(actor):
        # An invitation is a grant to whoever opens it, the coordinator's own second account
        # included: the same rule as role_grant.
        raise NeedsCoalitionCoordinator
    token = secrets.token_urlsafe(24)
    invitation = Invitation.objects.create(
        organization=organization,
        role=role,
        token_hash=_hash_token(token),
        created_by=actor,
        expires_at=timezone.now() + timedelta(hours=settings.INVITE_TTL_HOURS),
    )
    audit(
        "invite.create", actor=actor, target=invitation, organization_id=organization.pk, role=role
    )
    return IssuedInvite(invitation, token)


def _invitation_usable(invitation: Invitation) -> bool:
    """Unused, unrevoked, unexpired; and for a coalition-wide role, made by someone who is a
    coalition coordinator now (invitations from before that rule, by an organization
    coordinator, or whose maker lost the role, hand out nothing)."""
    if not invitation.is_usable:
        return False
    if invitation.role in COALITION_WIDE_ROLES:
        creator = invitation.created_by
        return creator is not None and selectors.is_coalition_coordinator(creator)
    return True


def invitation_lookup(token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(token_hash=_hash_token(token))
        .first()
    )
    if invitation is None or not _invitation_usable(invitation):
        raise InviteUnusable
    return invitation


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    username: str,
    password: str,
    full_name: str,
    phone: str,
    email: str,
    preferred_language: str,
    languages: list[str],
) -> Member:
    # Lock the row so two people racing with one link cannot both join.
    invitation = (
        Invitation.objects.select_for_update().filter(token_hash=_hash_token(token)).first()
    )
    if invitation is None or not _invitation_usable(invitation):
        raise InviteUnusable
    member = Member(
        username=username,
        full_name=full_name,
        preferred_language=preferred_language,
        languages=[code for code in languages if code in LANGUAGE_CODES],
        tier=Tier.NEW,
    )
    # The phone is the member's only once the code texted to it comes back (phone_change).
    e164 = normalize_phone(phone)
    set_contact(member, email=email)
    member.set_password(password)
    member.save()
    phone_change.start(member, e164)
    Membership.objects.create(
        member=member, organization=invitation.organization, role=invitation.role
    )
    invitation.used_at = timezone.now()
    invitation.used_by = member
    invitation.save(update_fields=["used_at", "used_by"])
    audit(
        "invite.accept",
        actor=member,
        target=member,
        organization_id=invitation.organization_id,
        role=invitation.role,
        invitation=invitation.pk,
    )
    return member


def invitation_revoke(*, actor: Member, invitation: Invitation) -> None:
    if not selectors.can_manage_org(actor, invitation.organization_id):
        raise NotAllowed
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit(
        "invite.revoke", actor=actor, target=invitation, organization_id=invitation.organization_id
    )


# --- Vetting ----------------------------------------------------------------------------------


@transaction.atomic
def vouch_record(*, actor: Member, member: Member) -> Vouch:
    if not selectors.can_vouch(actor, member):
        raise NotAllowed
    by_coordinator = selectors.is_coordinator(actor)
    vouch, _created = Vouch.objects.get_or_create(
        member=member, voucher=actor, defaults={"voucher_was_coordinator": by_coordinator}
    )
    member.refresh_from_db(fields=["tier"])
    if member.tier == Tier.NEW:
        vouches = Vouch.objects.filter(member=member)
        if vouches.filter(voucher_was_coordinator=True).exists() or vouches.count() >= 2:
            member.tier = Tier.VOUCHED
            member.save(update_fields=["tier"])
            selectors.forget_roles(member)
            audit("vetting.tier", actor=actor, target=member, tier=int(Tier.VOUCHED))
    audit("vetting.vouch", actor=actor, target=member, by_coordinator=by_coordinator)
    return vouch


@transaction.atomic
def training_record(*, actor: Member, member: Member, topic: str, completed_on: date) -> Training:
    if not (selectors.is_coordinator(actor) and selectors.can_view_member(actor, member)):
        raise NotAllowed
    if member.tier < Tier.VOUCHED:
        raise ValueError("vouch first")
    training = Training.objects.create(
        member=member, recorded_by=actor, topic=topic[:120], completed_on=completed_on
    )
    if member.tier < Tier.TRAINED:
        member.tier = Tier.TRAINED
        member.save(update_fields=["tier"])
        selectors.forget_roles(member)
        audit("vetting.tier", actor=actor, target=member, tier=int(Tier.TRAINED))
    audit("vetting.training", actor=actor, target=member, training=training.pk)
    return training


# --- Roles ------------------------------------------------------------------------------------


def role_grant(
    *, actor: Member, member: Member, organization: Organization, role: str
) -> Membership:
    if not selectors.can_manage_org(actor, organization):
        raise NotAllowed
    if actor.pk == member.pk:
        raise SelfGrant
    # Dispatchers and verifiers see and act on every organization's incidents and alerts: an
    # organization coordinator handing that to themself or a friend would escape their
    # organization. Only a coalition coordinator (another person) gives these roles.
    if role in COALITION_WIDE_ROLES and not selectors.is_coalition_coordinator(actor):
        raise NeedsCoalitionCoordinator
    # An org coordinator may only give roles to people already in their organization: otherwise
    # they could pull anyone into it and then read their contact details.
    if (
        not selectors.is_coalition_coordinator(actor)
        and not Membership.objects.filter(member=member, organization=organization).exists()
    ):
        raise NotAllowed
    membership, created = Membership.objects.get_or_create(
        member=member, organization=organization, role=role
    )
    if created:
        selectors.forget_roles(member)
        audit("role.grant", actor=actor, target=member, organization_id=organization.pk, role=role)
    return membership


def role_revoke(*, actor: Member, membership: Membership) -> None:
    if not selectors.can_manage_org(actor, membership.organization_id):
        raise NotAllowed
    if membership.role == Role.COALITION_COORDINATOR and not selectors.is_coalition_coordinator(
        actor
    ):
        raise NotAllowed
    audit(
        "role.revoke",
        actor=actor,
        target=membership.member,
        organization_id=membership.organization_id,
        role=membership.role,
    )
    membership.delete()
    selectors.forget_roles(membership.member)


@transaction.atomic
def member_deactivate(*, actor: Member, member: Member) -> None:
    if actor.pk == member.pk or not selectors.can_view_member(actor, member):
        raise NotAllowed
    if not selectors.is_coordinator(actor):
        raise NotAllowed
    if selectors.is_coalition_coordinator(member) and not selectors.is_coalition_coordinator(actor):
        raise NotAllowed
    member.is_active = False
    member.session_epoch += 1
    member.save(update_fields=["is_active", "session_epoch"])
    ApiToken.objects.filter(member=member, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    audit("member.deactivate", actor=actor, target=member)


def contact_reveal(*, actor: Member, member: Member) -> dict[str, str]:
    """Another member's contact details, audited every time they are shown."""
    if not selectors.can_view_member(actor, member):
        raise NotAllowed
    if actor.pk != member.pk:
        audit("contact.view", actor=actor, target=member)
    return {"phone": member.phone, "email": member.email}


def roster_export(
    *, actor: Member, organization: Organization, via: str
) -> tuple[list[Membership], bool]:
    """An organization's roster as exported (CSV page, API), audited every time, and whether
    the export may carry names and phones: only to the group's own coordinators (need to know,
    for calling down a phone tree); a coalition coordinator from another group gets none."""
    if not selectors.can_manage_org(actor, organization):
        raise NotAllowed
    contacts = selectors.has_role(
        actor, "org_coordinator", "coalition_coordinator", organization_id=organization.pk
    )
    detail: dict[str, object] = {"via": via}
    if via == "csv":
        detail["contacts"] = contacts
    audit("roster.export", actor=actor, organization_id=organization.pk, **detail)
    return list(selectors.roster(organization)), contacts


def two_factor_failed(*, member: Member) -> None:
    """A wrong second-factor code: on record (who, when), as the audit log shows coordinators."""
    audit("2fa.failed", actor=member, target=member)


@transaction.atomic
def sign_out_everywhere(*, member: Member) -> int:
    """End every session and revoke every API token (a lost phone may hold either).
    Returns how many tokens were revoked."""
    member.session_epoch += 1
    member.save(update_fields=["session_epoch"])
    revoked = ApiToken.objects.filter(member=member, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    audit("auth.signout_all", actor=member, target=member, tokens_revoked=revoked)
    return revoked


# --- API tokens -------------------------------------------------------------------------------

TOKEN_PREFIX = "vcn_"


@dataclass
class IssuedToken:
    token: ApiToken
    secret: str


def token_create(*, member: Member, name: str, valid_days: int | None = None) -> IssuedToken:
    """``valid_days``: the token stops working that many days from now; None: no end date."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=valid_days) if valid_days else None
    token = ApiToken.objects.create(
        member=member,
        name=name[:80],
        prefix=secret[:12],
        token_hash=_hash_token(secret),
        expires_at=expires_at,
    )
    audit("token.create", actor=member, target=token, valid_days=valid_days)
    return IssuedToken(token, secret)


def token_revoke(*, actor: Member, token: ApiToken) -> None:
    if token.member_id != actor.pk:
        raise NotAllowed
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit("token.revoke", actor=actor, target=token)


def token_authenticate(secret: str) -> Member | None:
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("member")
        .filter(token_hash=_hash_token(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.member.is_active or token.is_expired:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.member


# --- Emergency purge --------------------------------------------------------------------------


@transaction.atomic
def purge_personal_data(*, actor: Member | None = None) -> dict[str, int]:
    """Destroy every person's data; organizations and zones stay. Irreversible by design."""
    from django.contrib.sessions.models import Session
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    counts = {
        "members": Member.objects.count(),
        "invitations": Invitation.objects.count(),
        "tokens": ApiToken.objects.count(),
    }
    TOTPDevice.objects.all().delete()
    StaticDevice.objects.all().delete()
    Session.objects.all().delete()
    Invitation.objects.all().delete()
    Member.objects.all().delete()  # cascades to memberships, vouches, trainings, tokens
    Organization.objects.update(coordinator_contact="")
    audit("purge.personal_data", **counts)
    return counts


class ZoneInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@transaction.atomic
def zone_save(
    *,
    actor: Member,
    name: str,
    kind: str,
    ring: list[list[float]],
    organization: Organization | None = None,
    zone: Zone | None = None,
) -> Zone:
    """Create or redraw a zone from a drawn boundary ([lat, lng] corners): its H3 cells, centre
    and GeoJSON boundary. Coalition coordinators only (zones are the whole coalition's)."""
    if not selectors.is_coalition_coordinator(actor):
        raise PermissionError("only coalition coordinators edit zones")
    errors: dict[str, str] = {}
    name = (name or "").strip()[:120]
    if not name:
        errors["name"] = _("Give the zone a name.")
    elif Zone.objects.filter(name__iexact=name).exclude(pk=zone.pk if zone else -1).exists():
        errors["name"] = _("Another zone already has this name.")
    boundary = [[lng, lat] for lat, lng in ring]
    cells: list[str] = []
    try:
        # Refuses (cheaply, before the fill) outlines too large, off the map or crossing
        # themselves: a huge one once locked the database for minutes.
        cells = geo.polygon_cells([*boundary, boundary[0]] if boundary else [])
    except geo.ShapeError as exc:
        errors["boundary"] = exc.message
    except geo.GeoError:
        errors["boundary"] = _("Draw the zone's outline on the map (at least three corners).")
    if boundary and not cells and "boundary" not in errors:
        errors["boundary"] = _("That outline is too small: draw a larger area.")
    if errors:
        raise ZoneInvalid(errors)
    lat, lng = geo.centroid(cells)
    if zone is None:
        base = slugify(name)[:70] or "zone"
        slug, n = base, 1
        while Zone.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        zone = Zone(slug=slug)
    zone.name, zone.kind, zone.organization = name, kind, organization
    zone.cells = cells
    zone.boundary = {"type": "Polygon", "coordinates": [[*boundary, boundary[0]]]}
    zone.center_lat, zone.center_lng = lat, lng
    zone.save()
    audit("zone.save", actor=actor, target=zone, cells=len(cells))
    return zone


def profile_update(
    *,
    member: Member,
    full_name: str,
    phone: str,
    email: str,
    preferred_language: str,
    languages: list[str],
    notes: str,
) -> bool:
    """A member's own profile. A phone that does not parse raises InvalidPhone, nothing saved.

    A new phone number is not saved but texted a code (phone_change): the profile says so, and
    returns True. An empty one removes the phone at once; the current one drops a waiting one.
    Raises phone_change.TooManyCodes, after saving the rest, if too many codes were asked for."""
    e164 = normalize_phone(phone) if phone else ""
    member.full_name = full_name.strip()
    member.preferred_language = preferred_language
    member.languages = [code for code in languages if code in LANGUAGE_CODES]
    member.notes = notes.strip()
    current = member.phone
    set_contact(member, phone=current if e164 else "", email=email)
    member.save(
        update_fields=[
            "full_name",
            "preferred_language",
            "languages",
            "notes",
            "phone",
            "phone_index",
            "email",
            "email_index",
        ]
    )
    if e164 and e164 != current:
        waiting = phone_change.pending(member)
        if waiting is None or waiting.phone != e164:
            phone_change.start(member, e164)
        return True
    phone_change.cancel(member)
    if current and not e164:
        phone_change.phone_changed.send(sender=Member, member=member)
    return False
