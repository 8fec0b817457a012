#!/usr/bin/env python3
"""Upload abuse benchmark: anonymous `/report/` posts carrying large-canvas photos, all at once,
against a server started as the README's first command starts it.

Each request carries 5 PNGs of 6300x6300 RGBA (about 40 MP each, a few hundred KB on the wire:
one colour compresses well) through the public web form, exactly as a browser posts it (CSRF
cookie and token from a GET of the form). --requests of them start together, each from its own
address (X-Forwarded-For, the server trusting 127.0.0.1 as its proxy, so one source's rate limit
does not stop the attack before it costs anything). Meanwhile a dispatcher's API token polls
GET /api/v1/reports/queue every 100 ms; its latency is what a dispatcher feels while the
uploads are being handled. The web workers' peak memory is their VmHWM (peak resident set).

    .venv/bin/python bench/uploads.py [--requests 8] [--photos 5] [--side 6300]

Ends with: uploads: <N> requests, slowest answer <S> s (statuses ...), web workers peak
<M> MB, console queue p95 <Q> s (max <X> s)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import cli, served  # noqa: E402

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def big_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (side, side), (200, 30, 30, 255)).save(out, "PNG", optimize=True)
    return out.getvalue()


def _children(pid: int) -> list[int]:
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        match = re.search(r"^PPid:\s+(\d+)$", text, re.M)
        if match and int(match.group(1)) == pid:
            out.append(int(status.parent.name))
    return out


def web_workers(port: int) -> list[int]:
    """gunicorn's worker processes: children of the process whose command line binds the port."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"gunicorn" in b" ".join(args) and any(f":{port}".encode() in a for a in args):
            return _children(int(cmdline.parent.name))
    return []


def peak_mb(pids: list[int]) -> list[float]:
    peaks = []
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmHWM:\s+(\d+) kB$", text, re.M)
        if match:
            peaks.append(int(match.group(1)) / 1024)
    return peaks


async def attack(base: str, token: str, photo: bytes, requests: int, photos: int) -> dict:
    timeout = aiohttp.ClientTimeout(total=900)
    latencies: list[float] = []
    stop = asyncio.Event()

    async def poller(session: aiohttp.ClientSession) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        while not stop.is_set():
            t0 = time.monotonic()
            async with session.get(
                f"{base}/api/v1/reports/queue?after_id=0&limit=100", headers=headers
            ) as r:
                await r.read()
            latencies.append(time.monotonic() - t0)
            await asyncio.sleep(0.1)

    async def one(n: int) -> tuple[int, float]:
        # A session of its own per attacker: its own CSRF cookie, as separate browsers have.
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as session:
            forwarded = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
            async with session.get(base + "/report/", headers=forwarded) as r:
                token_match = CSRF_RE.search(await r.text())
            form = aiohttp.FormData()
            form.add_field("csrfmiddlewaretoken", token_match.group(1) if token_match else "")
            form.add_field("activity", "street")
            form.add_field("place_text", "Cesar Chavez Ave & Soto St")
            form.add_field("description", "Vans near the bus stop.")
            for i in range(photos):
                form.add_field("photos", photo, filename=f"p{i}.png", content_type="image/png")
            t0 = time.monotonic()
            headers = {**forwarded, "Referer": base + "/report/"}
            try:
                async with session.post(
                    base + "/report/", data=form, headers=headers, allow_redirects=False
                ) as r:
                    await r.read()
                    return r.status, time.monotonic() - t0
            except aiohttp.ClientError:
                return 0, time.monotonic() - t0

    async with aiohttp.ClientSession(timeout=timeout) as poll_session:
        poll = asyncio.create_task(poller(poll_session))
        await asyncio.sleep(1.0)  # a baseline before the uploads start
        baseline = list(latencies)
        results = await asyncio.gather(*(one(n) for n in range(requests)))
        stop.set()
        await poll
    during = latencies[len(baseline) :] or latencies
    during.sort()
    return {
        "statuses": Counter(status for status, _t in results),
        "slowest": max(t for _s, t in results),
        "queue_p95": during[max(0, int(len(during) * 0.95) - 1)],
        "queue_max": during[-1],
        "queue_base": sorted(baseline)[len(baseline) // 2] if baseline else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--photos", type=int, default=5)
    parser.add_argument("--side", type=int, default=6300)
    args = parser.parse_args()
    photo = big_png(args.side)
    env_over = {"VECINOS_TRUSTED_PROXIES": "127.0.0.1"}
    with served(env_over) as (base, env):
        port = int(base.rsplit(":", 1)[1])
        token = cli("token", "create", "dispatcher", "--name", "bench", env=env).strip()
        workers = web_workers(port)
        before = peak_mb(workers)
        result = asyncio.run(attack(base, token, photo, args.requests, args.photos))
        after = peak_mb(workers)
    statuses = " ".join(f"{k}x{v}" for k, v in sorted(result["statuses"].items()))
    print(
        f"photo {len(photo) / 1024:.0f} KB ({args.side}x{args.side} RGBA) x {args.photos} per "
        f"request; web workers' peak before {', '.join(f'{m:.0f}' for m in before)} MB; "
        f"console queue median before {result['queue_base']:.3f} s",
        flush=True,
    )
    print(
        f"uploads: {args.requests} requests, slowest answer {result['slowest']:.1f} s "
        f"(statuses {statuses}), web workers peak {', '.join(f'{m:.0f}' for m in after)} MB, "
        f"console queue p95 {result['queue_p95']:.2f} s (max {result['queue_max']:.2f} s)"
    )


if __name__ == "__main__":
    main()
