"""Reads, and above all: what may this person see. Every view asks here."""

from __future__ import annotations

from django.db.models import QuerySet

from vecinos.network.models import (
    COORDINATOR_ROLES,
    ROLE_MIN_TIER,
    Member,
    Membership,
    Organization,
    Role,
    Tier,
    Training,
    Vouch,
)


def effective_roles(member: Member) -> set[tuple[int, str]]:
    """(organization_id, role) pairs that are in force: the role's tier requirement is met."""
    if not member.is_authenticated or not member.is_active:
        return set()
    cached = getattr(member, "_vecinos_roles", None)
    if cached is not None:
        return cached
    pairs = {
        (org_id, role)
        for org_id, role in Membership.objects.filter(member=member).values_list(
            "organization_id", "role"
        )
        if member.tier >= ROLE_MIN_TIER.get(role, 99)
    }
    member._vecinos_roles = pairs  # type: ignore[attr-defined]
    return pairs


def forget_roles(member: Member) -> None:
    if hasattr(member, "_vecinos_roles"):
        del member._vecinos_roles


def has_role(member: Member, *roles: str, organization_id: int | None = None) -> bool:
    return any(
        role in roles and (organization_id is None or org_id == organization_id)
        for org_id, role in effective_roles(member)
    )


def member_ids_with_roles(*roles: str) -> set[int]:
    """Ids of the active members with any of these roles in force (the tier requirement met,
    as effective_roles), in one query however many they are."""
    return {
        member_id
        for member_id, role, tier in Membership.objects.filter(
            role__in=roles, member__is_active=True
        ).values_list("member_id", "role", "member__tier")
        if tier >= ROLE_MIN_TIER.get(role, 99)
    }


def is_coalition_coordinator(member: Member) -> bool:
    return has_role(member, Role.COALITION_COORDINATOR)


def is_coordinator(member: Member) -> bool:
    return has_role(member, *COORDINATOR_ROLES)


def coordinated_org_ids(member: Member) -> set[int] | None:
    """Organizations this member coordinates; None means all (coalition coordinator)."""
    if is_coalition_coordinator(member):
        return None
    return {org for org, role in effective_roles(member) if role == Role.ORG_COORDINATOR}


def can_manage_org(member: Member, organization: Organization | int) -> bool:
    org_id = organization if isinstance(organization, int) else organization.pk
    orgs = coordinated_org_ids(member)
    return orgs is None or org_id in orgs


def organizations_for_roster(member: Member) -> QuerySet[Organization]:
    orgs = coordinated_org_ids(member)
    qs = Organization.objects.all()
    return qs if orgs is None else qs.filter(pk__in=orgs)


def roster(organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("member")
        .order_by("member__username", "role")
    )


def can_view_member(viewer: Member, target: Member) -> bool:
    """Own profile always; other people's only for coordinators of an organization they share."""
    if viewer.pk == target.pk:
        return True
    orgs = coordinated_org_ids(viewer)
    if orgs is None:
        return viewer.is_authenticated and is_coalition_coordinator(viewer)
    if not orgs:
        return False
    return Membership.objects.filter(member=target, organization_id__in=orgs).exists()


def can_vouch(voucher: Member, target: Member) -> bool:
    """Vetted members may vouch for someone in an organization they belong to."""
    if voucher.pk == target.pk or voucher.tier < 1 or not voucher.is_active:
        return False
    if is_coalition_coordinator(voucher):
        return True
    mine = set(Membership.objects.filter(member=voucher).values_list("organization_id", flat=True))
    theirs = set(Membership.objects.filter(member=target).values_list("organization_id", flat=True))
    return bool(mine & theirs)


def is_vouched(member: Member) -> bool:
    """Vouched members and above see the zones map and may vouch for others."""
    return member.is_authenticated and member.tier >= Tier.VOUCHED


def can_read_audit(member: Member) -> bool:
    return is_coordinator(member)


def requires_two_factor(member: Member) -> bool:
    from django.conf import settings

    return member.is_authenticated and (
        member.is_superuser
        or Membership.objects.filter(member=member, role__in=settings.TWO_FACTOR_ROLES).exists()
    )


def independent_people(a: Member, b: Member) -> bool:
    """Two different people, neither an account the other alone vetted (``vetted_only_by``,
    both ways): a second reading, a second approval."""
    return a.pk != b.pk and not vetted_only_by(a, b) and not vetted_only_by(b, a)


# How many people a look through someone's vetting may visit before it gives up (and counts
# them as not independent): a coalition's whole membership, with room to spare.
VETTING_LOOK_LIMIT = 5000


def vetted_only_by(member: Member, author: Member | None) -> bool:
    """True when every way `member` was vetted (vouches, recorded trainings) leads back to
    `author`: someone the author alone brought in, directly or through people the author alone
    brought in. Such a person is not a second, independent person for the author's alerts.

    A person is independent of the author when, going up through who vetted whom without
    passing through the author, one reaches someone nobody vetted (a founding account made
    from the command line, who stands on their own). People who vouched for each other in a
    ring reach no one that way: a ring is the author's (outside probe, session 19: two accounts
    the author invited and vouched for, vouching for each other, counted as independent and
    approved the author's public alert; and a chain of eight such accounts counted as a chain
    too long to be a sock puppet's). One query per generation; fails closed past
    VETTING_LOOK_LIMIT people."""
    if author is None or member.pk == author.pk:
        return False
    seen = {member.pk}
    generation = {member.pk}
    while generation:
        vetters: dict[int, set[int]] = {pk: set() for pk in generation}
        for pk, voucher in Vouch.objects.filter(member_id__in=generation).values_list(
            "member_id", "voucher_id"
        ):
            vetters[pk].add(voucher)
        for pk, recorder in Training.objects.filter(
            member_id__in=generation, recorded_by__isnull=False
        ).values_list("member_id", "recorded_by_id"):
            vetters[pk].add(recorder)
        following: set[int] = set()
        for pk, found in vetters.items():
            found.discard(pk)  # a founder's own training record vets nobody
            if not found:
                return False  # someone nobody vetted, reached without the author
            following |= found - seen - {author.pk}
        seen |= following
        if len(seen) > VETTING_LOOK_LIMIT:
            return True
        generation = following
    return True
