"""``{% basemap %}``: the street-map scripts, placed right after leaflet.js on any page with a map.

Every Leaflet map made afterwards gets the basemap (static/js/basemap.js hooks L.Map), so the
apps that draw maps need no code of their own for streets.
"""

from __future__ import annotations

from django import template

from vecinos.maps import tiles

register = template.Library()


@register.inclusion_tag("maps/_basemap.html")
def basemap() -> dict:
    source = tiles.source()
    return {"tiles_url": source.url if source else ""}
