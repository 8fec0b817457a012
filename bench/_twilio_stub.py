"""A fast Twilio-speaking stub for benchmarks (aiohttp): Messages.json and Calls.json.

Records every request; answers 201 with a new SID. Like Twilio, it ignores Idempotency-Key: a
repeated request makes a second message (and that number shows up as "messaged twice"); a
repeated key is also counted in "duplicates". GET Messages.json?To= lists the messages to a
number, newest first, as Twilio's list resource does (the worker looks there before re-sending
an attempt whose outcome it never heard). Optional failure
injection: --fail-rate 0.3 answers 500 (or stalls past the client's timeout) for that share.
A message counts (in "messages" and per number) only when the stub answers 201: a failed or
stalled request answers 500 (a stalled one after --stall seconds, when the client has long
given up) and records nothing, so "each number exactly once" is checkable. GET /_stats for
the counters, GET /_numbers for how many messages each number got.

    python bench/_twilio_stub.py --port 0 --stats-file /tmp/stats.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime

from aiohttp import web

STATE: dict = {
    "messages": 0, "keys": {}, "duplicates": 0, "failed": 0, "stalled": 0, "to": {}, "sent": {},
    "lists": 0, "first_at": None, "last_at": None, "sample": None,
}  # fmt: skip


async def create(request: web.Request) -> web.Response:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return web.json_response(
            {"code": 20003, "message": "Authenticate", "status": 401}, status=401
        )
    form = await request.post()
    key = request.headers.get("Idempotency-Key", "")
    fail_rate = request.app["fail_rate"]
    if fail_rate and random.random() < fail_rate:
        STATE["failed"] += 1
        if random.random() < 0.5:
            STATE["stalled"] += 1
            await asyncio.sleep(request.app["stall"])  # the client times out
        return web.json_response(
            {"code": 20500, "message": "Internal error", "status": 500}, status=500
        )
    if key and key in STATE["keys"]:
        STATE["duplicates"] += 1  # Twilio would send it again, and so does this stub
    kind = "CA" if request.path.endswith("Calls.json") else "SM"
    to = form.get("To", "")
    body = {
        "sid": kind + uuid.uuid4().hex,
        "status": "queued",
        "to": to,
        "date_created": format_datetime(datetime.now(UTC)),  # RFC 2822, as Twilio writes it
    }
    if key:
        STATE["keys"][key] = body
    STATE["messages"] += 1
    if STATE["sample"] is None:  # what one request carried: bench/fanout.py sends its like
        STATE["sample"] = {"fields": dict(form), "key": key}
    if STATE["first_at"] is None:
        STATE["first_at"] = time.time()  # wall clock: compared with another process's
    STATE["last_at"] = time.time()
    STATE["to"][to] = STATE["to"].get(to, 0) + 1
    STATE["sent"].setdefault(to, []).append({**body, "body": form.get("Body", "")})
    if request.app["answer_delay"]:
        # Taken, but the answer is slow: a worker killed now never hears it was sent.
        await asyncio.sleep(request.app["answer_delay"])
    return web.json_response(body, status=201)


async def listing(request: web.Request) -> web.Response:
    if not request.headers.get("Authorization", "").startswith("Basic "):
        return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
    STATE["lists"] += 1
    to = request.query.get("To", "")
    size = int(request.query.get("PageSize", "50"))
    found = list(reversed(STATE["sent"].get(to, [])))[:size]
    return web.json_response({"messages": found, "page": 0, "page_size": size})


async def stats(request: web.Request) -> web.Response:
    twice = sum(1 for n in STATE["to"].values() if n > 1)
    return web.json_response(
        {
            "messages": STATE["messages"],
            "duplicates": STATE["duplicates"],
            "lists": STATE["lists"],
            "failed": STATE["failed"],
            "stalled": STATE["stalled"],
            "numbers": len(STATE["to"]),
            "numbers_twice": twice,
            "first_at": STATE["first_at"],
            "last_at": STATE["last_at"],
            "sample": STATE["sample"],
        }
    )


async def numbers(request: web.Request) -> web.Response:
    return web.json_response({"to": STATE["to"]})


async def reset(request: web.Request) -> web.Response:
    STATE.update(
        messages=0, keys={}, duplicates=0, failed=0, stalled=0, to={}, sent={}, lists=0,
        first_at=None,
        last_at=None,
        sample=None,
    )  # fmt: skip
    return web.json_response({"ok": True})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--stall", type=float, default=12.0)
    parser.add_argument("--port-file", default="")
    parser.add_argument("--answer-delay", type=float, default=0.0, help="seconds after taking one")
    args = parser.parse_args()
    app = web.Application()
    app["fail_rate"], app["stall"] = args.fail_rate, args.stall
    app["answer_delay"] = args.answer_delay
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", create)
    app.router.add_get("/2010-04-01/Accounts/{sid}/Messages.json", listing)
    app.router.add_post("/2010-04-01/Accounts/{sid}/Calls.json", create)
    app.router.add_get("/_stats", stats)
    app.router.add_get("/_numbers", numbers)
    app.router.add_post("/_reset", reset)

    async def start() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        if args.port_file:
            with open(args.port_file, "w") as fh:
                fh.write(str(port))
        print(json.dumps({"port": port}), flush=True)
        await asyncio.Event().wait()

    asyncio.run(start())


if __name__ == "__main__":
    main()
