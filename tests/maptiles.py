"""A tiny real PMTiles archive of vector tiles for tests: land everywhere, a lake and a road in
each tile, and a place name in English and Spanish, written with the `pmtiles` package.

The Mapbox Vector Tile protobuf is encoded here by hand (a few fields) so the tests need no
protobuf library; the layer and property names are the Protomaps basemap's, which
protomaps-leaflet draws.
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

EXTENT = 4096


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def _bytes(field: int, data: bytes) -> bytes:
    return _key(field, 2) + _varint(len(data)) + data


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 31)


def _geometry(kind: int, points: list[tuple[int, int]]) -> list[int]:
    cmds: list[int] = []
    x = y = 0
    for i, (px, py) in enumerate(points):
        if i == 0:
            cmds.append((1 & 7) | (1 << 3))  # MoveTo, 1
        elif i == 1:
            cmds.append((2 & 7) | ((len(points) - 1) << 3))  # LineTo, n-1
        cmds += [_zigzag(px - x), _zigzag(py - y)]
        x, y = px, py
    if kind == 3:
        cmds.append((7 & 7) | (1 << 3))  # ClosePath
    return cmds


def _feature(kind: int, points: list[tuple[int, int]], tags: list[int]) -> bytes:
    packed_tags = b"".join(_varint(t) for t in tags)
    packed_geom = b"".join(_varint(c) for c in _geometry(kind, points))
    return (
        (_bytes(2, packed_tags) if tags else b"")
        + _key(3, 0)
        + _varint(kind)
        + _bytes(4, packed_geom)
    )


def _layer(name: str, features: list[tuple[int, list[tuple[int, int]], dict]]) -> bytes:
    keys: list[str] = []
    values: list[str] = []
    body = b""
    for kind, points, props in features:
        tags = []
        for k, v in props.items():
            if k not in keys:
                keys.append(k)
            if v not in values:
                values.append(v)
            tags += [keys.index(k), values.index(v)]
        body += _bytes(2, _feature(kind, points, tags))
    out = _key(15, 0) + _varint(2) + _bytes(1, name.encode())
    out += body
    for k in keys:
        out += _bytes(3, k.encode())
    for v in values:
        out += _bytes(4, _bytes(1, v.encode()))  # Value.string_value
    out += _key(5, 0) + _varint(EXTENT)
    return out


def vector_tile() -> bytes:
    full = [(0, 0), (EXTENT, 0), (EXTENT, EXTENT), (0, EXTENT)]
    lake = [(600, 600), (2000, 600), (2000, 1800), (600, 1800)]
    tile = b""
    tile += _bytes(3, _layer("earth", [(3, full, {"kind": "earth"})]))
    tile += _bytes(3, _layer("water", [(3, lake, {"kind": "water"})]))
    tile += _bytes(
        3,
        _layer(
            "roads",
            [(2, [(0, 3000), (EXTENT, 2600)], {"kind": "major_road", "name": "Avenida"})],
        ),
    )
    tile += _bytes(
        3,
        _layer(
            "places",
            [
                (
                    1,
                    [(2600, 2200)],
                    {
                        "kind": "locality",
                        "name": "Boyle Heights",
                        "name:en": "Boyle Heights",
                        "name:es": "Alturas de Boyle",
                    },
                )
            ],
        ),
    )
    return tile


def _tile_xy(lat: float, lng: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lng + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def write_archive(
    path: Path,
    *,
    bounds: tuple[float, float, float, float] = (33.7, -118.7, 34.35, -117.9),
    max_zoom: int = 13,
) -> Path:
    """A vector PMTiles archive covering ``bounds`` (south, west, north, east) at zooms 0..max."""
    south, west, north, east = bounds
    data = gzip.compress(vector_tile(), mtime=0)
    ids = []
    for z in range(max_zoom + 1):
        x0, y0 = _tile_xy(north, west, z)
        x1, y1 = _tile_xy(south, east, z)
        ids += [zxy_to_tileid(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    with path.open("wb") as handle:
        writer = Writer(handle)
        for tile_id in sorted(ids):
            writer.write_tile(tile_id, data)
        writer.finalize(
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_lon_e7": int(west * 1e7),
                "min_lat_e7": int(south * 1e7),
                "max_lon_e7": int(east * 1e7),
                "max_lat_e7": int(north * 1e7),
                "center_zoom": 10,
                "center_lon_e7": int((west + east) / 2 * 1e7),
                "center_lat_e7": int((south + north) / 2 * 1e7),
            },
            {"name": "vecinos-test", "vector_layers": []},
        )
    return path
