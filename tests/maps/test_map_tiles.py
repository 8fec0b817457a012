"""The street basemap: Vecinos serves its own PMTiles archive with byte ranges, the CSP admits
only a configured tile host, and pages carry the basemap scripts (or say how to add streets)."""

from __future__ import annotations

import copy
import importlib
import os
from types import SimpleNamespace

import pytest
from django.core.checks import run_checks
from django.urls import reverse

from tests.maptiles import write_archive

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive(tmp_path, settings):
    path = write_archive(tmp_path / "socal.pmtiles")
    settings.MAP_TILES = str(path)
    return path


def test_range_request_answers_206_with_exactly_those_bytes(client, archive):
    data = archive.read_bytes()
    response = client.get("/tiles/socal.pmtiles", HTTP_RANGE="bytes=0-126")
    assert response.status_code == 206
    body = b"".join(response.streaming_content)
    assert body == data[:127]
    assert body.startswith(b"PMTiles\x03")
    assert response["Content-Range"] == f"bytes 0-126/{len(data)}"
    assert response["Content-Length"] == "127"
    assert response["Accept-Ranges"] == "bytes"
    assert "max-age=604800" in response["Cache-Control"]
    assert response["ETag"]


def test_range_past_the_end_is_clamped_and_suffix_ranges_work(client, archive):
    data = archive.read_bytes()
    response = client.get("/tiles/socal.pmtiles", HTTP_RANGE="bytes=100-99999")
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == data[100:]
    response = client.get("/tiles/socal.pmtiles", HTTP_RANGE="bytes=-10")
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == data[-10:]
    assert response["Content-Range"] == f"bytes {len(data) - 10}-{len(data) - 1}/{len(data)}"


@pytest.mark.parametrize("bad", ["bytes=99999-", "bytes=50-10", "bytes=-0"])
def test_unsatisfiable_range_answers_416(client, archive, bad):
    size = archive.stat().st_size
    response = client.get("/tiles/socal.pmtiles", HTTP_RANGE=bad)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"


def test_whole_file_without_range_and_head_has_no_body(client, archive):
    data = archive.read_bytes()
    response = client.get("/tiles/socal.pmtiles")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    head = client.head("/tiles/socal.pmtiles", HTTP_RANGE="bytes=0-9")
    assert head.status_code == 206
    assert head["Content-Length"] == "10"
    assert b"".join(head.streaming_content) == b""


def test_garbage_range_is_ignored_and_etag_revalidates(client, archive):
    response = client.get("/tiles/socal.pmtiles", HTTP_RANGE="lines=1-2")
    assert response.status_code == 200
    etag = response["ETag"]
    again = client.get("/tiles/socal.pmtiles", HTTP_RANGE="bytes=0-9", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    stale = client.get("/tiles/socal.pmtiles", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"old"')
    assert stale.status_code == 200  # another version: the whole file


def test_only_the_configured_file_is_served(client, archive, tmp_path):
    (tmp_path / "other.pmtiles").write_bytes(archive.read_bytes())
    assert client.get("/tiles/other.pmtiles").status_code == 404
    assert client.get("/tiles/..%2Fsocal.pmtiles").status_code == 404
    assert client.post("/tiles/socal.pmtiles").status_code == 405


@pytest.mark.django_db
def test_no_tiles_configured_means_404_and_a_how_to_hint(client, settings, personas, login):
    settings.MAP_TILES = ""
    assert client.get("/tiles/socal.pmtiles").status_code == 404
    page = client.get(reverse("report_form")).content.decode()
    # The public is told what to do, not who should install what (outside walk, session 17).
    assert "Tap the spot, or write the address" in page
    assert "the server has no map tiles" not in page
    assert "protomaps-leaflet.js" not in page
    page = login(personas.coalition).get(reverse("report_form")).content.decode()
    assert "the server has no map tiles" in page


def test_pages_with_maps_load_the_basemap_from_our_tiles(client, archive):
    page = client.get(reverse("report_form")).content.decode()
    assert 'data-tiles="/tiles/socal.pmtiles"' in page
    assert "/static/vendor/protomaps-leaflet/protomaps-leaflet.js" in page
    assert page.index("leaflet/leaflet.js") < page.index("js/basemap.js")


def test_hint_is_translated(client, settings):
    settings.MAP_TILES = ""
    page = client.get(reverse("report_form"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Este mapa todavía no muestra calles. Toque el lugar" in page


def test_a_broken_archive_is_reported_by_a_system_check(tmp_path, settings):
    bad = tmp_path / "bad.pmtiles"
    bad.write_bytes(b"not a tile archive")
    settings.MAP_TILES = str(bad)
    ids = [m.id for m in run_checks()]
    assert "vecinos.W101" in ids
    settings.MAP_TILES = str(write_archive(tmp_path / "good.pmtiles"))
    assert "vecinos.W101" not in [m.id for m in run_checks()]


def _settings_with(env: dict) -> object:
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        import vecinos.settings as module

        reloaded = importlib.reload(module)
        # A snapshot: the same module object is reloaded again below with the old environment.
        return SimpleNamespace(
            MAP_TILES=reloaded.MAP_TILES,
            CONTENT_SECURITY_POLICY=copy.deepcopy(reloaded.CONTENT_SECURITY_POLICY),
        )
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        importlib.reload(module)


def test_csp_admits_only_a_configured_tile_host(tmp_path):
    remote = _settings_with({"VECINOS_MAP_TILES": "https://tiles.example.org/socal.pmtiles"})
    directives = remote.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert directives["connect-src"] == ["'self'", "https://tiles.example.org"]
    assert "https://tiles.example.org" in directives["img-src"]
    local = _settings_with({"VECINOS_MAP_TILES": str(write_archive(tmp_path / "x.pmtiles"))})
    directives = local.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert directives["connect-src"] == ["'self'"]
    assert all(src in ("'self'", "data:", "blob:") for src in directives["img-src"])


def test_data_dir_archive_is_found_without_the_setting(tmp_path):
    write_archive(tmp_path / "region.pmtiles")
    module = _settings_with({"VECINOS_DATA_DIR": str(tmp_path), "VECINOS_MAP_TILES": ""})
    assert str(tmp_path / "region.pmtiles") == module.MAP_TILES
