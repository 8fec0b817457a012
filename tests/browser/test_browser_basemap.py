"""In Chromium, with a real (tiny) PMTiles archive: every existing map draws the streets from
Vecinos' own /tiles/ (range requests answered 206, tile canvases painted), and no request leaves
for another host. Without tiles the map says how to add streets."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.maptiles import write_archive
from tests.pagewait import wait_for_js

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
    wait_for_js(
        page, "() => Array.from(document.querySelectorAll('.leaflet-tile-pane canvas')).length > 0"
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
    # The public is told what to do; the note on adding tiles is for the coalition's
    # coordinators (tests/maps/test_map_tiles.py).
    assert "Toque el lugar" in hint.inner_text() and "README" not in hint.inner_text()
    assert page.locator(".leaflet-tile-pane canvas").count() == 0
    assert not page.problems, page.problems


class _TileServer(BaseHTTPRequestHandler):
    """The coalition's own tile server, speaking what browsers need of one: byte ranges (206)
    and CORS for the page's origin (a PMTiles reader fetches with a Range header)."""

    archive: bytes = b""
    seen: list = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
        self.send_header("Access-Control-Allow-Headers", "Range, If-Match")
        self.send_header("Access-Control-Expose-Headers", "Content-Range, ETag, Content-Length")

    def do_OPTIONS(self) -> None:  # noqa: N802
        self.send_response(204)
        self._cors()
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        data = type(self).archive
        wanted = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
        type(self).seen.append((self.path, bool(wanted)))
        if self.path != "/socal.pmtiles":
            self.send_response(404)
            self._cors()
            self.end_headers()
            return
        if wanted:
            first = int(wanted[1])
            last = min(int(wanted[2]) if wanted[2] else len(data) - 1, len(data) - 1)
            body = data[first : last + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
        else:
            body = data
            self.send_response(200)
        self._cors()
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def tile_server(tmp_path):
    _TileServer.archive = write_archive(tmp_path / "socal.pmtiles").read_bytes()
    _TileServer.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TileServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_coalitions_own_tile_server_is_the_one_other_host(
    live_server, new_page, settings, tile_server
):
    """VECINOS_MAP_TILES as a URL: the CSP computed by settings admits that host and no other,
    the map draws its tiles from it with range requests, and the browser contacts nothing else
    (every request's host recorded). /tiles/ then serves nothing."""
    from tests.maps.test_map_tiles import _settings_with

    url = f"{tile_server}/socal.pmtiles"
    computed = _settings_with({"VECINOS_MAP_TILES": url})
    assert url == computed.MAP_TILES
    assert computed.CONTENT_SECURITY_POLICY["DIRECTIVES"]["connect-src"] == ["'self'", tile_server]
    settings.MAP_TILES = url
    settings.CONTENT_SECURITY_POLICY = computed.CONTENT_SECURITY_POLICY
    page = new_page()
    hosts: set = set()
    page.on("request", lambda req: hosts.add(req.url.split("/")[2]))
    page.goto(f"{live_server.url}/report/")
    page.wait_for_selector("#report-map .leaflet-tile-pane canvas")
    page.wait_for_timeout(1000)
    result = page.evaluate(PAINTED)
    assert result["painted"] >= 1, result
    assert hosts == {live_server.url.split("/")[2], tile_server.split("/")[2]}, hosts
    assert _TileServer.seen and all(ranged for _path, ranged in _TileServer.seen)
    assert not page.problems, page.problems  # no CSP violation, nothing from elsewhere
    assert page.request.get(f"{live_server.url}/tiles/socal.pmtiles").status == 404
