#!/usr/bin/env python3
"""Probe a running demo as an attacker would: every page, form and query parameter, each role.

Start the demo (``python3 dev.py serve``), then, from the repository root::

    .venv/bin/python scripts/probe.py [--base http://127.0.0.1:8000]
        [--credentials var/demo-credentials.json] [--only errors|access] [ROLE ...]

ROLE is ``anon`` or a demo account (``coordinator``, ``dispatcher``, ``verifier``, ``newcomer``,
``orgcoordinator``, ``captain``); all of them by default. Two probes:

- **errors**: signed in as each role, it walks every link of the site (three pages of each URL
  shape, ids folded), sends each page's query string again with each parameter (and a list of
  common ones) set to junk, and submits every form it found once as it is and then with junk in
  every field, and in each field alone; a form with a file input also gets broken files (empty,
  NULs, Latin-1, endless quotes, noise behind a PNG, JPEG, ZIP, Ogg or MP3 header). Any answer
  of 500 or more is listed with what was sent (the server's log has the traceback). It really
  submits: run it on a throwaway demo, never on real data (it leaves the erase and sign-out
  forms alone).
- **access**: the pages the coordinators and the dispatcher reached, fetched again by each less
  trusted role that was never shown a link to them; a 200 is listed for a person to judge.

Session 21 found a 500 this way (a "next" of "-1", which ``redirect()`` took for a view's
name). Exit status 1 when the errors probe found an answer of 500 or more.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlparse

import requests

ROLES = ("anon", "coordinator", "dispatcher", "orgcoordinator", "captain", "verifier", "newcomer")
PRIVILEGED = ("coordinator", "dispatcher", "orgcoordinator")
# Never followed or submitted: leaving, erasing, switching language, files and feeds.
SKIP = re.compile(
    r"/(signout|logout|i18n|static|media|metrics|erase)"
    r"|\.(png|jpg|pdf|ics|csv|svg|js|css|webmanifest|ogg|mp3|wav|xml|atom)$"
)
JUNK = (
    "",
    "x" * 5000,
    "'\"<script>alert(1)</script>",
    "-1",
    "99999999999999999999999",
    "2026-13-45",
    "a\x00b",
    "١٢٣",
    "1e309",
    "NaN",
    "../../etc/passwd",
    " ",
    "0",
    "9" * 400,
    "//evil.example/",
)
COMMON_PARAMS = (
    "page", "q", "next", "sort", "lang", "status", "org", "zone", "day", "week", "kind", "after",
    "before", "from", "to", "date", "lat", "lng", "radius", "tier", "limit",
)  # fmt: skip
_NOISE = random.Random(21).randbytes(4000)  # the same bytes on every run
# Each file input gets each of these in turn, the form's other fields left plain.
JUNK_FILES = (
    ("empty.csv", b"", "text/csv"),
    ("nul.csv", b"name,phone\n\x00\x00,\x00\n", "text/csv"),
    ("latin1.csv", "nombre,teléfono\nJosé,3235550101\n".encode("latin-1"), "text/csv"),
    ("quotes.csv", b'"' * 20000, "text/csv"),
    ("one-long-line.csv", b"x" * 300000, "text/csv"),
    ("noise.xlsx", _NOISE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("zip-of-noise.xlsx", b"PK\x03\x04" + _NOISE, "application/zip"),
    ("noise.png", b"\x89PNG\r\n\x1a\n" + _NOISE, "image/png"),
    ("noise.jpg", b"\xff\xd8\xff\xe0" + _NOISE, "image/jpeg"),
    ("noise.ogg", b"OggS" + _NOISE, "audio/ogg"),
    ("noise.mp3", b"ID3" + _NOISE, "audio/mpeg"),
    ("../../etc/passwd", b"root:x:0:0", "text/plain"),
)
PLAIN = {
    "email": "probe@example.org",
    "number": "3",
    "date": "2026-12-10",
    "time": "10:00",
    "tel": "+13235550101",
    "datetime-local": "2026-12-10T10:00",
    "url": "https://example.org",
}


class Page(HTMLParser):
    """The links and forms of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: list | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower()}
            self._form["fields"] = []
            self.forms.append(self._form)
        if self._form is None or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._select.append(a.get("value", ""))
            return
        if tag == "input":
            self._form["fields"].append((a.get("type", "text"), a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._form["fields"].append(("text", a["name"], ""))
        elif tag == "select":
            self._select = []
            self._form["fields"].append(("select", a["name"], self._select))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return found.group(1) if found else ""


def sign_in(base: str, role: str, passwords: dict) -> requests.Session:
    """A session signed in as a demo account (the demo shows its two-step code)."""
    session = requests.Session()
    if role == "anon":
        return session
    page = session.get(base + "/signin/")
    answer = session.post(
        base + "/signin/",
        data={
            "csrfmiddlewaretoken": csrf(page.text),
            "username": role,
            "password": passwords[role],
        },
        headers={"Referer": base + "/signin/"},
    )
    code = re.search(r'id="demo-code"[^>]*>.*?<strong>\s*([0-9 ]+)\s*</strong>', answer.text, re.S)
    if code:
        fields = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', answer.text)
        )
        fields["code"] = code.group(1).replace(" ", "")
        session.post(answer.url, data=fields, headers={"Referer": answer.url})
    return session


def shape(path: str) -> str:
    return re.sub(r"\d+", "N", path.split("?")[0])


def local_links(base: str, here: str, page: Page) -> list[str]:
    out = []
    for href in page.links:
        url = urlparse(urljoin(here, href))
        if url.scheme not in ("http", "https") or url.netloc != urlparse(base).netloc:
            continue
        if not SKIP.search(url.path):
            out.append(url.path + ("?" + url.query if url.query else ""))
    return out


def walk(base: str, session: requests.Session, per_shape: int = 3, limit: int = 1500):
    """Yield (path, response) for every page reached by links, at most per_shape a shape."""
    queue, seen, shapes = collections.deque(["/"]), set(), collections.Counter()
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        shapes[shape(path)] += 1
        if shapes[shape(path)] > per_shape:
            continue
        response = session.get(base + path, timeout=30)
        yield path, response
        if "text/html" in response.headers.get("content-type", ""):
            queue.extend(
                p for p in local_links(base, response.url, parse(response.text)) if p not in seen
            )


def form_variants(form: dict, token: str) -> list[dict]:
    plain: dict = {"csrfmiddlewaretoken": token}
    for kind, name, value in form["fields"]:
        if kind == "select":
            plain[name] = value[1] if len(value) > 1 else (value[0] if value else "")
        elif kind in ("checkbox", "radio"):
            plain.setdefault(name, value or "on")
        elif kind not in ("submit", "button", "file"):
            plain[name] = value or PLAIN.get(kind, "probe")
    names = [n for n in plain if n != "csrfmiddlewaretoken"]
    variants = [dict(plain)] + [{**plain, **dict.fromkeys(names, junk)} for junk in JUNK]
    for name in names:
        variants += [{**plain, name: junk} for junk in JUNK[1:7]]
    return variants


def probe_errors(base: str, session: requests.Session, role: str) -> list[str]:
    found, forms, fuzzed = [], {}, set()

    def check(what: str, response: requests.Response, sent: object) -> bool:
        if response.status_code < 500:
            return False
        found.append(f"{role}: {what} -> {response.status_code} {str(sent)[:200]}")
        print("  !!", found[-1], flush=True)
        return True

    pages = 0
    for path, response in walk(base, session):
        pages += 1
        check(f"GET {path}", response, "")
        if shape(path) not in fuzzed:
            fuzzed.add(shape(path))
            query = dict(parse_qsl(urlparse(path).query))
            for name in sorted(set(query) | set(COMMON_PARAMS)):
                for junk in JUNK[1:]:
                    sent = {**query, name: junk}
                    answer = session.get(
                        base + path.split("?")[0], params=sent, allow_redirects=False, timeout=30
                    )
                    if check(f"GET {path.split('?')[0]} ?{name}=", answer, junk):
                        break
        if "text/html" in response.headers.get("content-type", ""):
            for form in parse(response.text).forms:
                action = urljoin(response.url, form["action"] or response.url)
                if SKIP.search(urlparse(action).path):
                    continue
                key = (
                    form["method"],
                    shape(urlparse(action).path),
                    tuple(sorted(f[1] for f in form["fields"])),
                )
                forms.setdefault(key, (action, form, response.url))
    print(f"{role}: {pages} pages, {len(forms)} forms", flush=True)
    for action, form, page in forms.values():
        for sent in form_variants(form, session.cookies.get("csrftoken", "")):
            if form["method"] == "post":
                answer = session.post(
                    action, data=sent, headers={"Referer": page}, allow_redirects=False, timeout=30
                )
            else:
                sent.pop("csrfmiddlewaretoken", None)
                answer = session.get(action, params=sent, allow_redirects=False, timeout=30)
            if check(f"{form['method'].upper()} {action}", answer, sent):
                break
        file_fields = [name for kind, name, _ in form["fields"] if kind == "file"]
        if form["method"] != "post" or not file_fields:
            continue
        plain = form_variants(form, session.cookies.get("csrftoken", ""))[0]
        for junk in JUNK_FILES:
            answer = session.post(
                action,
                data=plain,
                files=dict.fromkeys(file_fields, junk),
                headers={"Referer": page},
                allow_redirects=False,
                timeout=60,
            )
            if check(f"POST {action} (file {junk[0]})", answer, plain):
                break
    return found


def probe_access(base: str, sessions: dict[str, requests.Session]) -> list[str]:
    def reached(session: requests.Session) -> set[str]:
        return {path for path, r in walk(base, session, per_shape=6) if r.status_code == 200}

    privileged: set[str] = set()
    for role in PRIVILEGED:
        if role in sessions:
            privileged |= reached(sessions[role])
    listed = []
    for role, session in sessions.items():
        if role in PRIVILEGED:
            continue
        own = reached(session)
        for path in sorted(privileged - own):
            if session.get(base + path, allow_redirects=False, timeout=30).status_code == 200:
                listed.append(f"{role}: 200 on {path} (not linked for them)")
                print("  ??", listed[-1], flush=True)
    return listed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("roles", nargs="*", default=list(ROLES))
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--credentials", default="var/demo-credentials.json")
    parser.add_argument("--only", choices=("errors", "access"))
    args = parser.parse_args()
    base = args.base.rstrip("/")
    passwords = json.loads(Path(args.credentials).read_text())
    sessions = {role: sign_in(base, role, passwords) for role in args.roles}
    errors: list[str] = []
    if args.only != "access":
        for role, session in sessions.items():
            errors += probe_errors(base, session, role)
    if args.only != "errors":
        # Fresh sessions: the errors probe's junk may have changed what a session holds.
        probe_access(base, {role: sign_in(base, role, passwords) for role in args.roles})
    print(f"probe: {len(errors)} answers of 500 or more")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
