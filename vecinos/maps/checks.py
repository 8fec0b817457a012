"""System check: a configured tile archive that cannot be served is said at start-up."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.checks import Warning, register


@register()
def map_tiles(app_configs, **kwargs):
    configured = settings.MAP_TILES
    if not configured or configured.startswith(("http://", "https://")):
        return []
    from vecinos.maps.tiles import problem

    path = Path(configured)
    reason = problem(path) if path.is_file() else f"{path} does not exist"
    if not reason:
        return []
    return [
        Warning(
            f"VECINOS_MAP_TILES: {reason}; maps are drawn without streets.",
            hint="See README, 'Street maps': download a regional .pmtiles extract.",
            id="vecinos.W101",
        )
    ]
