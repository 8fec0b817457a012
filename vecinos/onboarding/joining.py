"""People an organization's coordinator imported, joining by the link texted to them.

An import in the app by an organization's coordinator does not add anyone it does not already
have: each row waits as a ``PendingMember`` and the person gets a text, in their language, with
a link. Opening it and pressing "Join" makes them a member of that organization with the roles
and places the file gave (an existing member of another organization keeps their account and
gains this membership); "No, thanks" forgets the row. Either way the importing organization
learns nothing it did not know: new numbers, other organizations' members and numbers that
texted STOP wait alike, and only the people who said yes appear on its roster.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vecinos.alerts.models import OptOut
from vecinos.core import languages
from vecinos.core.audit import audit
from vecinos.messaging import services as messaging
from vecinos.network.models import Member, Membership
from vecinos.onboarding.imports import _Area, _member_areas, new_member
from vecinos.onboarding.models import PendingMember

SALT = "vecinos.import.join"
PENDING_DAYS = 30  # then the retention run forgets the row
TEXT_EVERY = timedelta(days=1)  # importing the same file again texts nobody twice a day


def link(pending: PendingMember) -> str:
    token = signing.dumps([pending.pk, pending.phone_index[:16]], salt=SALT, compress=True)
    return settings.PUBLIC_URL + reverse("import_join", args=[token])


def _value(token: str) -> list | None:
    """What a link of ours carries ([pending id, phone index prefix]), or None if it is not
    one (forged, damaged, or older than a pending row lives)."""
    try:
        value = signing.loads(token or "", salt=SALT, max_age=timedelta(days=PENDING_DAYS))
    except signing.BadSignature:
        return None
    if not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], int):
        return None
    return value


def is_ours(token: str) -> bool:
    """A link we sent, whether or not it was answered since (its row is gone once it was)."""
    return _value(token) is not None


def load(token: str) -> PendingMember | None:
    value = _value(token)
    if value is None:
        return None
    pending = PendingMember.objects.select_related("organization").filter(pk=value[0]).first()
    if pending is None or pending.phone_index[:16] != value[1]:
        return None
    return pending


def text_links(pending_ids: list[int]) -> int:
    """Text each waiting person their link (each at most once a day), in their language: the
    stop list read once and the texts queued in one call, not a query and a call per row."""
    now = timezone.now()
    rows = [
        pending
        for pending in PendingMember.objects.filter(pk__in=pending_ids).select_related(
            "organization"
        )
        if pending.texted_at is None or now - pending.texted_at >= TEXT_EVERY
    ]
    if not rows:
        return 0
    PendingMember.objects.filter(pk__in=[p.pk for p in rows]).update(texted_at=now)
    stopped = set(
        OptOut.objects.filter(phone_index__in=[p.phone_index for p in rows]).values_list(
            "phone_index", flat=True
        )
    )
    specs = []
    for pending in rows:
        if pending.phone_index in stopped:
            continue  # STOP: nothing goes, and the row waits like any other
        language = languages.text_language(pending.language)
        contact = messaging.contact_point(channel="sms", address=pending.phone, language=language)
        if not contact.usable:
            continue
        with translation.override(language):
            body = _(
                "Vecinos: %(organization)s added you to its network, to reach you when "
                "neighbors need help. To join, open %(link)s. If you do not want to, ignore "
                "this message."
            ) % {"organization": pending.organization.short_name, "link": link(pending)}
        specs.append(
            messaging.DeliverySpec(
                purpose="join",
                ref_type="pending_member",
                ref_id=pending.pk,
                contact=contact,
                body=body,
                language=language,
                key=f"join:{pending.pk}:{now:%Y%m%d%H%M%S}",
            )
        )
    return messaging.deliveries_enqueue(specs) if specs else 0


@transaction.atomic
def accept(pending: PendingMember) -> Member | None:
    """The person said yes: a member of the organization, with the file's roles and places. An
    existing account (theirs: the link went to their phone) gains the membership; its details
    are theirs and stay as they are. None if the row was answered already."""
    locked = PendingMember.objects.select_for_update().filter(pk=pending.pk).first()
    if locked is None:
        return None
    pending = locked
    member = (
        Member.objects.filter(phone_index=pending.phone_index, is_active=True)
        .order_by("pk")
        .first()
    )
    if member is None:
        member = new_member(
            name=pending.name,
            e164=pending.phone,
            index=pending.phone_index,
            email=pending.email,
            language=pending.language,
        )
    for role in pending.roles:
        Membership.objects.get_or_create(
            member=member, organization_id=pending.organization_id, role=role
        )
    stopped = OptOut.objects.filter(phone_index=pending.phone_index).exists()
    if pending.areas and not stopped:
        _member_areas(
            member,
            [
                _Area(zone, (lat, lng) if lat is not None and lng is not None else None, label)
                for zone, lat, lng, label in pending.areas
            ],
        )
    audit(
        "import.member_joined",
        actor=member,
        target=member,
        organization_id=pending.organization_id,
    )
    pending.delete()
    return member


def decline(pending: PendingMember) -> None:
    PendingMember.objects.filter(pk=pending.pk).delete()
    audit("import.member_declined", organization_id=pending.organization_id)


def waiting(organization_ids: list[int] | None) -> list[PendingMember]:
    """The rows still waiting, for the coordinators of these organizations (None: all)."""
    rows = PendingMember.objects.select_related("organization")
    if organization_ids is not None:
        rows = rows.filter(organization_id__in=organization_ids)
    return list(rows[:200])


def drop_expired(_cutoff=None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A retention step: nobody waits for ever."""
    since = timezone.now() - timedelta(days=PENDING_DAYS)
    return {"pending_members": PendingMember.objects.filter(created_at__lt=since).delete()[0]}


def drop_unconfirmed_subscribers(_cutoff=None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A retention step: subscribers an organization imported who never replied YES are not
    kept (imports.ImportResult.by_reply), after as long as a member's joining link lives."""
    from vecinos.alerts.models import Subscriber

    since = timezone.now() - timedelta(days=PENDING_DAYS)
    unconfirmed = Subscriber.objects.filter(
        status=Subscriber.Status.PENDING, source="import", created_at__lt=since
    )
    return {"unconfirmed_imported_subscribers": unconfirmed.delete()[0]}


def purge() -> dict[str, int]:
    """An emergency purge step: names and numbers waiting are personal data."""
    return {"pending_members": PendingMember.objects.all().delete()[0]}
