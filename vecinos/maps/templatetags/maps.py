"""``{% basemap %}``: the street-map scripts, placed right after leaflet.js on any page with a map.

Every Leaflet map made afterwards gets the basemap (static/js/basemap.js hooks L.Map), so the
apps that draw maps need no code of their own for streets.
"""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from vecinos.maps import tiles

register = template.Library()


@register.inclusion_tag("maps/_basemap.html", takes_context=True)
def basemap(context, read_only: bool = False) -> dict:
    """Without tiles, the people who can add them are told how; everyone else what to do, on a
    map that takes a tap or a typed place. ``{% basemap read_only=True %}`` marks a map nothing
    is entered on (the public map, the console's): it has no such hint (outside walk: "Tap the
    spot" on maps where nothing can be tapped or typed)."""
    source = tiles.source()
    nav = context.get("nav")
    return {
        "tiles_url": source.url if source else "",
        "for_admins": bool(nav is not None and nav.may["zone_list"]),
        "read_only": read_only,
    }


def _zone_outlines() -> list[dict]:
    import h3

    from vecinos.core.geo import cells_outline
    from vecinos.network.models import Zone

    out = []
    for zone in Zone.objects.order_by("name").only("pk", "name", "cells"):
        try:
            rings = cells_outline(zone.cells)
        except (ValueError, TypeError, h3.H3BaseException):
            rings = []
        out.append({"id": zone.pk, "name": zone.name, "rings": rings})
    return out


@register.inclusion_tag("maps/_alert_area_map.html")
def alert_area_map(purpose: str = "alert") -> dict:
    """The composer's map: draw a circle or a polygon, or tap zones; the live count below.
    ``purpose`` is "alert" or "callout": it names the map for screen readers."""
    if purpose == "callout":
        label = _("Map: draw the call-out area")
    else:
        label = _("Map: draw the alert area")
    return {"zones": _zone_outlines(), "map_label": label}


@register.inclusion_tag("maps/_pick_area.html")
def pick_area_map() -> dict:
    """Tap a place on the map, set a radius: fills the form's lat/lng (about 100 m)."""
    return {}


@register.inclusion_tag("maps/_draw_strings.html")
def draw_strings() -> dict:
    """The drawing tools' words (leaflet-geoman's toolbar and tooltips) in the page's language,
    from our own catalogs: geoman ships only some languages, and English text on a Korean page
    is no help. Only the tools the maps offer are named; the rest stay geoman's English."""
    return {
        "strings": {
            "tooltips": {
                "firstVertex": _("Tap or click to place the first corner"),
                "continueLine": _("Tap or click to add the next corner"),
                "finishPoly": _("Tap the first corner to finish"),
                "finishRect": _("Tap or click to finish"),
                "startCircle": _("Tap or click to place the centre"),
                "finishCircle": _("Tap or click to finish the circle"),
            },
            "actions": {
                "finish": _("Finish"),
                "cancel": _("Cancel"),
                "removeLastVertex": _("Remove the last corner"),
            },
            "buttonTitles": {
                "drawPolyButton": _("Draw a polygon"),
                "drawRectButton": _("Draw a rectangle"),
                "drawCircleButton": _("Draw a circle"),
                "editButton": _("Move corners"),
                "dragButton": _("Move the shape"),
                "deleteButton": _("Remove the shape"),
            },
        }
    }
