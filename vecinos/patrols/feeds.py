"""Private calendar feeds: a random token per feed (only its hash is kept), owned by a member;
an organization's feed also needs its owner to coordinate the organization."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from vecinos.core.audit import audit
from vecinos.network import selectors as network
from vecinos.network.models import Member, Organization
from vecinos.patrols.errors import NotAllowed
from vecinos.patrols.models import CalendarFeed


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_create(*, member: Member, organization_id: int | None = None) -> str:
    if organization_id is not None and not network.can_manage_org(member, organization_id):
        raise NotAllowed
    token = secrets.token_urlsafe(24)
    # Every feed has an owner, an organization's too: it serves only while its owner may still
    # see what it shows (calendar.feed_body), so it dies with their account or their role.
    CalendarFeed.objects.create(
        member=member,
        organization_id=organization_id,
        token_hash=_hash(token),
    )
    audit("patrol.feed_create", actor=member, organization_id=organization_id)
    return token


def feed_revoke(*, member: Member, feed: CalendarFeed) -> None:
    if feed.member_id != member.pk and not (
        feed.organization_id and network.can_manage_org(member, feed.organization_id)
    ):
        raise NotAllowed
    feed.revoked_at = timezone.now()
    feed.save(update_fields=["revoked_at"])


def feed_lookup(token: str) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(token_hash=_hash(token), revoked_at__isnull=True).first()


@transaction.atomic
def feed_replace(*, member: Member, organization: Organization | None) -> str:
    """A new link for the member's own calendar or an organization's: one live link each, so
    the old one (which may have leaked) is revoked first."""
    old = CalendarFeed.objects.filter(revoked_at__isnull=True)
    old = (
        old.filter(organization=organization)
        if organization
        else old.filter(member=member, organization__isnull=True)
    )
    for feed in old:
        feed_revoke(member=member, feed=feed)
    return feed_create(member=member, organization_id=organization.pk if organization else None)
