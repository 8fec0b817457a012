"""In Chromium, with a real (tiny) PMTiles archive: every existing map draws the streets from
Vecinos' own /tiles/ (range requests answered 206, tile canvases painted), and no request leaves
for another host. Without tiles the map says how to add streets."""

from __future__ import annotations

import pytest

from tests.maptiles import write_archive

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAINTED = """() => {
  const canvases = Array.from(document.querySelectorAll('.leaflet-tile-pane canvas'));
  let painted = 0;
  for (const c of canvases) {
    if (!c.width || !c.height) continue;
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const colors = new Set();
    for (let i = 0; i < data.length; i += 4 * 97) colors.add(data[i] + ',' + data[i+1] + ',' + data[i+2]);
    if (colors.size > 1) painted += 1;
  }
  return {canvases: canvases.length, painted: painted};
}"""


def watch_requests(page, base: str) -> dict:
    seen: dict = {"ranges": [], "hosts": set()}
    page.on("request", lambda req: seen["hosts"].add(req.url.split("/")[2]))
    page.on(
        "response",
        lambda resp: seen["ranges"].append(resp.status) if "/tiles/" in resp.url else None,
    )
    return seen


@pytest.mark.parametrize("phone", [False, True])
def test_report_form_map_draws_our_own_tiles(live_server, new_page, settings, tmp_path, phone):
    settings.MAP_TILES = str(write_archive(tmp_path / "socal.pmtiles"))
    page = new_page(phone=phone)
    seen = watch_requests(page, live_server.url)
    page.goto(f"{live_server.url}/report/")
    page.wait_for_selector("#report-map .leaflet-tile-pane canvas")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.leaflet-tile-pane canvas')).length > 0"
    )
    page.wait_for_timeout(800)
    result = page.evaluate(PAINTED)
    page.screenshot(path=f"/tmp/shots/basemap-report-{'phone' if phone else 'desk'}.png")
    assert result["painted"] >= 1, result
    assert seen["ranges"] and all(status == 206 for status in seen["ranges"]), seen["ranges"]
    host = live_server.url.split("/")[2]
    assert seen["hosts"] == {host}, seen["hosts"]
    assert not page.problems, page.problems
    assert page.locator(".map-attribution").first.is_visible()
    assert page.locator(".map-hint-streets").count() == 0


def test_without_tiles_the_map_says_how_to_add_streets(live_server, new_page, settings):
    settings.MAP_TILES = ""
    page = new_page(locale="es-US")
    page.goto(f"{live_server.url}/report/")
    hint = page.locator("#report-map .map-hint-streets")
    hint.wait_for()
    assert "README" in hint.inner_text()
    assert page.locator(".leaflet-tile-pane canvas").count() == 0
    assert not page.problems, page.problems
