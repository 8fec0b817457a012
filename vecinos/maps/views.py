"""Map pages and their JSON: the tile archive, the public verified map, the console map, the
alert composer's live count and the coordinators' zone editor."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponseBase
from django.views.decorators.http import require_http_methods

from vecinos.maps import tiles


@require_http_methods(["GET", "HEAD"])
def map_tiles(request: HttpRequest, name: str) -> HttpResponseBase:
    """The configured PMTiles archive, by its own file name only (never any other path)."""
    source = tiles.source()
    if source is None or source.path is None or source.path.name != name:
        raise Http404
    return tiles.tiles_response(request, source.path)
