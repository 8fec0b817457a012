"""Reads: which call-outs and events a person may see, the turnout board."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from vecinos.mobilize import services
from vecinos.mobilize.models import Activation, CalloutRole, Event, Response, Rsvp
from vecinos.network import selectors as network
from vecinos.network.models import Member, Membership

NAMES_LIMIT = 100
ETA_LIMIT = 50


def visible_activations(member: Member) -> QuerySet[Activation]:
    if not services.can_activate(member):
        return Activation.objects.none()
    qs = Activation.objects.select_related("organization")
    if network.has_role(member, "dispatcher", "coalition_coordinator"):
        return qs
    orgs = network.coordinated_org_ids(member) or set()
    return qs.filter(organization_id__in=orgs)


def activation_get(activation_id: int, member: Member) -> Activation | None:
    return visible_activations(member).filter(pk=activation_id).first()


STAGING_LIMIT = 50


def open_staging_points(member: Member) -> list[dict]:
    """Open call-outs this member may see, placed for the console map: at the call-out's own
    point, else its incident's, else the middle of its drawn area, else its first zone's centre
    (none of them: left off the map).

    The staging point is a public meeting place the coalition chose, shown as its text; the
    count of people coming or on site is the board's, in one grouped query."""
    rows = list(
        visible_activations(member)
        .filter(status=Activation.Status.OPEN)
        .select_related("incident")
        .prefetch_related("zones")
        .order_by("-sent_at", "-pk")[:STAGING_LIMIT]
    )
    turnout = dict(
        Response.objects.filter(activation__in=rows, status__in=services.SAYS_YES)
        .values("activation_id")
        .annotate(n=Count("pk"))
        .values_list("activation_id", "n")
    )
    out = []
    for a in rows:
        place: tuple[float | None, float | None] = (a.lat, a.lng)
        if (place[0] is None or place[1] is None) and a.incident is not None:
            place = (a.incident.lat, a.incident.lng)
        if (place[0] is None or place[1] is None) and a.polygon:
            place = services.area_centre(a) or (None, None)
        if place[0] is None or place[1] is None:
            zone = next(iter(a.zones.all()), None)
            place = (zone.center_lat, zone.center_lng) if zone is not None else (None, None)
        lat, lng = place
        if lat is None or lng is None:
            continue
        out.append(
            {
                "id": a.pk,
                "code": a.code,
                "staging_point": a.staging_point,
                "lat": round(lat, 5),
                "lng": round(lng, 5),
                "needed": a.needed_total,
                "coming": turnout.get(a.pk, 0),
                "by": timezone.localtime(a.needed_by).strftime("%H:%M"),
            }
        )
    return out


def name_scope(viewer: Member) -> set[int] | None:
    """Organizations whose members' names this viewer may see on a board; None = everyone's.

    Dispatchers and coalition coordinators run call-outs across the coalition; an
    organization's coordinators see their own members' handles, others as "responder #id"."""
    if network.has_role(viewer, "dispatcher", "coalition_coordinator"):
        return None
    return network.coordinated_org_ids(viewer) or set()


def board(activation: Activation, viewer: Member) -> dict:
    """Needed / coming (with ETAs) / arrived / declined per role, in a few grouped queries."""
    rows = (
        Response.objects.filter(activation=activation)
        .values("role", "status")
        .annotate(n=Count("pk"), first_eta=Min("eta"), last_eta=Max("eta"))
    )
    S = Response.Status
    per_role: dict[str, dict] = {
        key: {"key": key, "needed": n, "coming": 0, "arrived": 0, "declined": 0, "left": 0}
        for key, n in activation.roles.items()
    }
    totals = {"asked": 0, "waiting": 0, "coming": 0, "arrived": 0, "declined": 0, "left": 0,
              "enough": 0}  # fmt: skip
    for r in rows:
        status = r["status"]
        totals[status] = totals.get(status, 0) + r["n"]
        if status in (S.COMING, S.ARRIVED, S.LEFT) and r["role"] in per_role:
            per_role[r["role"]][status] += r["n"]
    # Declines carry no role: they count on the totals only.
    names = {r.key: r for r in CalloutRole.objects.all()}
    lang = _lang()
    for key, row in per_role.items():
        role = names.get(key)
        row["label"] = role.name(lang) if role else key
        row["short"] = max(row["needed"] - row["coming"] - row["arrived"], 0)
    totals["needed"] = activation.needed_total
    totals["declined_all"] = totals["declined"]
    scope = name_scope(viewer)
    people = list(
        Response.objects.filter(activation=activation, status__in=(S.COMING, S.ARRIVED))
        .order_by("status", "eta", "pk")
        .values_list("pk", "member_id", "member__username", "status", "role", "eta", "arrived_at")[
            :NAMES_LIMIT
        ]
    )
    allowed: set[int] = set()
    member_ids = [m for _pk, m, *_rest in people if m]
    if scope is None:
        allowed = set(member_ids)
    elif scope and member_ids:
        allowed = set(
            Membership.objects.filter(
                member_id__in=member_ids, organization_id__in=scope
            ).values_list("member_id", flat=True)
        )
    now = timezone.now()
    who = [
        {
            "id": pk,
            "name": username if member_id in allowed else None,
            "status": status,
            "role": per_role.get(role, {}).get("label", role),
            "eta_minutes": _minutes(eta, now) if status == S.COMING else None,
            "arrived_at": arrived_at,
        }
        for pk, member_id, username, status, role, eta, arrived_at in people
    ]
    return {
        "roles": list(per_role.values()),
        "totals": totals,
        "people": who,
        "names_hidden": any(p["name"] is None for p in who),
        "stamp": _stamp(activation),
    }


def _lang() -> str:
    """The page's language, whole ("zh-hans", "ja"): a role's name comes from its catalog
    (outside walk, session 17: Japanese and Arabic pages showed the Spanish names)."""
    from django.utils.translation import get_language

    return get_language() or "es"


def _minutes(eta: datetime | None, now: datetime) -> int | None:
    if eta is None:
        return None
    return max(int((eta - now).total_seconds() // 60), 0)


def _stamp(activation: Activation) -> str:
    agg = Response.objects.filter(activation=activation).aggregate(
        a=Max("answered_at"), n=Count("pk", filter=~Q(status=Response.Status.WAITING))
    )
    return f"{activation.status}:{agg['a'] and agg['a'].timestamp()}:{agg['n']}"


# --- events -----------------------------------------------------------------------------------


def public_events(now: datetime | None = None) -> QuerySet[Event]:
    now = now or timezone.now()
    return (
        Event.objects.filter(public=True, cancelled=False, ends_at__gte=now)
        .prefetch_related("hosts")
        .order_by("starts_at")
    )


def event_for(event_id: int, member: Member | None) -> Event | None:
    """A public event for anyone; a members-only one for signed-in members."""
    event = Event.objects.filter(pk=event_id).prefetch_related("hosts").first()
    if event is None:
        return None
    if event.public or (member is not None and member.is_authenticated):
        return event
    return None


def can_manage_event(member: Member, event: Event) -> bool:
    """The event's own organization's coordinators (coalition coordinators too), and the
    trainer of a training. RSVPs are never shown to other organizations."""
    if not member.is_authenticated:
        return False
    if event.trainer_id == member.pk and network.has_role(
        member, "org_coordinator", "coalition_coordinator", "dispatcher", "verifier", "responder"
    ):
        return True
    return network.is_coordinator(member) and network.can_manage_org(member, event.organization_id)


def manageable_events(member: Member) -> QuerySet[Event]:
    orgs = network.coordinated_org_ids(member)
    qs = Event.objects.all().order_by("-starts_at")
    if orgs is None:
        return qs
    return qs.filter(Q(organization_id__in=orgs) | Q(trainer=member))


def going_count(event: Event) -> int:
    return Rsvp.objects.filter(event=event, status=Rsvp.Status.GOING).count()


def attendance(event: Event) -> dict:
    rows = Rsvp.objects.filter(event=event).values("status").annotate(n=Count("pk"))
    out = {r["status"]: r["n"] for r in rows}
    checked = Rsvp.objects.filter(event=event, checked_in_at__isnull=False)
    per_org = list(
        Membership.objects.filter(
            member_id__in=checked.exclude(member=None).values("member_id"),
            organization__in=event.hosts.all(),
        )
        .values("organization__name")
        .annotate(n=Count("member_id", distinct=True))
        .order_by("organization__name")
    )
    return {
        "going": out.get("going", 0),
        "waitlist": out.get("waitlist", 0),
        "cancelled": out.get("cancelled", 0),
        "checked_in": checked.count(),
        "walk_ins": event.walk_ins,
        "per_org": per_org,
    }
