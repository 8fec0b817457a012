#!/usr/bin/env python3
"""Call-out benchmark: a call-out to 5,000 responders from a server started as the README's
first command starts it, then 2,000 "VOY 10" replies through the signed Twilio SMS webhook, as
fast as the server takes them; then the dispatcher's turnout board with 5,000 people on it.

    .venv/bin/python bench/activation.py [--responders 5000] [--replies 2000] [--clients 32]

Responders are seeded straight into the server's database (members with the responder role,
vouched, each with an SMS contact). The call-out goes through POST /api/v1/activations with a
dispatcher's token. "board" is the median time of the board partial
(GET /mobilize/<id>/board/) rendered by a signed-in dispatcher, in-process against the same
database. "lost" counts accepted replies (HTTP 200 with a reply) that the call-out's counts
do not show as coming.
Ends with: activation: <N> replies in <T> s = <R>/s; board <B> ms; lost <L>
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import PY, ROOT, cli, served  # noqa: E402

TOKEN = "bench-webhook-token"
PHONE_BASE = 3105000000


def phone(i: int) -> str:
    return f"+1{PHONE_BASE + i}"


# --- inner steps (run inside Django with the server's environment) ---------------------------


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vecinos.settings")
    import django

    django.setup()


def seed(n: int) -> None:
    _django()
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from vecinos.alerts.models import Subscriber
    from vecinos.core.crypto import blind_index
    from vecinos.messaging.models import ContactPoint
    from vecinos.network.models import Member, Membership, Organization, Role, Tier

    org = Organization.objects.create(name="Bench Responders", short_name="bench-responders")
    unusable = make_password(None)
    for start in range(0, n, 1000):
        with transaction.atomic():
            members, contacts = [], []
            for i in range(start, min(n, start + 1000)):
                e164 = phone(i)
                index = blind_index(e164, purpose="phone")
                members.append(
                    Member(
                        username=f"resp{i}",
                        tier=Tier.VOUCHED,
                        password=unusable,
                        phone=e164,
                        phone_index=index,
                        preferred_language="es",
                    )  # fmt: skip
                )
                contacts.append(ContactPoint(channel="sms", address=e164, address_index=index))
            Member.objects.bulk_create(members)
            ContactPoint.objects.bulk_create(contacts)
            members = list(Member.objects.filter(username__in=[m.username for m in members]))
            by_index = {c.address_index: c for c in contacts}
            Membership.objects.bulk_create(
                Membership(member=m, organization=org, role=Role.RESPONDER) for m in members
            )
            Subscriber.objects.bulk_create(
                Subscriber(
                    member=m,
                    phone_index=m.phone_index,
                    language="es",
                    channels=["sms"],
                    status=Subscriber.Status.ACTIVE,
                    source="bench",
                    sms=by_index[m.phone_index],
                )  # fmt: skip
                for m in members
            )
    print(json.dumps({"seeded": n}))


def board(activation_id: int) -> None:
    _django()
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from vecinos.network.models import Member

    dispatcher = Member.objects.get(username="dispatcher")
    client = Client()
    client.force_login(dispatcher, backend="django.contrib.auth.backends.ModelBackend")
    device, _created = TOTPDevice.objects.get_or_create(
        user=dispatcher, name="bench", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    url = f"/mobilize/{activation_id}/board/"
    times = []
    for _i in range(7):
        t0 = time.perf_counter()
        response = client.get(url, HTTP_HX_REQUEST="true", HTTP_HOST="127.0.0.1")
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.status_code
    print(json.dumps({"board_ms": statistics.median(times) * 1000}))


def pending() -> None:
    _django()
    from vecinos.messaging.models import Delivery

    print(
        json.dumps({"pending": Delivery.objects.filter(status__in=("queued", "sending")).count()})
    )


def inner(step: str, env: dict, *args: str) -> dict:
    out = subprocess.run(
        [str(PY), __file__, "--inner", step, *args],
        env=env, cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        sys.exit(f"{step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- outer -------------------------------------------------------------------------------------


async def replies(base: str, count: int, clients: int) -> tuple[int, int, float]:
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    url = base + "/hooks/twilio/sms"
    todo = list(range(count))
    ok = errors = 0
    connector = aiohttp.TCPConnector(limit=clients + 4)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            nonlocal ok, errors
            while todo:
                i = todo.pop()
                params = {"From": phone(i), "To": "+12135550000", "Body": "VOY 10",
                          "MessageSid": f"SM{i:032x}", "AccountSid": "AC" + "0" * 32,
                          "NumMedia": "0"}  # fmt: skip
                headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
                async with session.post(url, data=params, headers=headers) as r:
                    body = await r.text()
                    if r.status == 200 and "<Message>" in body:
                        ok += 1
                    else:
                        errors += 1

        started = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        return ok, errors, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responders", type=int, default=5000)
    parser.add_argument("--replies", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--after-fanout",
        action="store_true",
        help="wait for the call-out's messages to leave before replying (isolates the webhook)",
    )
    parser.add_argument("--inner", nargs="+")
    args = parser.parse_args()
    if args.inner:
        step, *rest = args.inner
        steps = {
            "seed": lambda: seed(int(rest[0])),
            "board": lambda: board(int(rest[0])),
            "pending": pending,
        }
        steps[step]()
        return
    env_over = {"VECINOS_TWILIO_AUTH_TOKEN": TOKEN, "VECINOS_REPORT_RATE_LIMIT": "100000000"}
    with served(env_over) as (base, env):
        inner("seed", env, str(args.responders))
        token = cli("token", "create", "dispatcher", "--name", "bench", env=env).strip()
        import urllib.request

        body = json.dumps({
            "staging_point": "Mariachi Plaza, east side", "roles": {"presence": args.replies},
            "needed_by": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)),
            "tiers": ["responders"],
        }).encode()  # fmt: skip
        request = urllib.request.Request(
            base + "/api/v1/activations", data=body, method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )  # fmt: skip
        t0 = time.monotonic()
        with urllib.request.urlopen(request, timeout=120) as r:  # noqa: S310 - localhost
            created = json.loads(r.read())
        print(f"call-out to {created['recipients']} people in {time.monotonic() - t0:.2f} s",
              flush=True)  # fmt: skip
        if args.after_fanout:
            t1 = time.monotonic()
            while inner("pending", env)["pending"] and time.monotonic() - t1 < 600:
                time.sleep(1)
            print(f"fan-out drained in {time.monotonic() - t0:.1f} s", flush=True)
        ok, errors, elapsed = asyncio.run(replies(base, args.replies, args.clients))
        check = urllib.request.Request(
            f"{base}/api/v1/activations/{created['id']}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(check, timeout=60) as r:  # noqa: S310 - localhost
            counts = json.loads(r.read())["counts"]
        coming = sum(c.get("coming", 0) for c in counts.values())
        board_ms = inner("board", env, str(created["id"]))["board_ms"]
    lost = max(ok - coming, 0)
    database = "PostgreSQL" if os.environ.get("VECINOS_DATABASE_URL") else "embedded SQLite"
    print(f"[{database}] errors {errors}; coming {coming}", flush=True)
    print(
        f"activation: {ok} replies in {elapsed:.1f} s = {ok / elapsed:.0f}/s; "
        f"board {board_ms:.0f} ms; lost {lost}"
    )


if __name__ == "__main__":
    main()
