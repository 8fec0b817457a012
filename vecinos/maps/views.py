"""Map pages and their JSON: the tile archive, the public verified map, the console map, the
alert composer's live count and the coordinators' zone editor."""

from __future__ import annotations

import hashlib
import json

import h3
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_http_methods

from vecinos.alerts import selectors as alert_selectors
from vecinos.alerts.models import Tier
from vecinos.core.geo import cells_outline
from vecinos.maps import selectors, tiles
from vecinos.maps.forms import PublicMapForm, ReachForm, ZoneForm
from vecinos.network import selectors as network_selectors
from vecinos.network import services as network_services
from vecinos.network.http import member_of
from vecinos.network.models import LANGUAGE_CHOICES, Member, Zone
from vecinos.reports import selectors as report_selectors


@require_http_methods(["GET", "HEAD"])
def map_tiles(request: HttpRequest, name: str) -> HttpResponseBase:
    """The configured PMTiles archive, by its own file name only (never any other path)."""
    source = tiles.source()
    if source is None or source.path is None or source.path.name != name:
        raise Http404
    return tiles.tiles_response(request, source.path)


# --- the public verified map -------------------------------------------------------------------


def _public_json(points: list[dict]) -> dict:
    """GeoJSON: a hexagon (H3 res 7) or a zone's centre per checked outcome, times to the hour."""
    features = []
    for p in points:
        if p["ring"]:
            ring = [[lng, lat] for lat, lng in p["ring"]]
            geometry = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
        else:
            geometry = {"type": "Point", "coordinates": [p["lng"], p["lat"]]}
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "outcome": p["outcome"],
                    "activity": p["activity"],
                    "activity_label": p["activity_label"],
                    "agency_label": p["agency_label"],
                    "zone": p["zone"],
                    "cell": p["cell"],
                    "hour": p["hour"].isoformat() if p["hour"] else None,
                    "checked_hour": p["checked"].isoformat() if p["checked"] else None,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


@require_GET
@cache_control(max_age=60)  # not "public": the page carries the visitor's CSRF token
def public_map(request: HttpRequest) -> HttpResponse:
    form = PublicMapForm(request.GET or None)
    flt = form.filter() if request.GET else selectors.default_filter()
    points = selectors.public_points(flt)
    status = 400 if request.GET and not form.is_valid() else 200
    for_js = [
        {
            "confirmed": p["confirmed"],
            "lat": p["lat"],
            "lng": p["lng"],
            "ring": p["ring"],
            "title": p["activity_label"],
            "agency": p["agency_label"],
            "place": p["zone"],
            "when": date_format(p["hour"], "DATETIME_FORMAT") if p["hour"] else "",
        }
        for p in points
    ]
    query = request.GET.urlencode()
    return render(
        request,
        "maps/public_map.html",
        {
            "form": form,
            "points": points,
            "points_js": for_js,
            "filter": flt,
            "delay_hours": max(1, round(selectors.public_delay().total_seconds() / 3600)),
            "json_url": reverse("public_map_data") + (f"?{query}" if query else ""),
        },
        status=status,
    )


@require_GET
@cache_control(public=True, max_age=60)
def public_map_data(request: HttpRequest) -> JsonResponse:
    form = PublicMapForm(request.GET or None)
    if request.GET and not form.is_valid():
        return JsonResponse(
            {"errors": {k: [str(e) for e in v] for k, v in form.errors.items()}}, status=400
        )
    flt = form.filter() if request.GET else selectors.default_filter()
    data = _public_json(selectors.public_points(flt))
    data["since"], data["until"] = flt.since.isoformat(), flt.until.isoformat()
    return JsonResponse(data)


# --- the console map ----------------------------------------------------------------------------

LIVE_DIGEST_HEADER = "X-Live-Digest"


@never_cache
@require_GET
def console_map_data(request: HttpRequest) -> HttpResponse:
    """The console map's data, polled every second like the queue: 204 when unchanged."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "signed out"}, status=401)
    if not report_selectors.can_use_console(request.user):
        raise PermissionDenied
    body = json.dumps(
        selectors.console_map(member_of(request)), separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(body.encode()).hexdigest()[:20]
    if request.headers.get(LIVE_DIGEST_HEADER) == digest:
        response = HttpResponse(status=204)
    else:
        response = HttpResponse(body, content_type="application/json")
    response[LIVE_DIGEST_HEADER] = digest
    return response


# --- the alert composer: "would reach N people" -------------------------------------------------


@never_cache
@require_GET
def alert_reach(request: HttpRequest) -> HttpResponse:
    """How many people the area being drawn would reach, by tier and by language."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "signed out"}, status=401)
    if not alert_selectors.can_alert(request.user):
        raise PermissionDenied
    form = ReachForm(request.GET)
    if not form.is_valid():
        errors = {k: [str(e) for e in v] for k, v in form.errors.items()}
        return JsonResponse({"errors": errors}, status=400)
    data = form.cleaned_data
    point = form.point()
    result = selectors.reach(
        tiers=data.get("tiers") or [],
        zones=list(data.get("zones") or []),
        point=point,
        radius_m=data.get("radius_m") if point else None,
        polygon=data.get("polygon") or None,
    )
    tier_labels = {value: str(label) for value, label in Tier.choices}
    language_names = dict(LANGUAGE_CHOICES)
    result["text"] = reach_text(result, tier_labels, language_names)
    return JsonResponse(result)


def reach_text(result: dict, tier_labels: dict, language_names: dict) -> str:
    total = result["total"]
    head = ngettext("Would reach %(n)s person", "Would reach %(n)s people", total) % {
        "n": f"{total:,}"
    }
    if not total:
        return head + "."
    tiers = ", ".join(f"{tier_labels.get(t, t)}: {n:,}" for t, n in result["by_tier"].items())
    langs = ", ".join(
        f"{language_names.get(code, code)}: {n:,}"
        for code, n in sorted(result["by_language"].items(), key=lambda kv: -kv[1])
    )
    return f"{head} ({tiers}; {langs})."


# --- zones drawn on the map by coalition coordinators --------------------------------------------


def _coalition_coordinator(request: HttpRequest) -> Member:
    member = member_of(request)
    if not network_selectors.is_coalition_coordinator(member):
        raise PermissionDenied
    return member


def _ring_of(zone: Zone | None) -> list[list[float]]:
    """The zone's outline as [lat, lng] corners: its drawn boundary, else its cells' outline."""
    if zone is None:
        return []
    coords = ((zone.boundary or {}).get("coordinates") or [[]])[0]
    if not coords:
        try:
            rings = cells_outline(zone.cells)
        except (ValueError, TypeError, h3.H3BaseException):
            rings = []
        coords = rings[0] if rings else []
    ring = [[round(lat, 6), round(lng, 6)] for lng, lat in coords]
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    return ring


@never_cache
@login_required
def zone_list(request: HttpRequest) -> HttpResponse:
    _coalition_coordinator(request)
    zones = list(Zone.objects.select_related("organization").order_by("name"))
    return render(request, "maps/zone_list.html", {"zones": zones})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def zone_edit(request: HttpRequest, zone_id: int | None = None) -> HttpResponse:
    actor = _coalition_coordinator(request)
    zone = get_object_or_404(Zone, pk=zone_id) if zone_id is not None else None
    status = 200
    if request.method == "POST":
        form = ZoneForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = network_services.zone_save(
                    actor=actor,
                    zone=zone,
                    name=data["name"],
                    kind=data["kind"],
                    organization=data.get("organization"),
                    ring=data["boundary"],
                )
            except network_services.ZoneInvalid as exc:
                for key, message in exc.errors.items():
                    form.add_error(key if key in form.fields else None, message)
            else:
                messages.success(request, _("Zone “%(name)s” saved.") % {"name": saved.name})
                return redirect("zone_list")
        status = 400
    else:
        initial: dict[str, object] = {}
        if zone:
            initial.update(
                boundary=json.dumps(_ring_of(zone)),
                name=zone.name,
                kind=zone.kind,
                organization=zone.organization_id,
            )
        form = ZoneForm(initial=initial)
    others = [
        {"id": z.pk, "name": z.name, "rings": [[[lng, lat] for lat, lng in _ring_of(z)]]}
        for z in Zone.objects.exclude(pk=zone.pk if zone else -1).order_by("name")
    ]
    return render(
        request,
        "maps/zone_edit.html",
        {"form": form, "zone": zone, "others": others},
        status=status,
    )
