"""Shared fixtures: named personas, a blocked outside network, signed-in clients.

Personas (HOUSE_STYLE habit 8) drive the permission tests:
  coalition  - coalition coordinator (trained, org A)
  coordinator - organization coordinator of org A (trained)
  dispatcher - dispatcher in org A (trained)
  verifier   - trained verifier in org A
  newcomer   - new, unvetted member of org A (patrol role)
  outsider   - organization coordinator of org B (trained), a member of another organization
  anonymous  - no sign-in
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import hypothesis
import pytest
from django.contrib.auth.hashers import make_password
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from vecinos.network.models import Member, Membership, Organization, Role, Tier
from vecinos.network.services import set_contact

# Property tests (hypothesis): few examples so the suite stays fast, no example database in the
# tree, no deadline (a loaded CI machine is slow, not wrong), and the same examples on every CI
# run (derandomized), so a red CI is reproducible; locally each run tries new examples.
hypothesis.settings.register_profile("vecinos", max_examples=40, deadline=None, database=None)
hypothesis.settings.register_profile(
    "ci", parent=hypothesis.settings.get_profile("vecinos"), derandomize=True
)
hypothesis.settings.load_profile("ci" if os.environ.get("CI") else "vecinos")

PASSWORD = "correct horse battery staple"
_HASH: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _no_outside_network(monkeypatch):
    """Any connection to a non-loopback address fails loudly: tests never leave the machine."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None:
            try:
                ip = ipaddress.ip_address(socket.gethostbyname(host))
            except (OSError, ValueError):
                ip = None
            if ip is None or not ip.is_loopback:
                raise RuntimeError(f"test tried to reach the outside network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a test that switched this thread's language
    (a coalition set to Spanish, a command run in it) must not change what the next one reads."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_coalition_cache():
    """The coalition settings are cached per process; tests create and roll back the row.

    Each test starts with the environment's defaults already cached (as a running process has
    them after its first page), so pinned query counts do not include the first read; a test
    that writes the row calls ``coalition.invalidate()`` (saving through the service does)."""
    from vecinos.core import coalition

    coalition.prime_for_tests()
    yield
    coalition.invalidate()


@pytest.fixture(autouse=True)
def _fresh_zone_cache():
    """Zone cells are cached per process for a minute; tests create and roll back zones."""
    from vecinos.reports import services as report_services

    report_services._ZONE_CACHE.clear()
    yield
    report_services._ZONE_CACHE.clear()


@pytest.fixture
def h3_fills(monkeypatch) -> list:
    """Every H3 polygon fill made during the test (its arguments), the fill still done: the
    one step whose cost grows with an area, so "refused cheaply" means "refused before it"."""
    import h3

    fills: list = []
    fill = h3.polygon_to_cells

    def spy(*args, **kwargs):
        fills.append(args)
        return fill(*args, **kwargs)

    monkeypatch.setattr(h3, "polygon_to_cells", spy)
    return fills


def password_hash() -> str:
    if "h" not in _HASH:
        _HASH["h"] = make_password(PASSWORD)
    return _HASH["h"]


def make_member(
    username: str,
    *,
    org: Organization | None = None,
    roles: tuple[str, ...] = (),
    tier: int = Tier.NEW,
    full_name: str = "",
    phone: str = "",
    email: str = "",
    **extra,
) -> Member:
    member = Member(
        username=username,
        full_name=full_name or f"{username.title()} Testperson",
        tier=tier,
        password=password_hash(),
        **extra,
    )
    set_contact(member, phone=phone, email=email)
    member.save()
    for role in roles:
        Membership.objects.create(member=member, organization=org, role=role)
    return member


@dataclass
class Personas:
    org_a: Organization
    org_b: Organization
    coalition: Member
    coordinator: Member
    dispatcher: Member
    verifier: Member
    newcomer: Member
    outsider: Member

    def all(self) -> dict[str, Member | None]:
        return {
            "coalition": self.coalition,
            "coordinator": self.coordinator,
            "dispatcher": self.dispatcher,
            "verifier": self.verifier,
            "newcomer": self.newcomer,
            "outsider": self.outsider,
            "anonymous": None,
        }


@pytest.fixture
def personas(db) -> Personas:
    org_a = Organization.objects.create(name="Org A", short_name="org-a", languages=["es", "en"])
    org_b = Organization.objects.create(name="Org B", short_name="org-b", languages=["tl"])
    return Personas(
        org_a=org_a,
        org_b=org_b,
        coalition=make_member(
            "coalition",
            org=org_a,
            roles=(Role.COALITION_COORDINATOR,),
            tier=Tier.TRAINED,
            phone="+12135550101",
        ),
        coordinator=make_member(
            "coordinator",
            org=org_a,
            roles=(Role.ORG_COORDINATOR,),
            tier=Tier.TRAINED,
            phone="+12135550102",
        ),
        dispatcher=make_member(
            "dispatcher",
            org=org_a,
            roles=(Role.DISPATCHER,),
            tier=Tier.TRAINED,
            phone="+12135550103",
        ),
        verifier=make_member(
            "verifier",
            org=org_a,
            roles=(Role.VERIFIER,),
            tier=Tier.TRAINED,
            phone="+12135550104",
        ),
        newcomer=make_member(
            "newcomer", org=org_a, roles=(Role.PATROL,), tier=Tier.NEW, phone="+12135550105"
        ),
        outsider=make_member(
            "outsider",
            org=org_b,
            roles=(Role.ORG_COORDINATOR,),
            tier=Tier.TRAINED,
            phone="+12135550106",
        ),
    )


def sign_in(client, member: Member | None):
    """Sign a test client in as the member, with a verified TOTP device when they need one."""
    if member is None:
        return client
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    device, _ = TOTPDevice.objects.get_or_create(
        user=member, name="phone", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def login(client):
    def _login(member: Member | None):
        return sign_in(client, member)

    return _login


@pytest.fixture
def console_transports():
    """Transports built again from this test's settings (the console ones a test runs with),
    and forgotten after it: a module opts in with ``pytest.mark.usefixtures``."""
    from vecinos.transports import registry

    registry.reset()
    yield
    registry.reset()


# --- Browser (Playwright driving Debian's Chromium) ---------------------------------------------

CHROMIUM = os.environ.get("VECINOS_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("VECINOS_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
        pytest.skip("Chromium is not installed; browser tests skipped")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are ordinary synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


class PageProblems(list):
    """Console errors (CSP violations among them) and requests that left localhost."""


@pytest.fixture
def new_page(browser):
    contexts = []

    def _new_page(*, phone: bool = False, locale: str = "en-US"):
        options = {"locale": locale}
        if phone:
            options.update(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        else:
            options.update(viewport={"width": 1280, "height": 900})
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        # A wait, not a speed check: CI runs two suites at once on two cores.
        page.set_default_timeout(30000)
        page.problems = PageProblems()
        page.on(
            "console",
            lambda msg: page.problems.append(msg.text) if msg.type == "error" else None,
        )
        page.on(
            "request",
            lambda req: (
                page.problems.append(f"outside request: {req.url}")
                if not req.url.startswith(
                    ("http://localhost", "http://127.0.0.1", "data:", "blob:")
                )
                else None
            ),
        )
        return page

    yield _new_page
    for context in contexts:
        context.close()


def browser_sign_in(page, base: str, username: str, device: TOTPDevice, *, to: str) -> None:
    """Sign in through the real pages (password, then the authenticator code), landing on `to`.

    Opens `to`, follows the redirect to the sign-in page, and checks each page loaded without
    console errors or outside requests (page.problems) before going on.
    """
    from django_otp.oath import TOTP

    def loaded() -> None:
        page.wait_for_load_state("load")
        assert not page.problems, page.problems

    page.goto(f"{base}{to}")
    page.wait_for_url("**/signin/**")
    loaded()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/2fa/verify/**")
    loaded()
    page.get_by_label("Code:", exact=True).fill(f"{TOTP(device.bin_key).token():06d}")
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}{to}")
    loaded()


# --- `vecinos` in a subprocess, on the embedded database ------------------------------------------


@pytest.fixture(scope="session")
def migrated_data_template(tmp_path_factory) -> Path:
    """A data directory migrated once per test run on the embedded database (keys included).

    The tests that start `vecinos serve` or `vecinos demo` in a subprocess copy it
    (`migrated_data_dir`), instead of each migrating from nothing: about 10 s of CPU each,
    nearly all of it Django rendering model states. What they test begins after that. The
    migrations themselves still run from nothing: for the test database, and in
    tests/core/test_cli.py's worker test.
    """
    data = tmp_path_factory.mktemp("migrated") / "data"
    env = {**os.environ, "VECINOS_ENV": "development", "VECINOS_DATA_DIR": str(data)}
    env.pop("VECINOS_DATABASE_URL", None)  # the embedded default, as the README runs it
    env.pop("VECINOS_REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "vecinos.cli", "migrate", "--verbosity", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return data


def migrated_data_dir(template: Path, dest: Path) -> Path:
    """A copy of the migrated template at ``dest`` (which must not exist yet)."""
    shutil.copytree(template, dest)
    return dest
