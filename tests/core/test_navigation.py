"""The signed-in navigation: menus grouped by task, each entry shown exactly when its app's own
rule lets the person open the page (issue 11), and that rule is the one the view checks."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from vecinos.core import extensions
from vecinos.reports import selectors as report_selectors

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<nav class="site-nav site-nav-grouped".*?</nav>', re.S)
HREF = re.compile(r'<a href="([^"]+)"')


def _nav_links(client) -> set[str]:
    page = client.get(reverse("profile"))
    assert page.status_code == 200
    match = NAV.search(page.content.decode())
    assert match, "the signed-in page has the grouped navigation"
    return set(HREF.findall(match.group(0))) - {reverse("home")}


def test_every_persona_sees_exactly_the_pages_it_may_open(client, personas, login):
    entries = extensions.nav_entries()
    assert len(entries) >= 15  # every app registered its entries
    for name, member in personas.all().items():
        if member is None:
            continue
        login(member)
        shown = _nav_links(client)
        for entry in entries:
            url = reverse(entry.url_name)
            opened = client.get(url).status_code
            if url in shown:
                assert opened != 403, f"{name} is shown {entry.url_name} but is refused"
            else:
                assert opened == 403, f"{name} may open {entry.url_name} ({opened}) but no link"
        client.logout()


def _open_menus(client, url: str) -> list[str]:
    nav = NAV.search(client.get(url).content.decode()).group(0)
    return re.findall(r"<details open>\s*<summary>(.*?)</summary>", nav)


def test_menus_are_disclosures_in_task_order(client, personas, login):
    login(personas.coalition)
    html = client.get(reverse("profile")).content.decode()
    nav = NAV.search(html).group(0)
    assert nav.count("<details") == 4
    summaries = re.findall(r"<summary>(.*?)</summary>", nav)
    assert summaries == ["Now", "Patrols", "People", "Me"]


def test_only_the_menu_holding_the_page_is_open(client, personas, login):
    """Open on every page, "Now" pushed each page's own content a third of a phone's screen
    down (outside walk, session 19): the home page opens the first menu, a page its own
    menu, any other page none."""
    login(personas.coalition)
    assert _open_menus(client, reverse("home")) == ["Now"]
    assert _open_menus(client, reverse("profile")) == ["Me"]
    assert _open_menus(client, reverse("orgs")) == ["People"]
    assert _open_menus(client, reverse("subscribe")) == []


def test_menus_read_in_spanish(client, personas, login):
    login(personas.dispatcher)
    html = client.get(reverse("profile"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    summaries = re.findall(r"<summary>(.*?)</summary>", NAV.search(html).group(0))
    assert summaries[0] == "Ahora" and summaries[-1] == "Yo"


def test_a_newcomer_sees_no_staff_menu(client, personas, login):
    login(personas.newcomer)
    shown = _nav_links(client)
    assert reverse("console") not in shown
    assert reverse("alerts") not in shown
    assert reverse("orgs") not in shown
    assert reverse("profile") in shown


def test_organization_coordinators_read_the_console_and_see_it_in_the_menu(client, personas, login):
    # One rule (reports.selectors.can_use_console) for the view, the API and the menu: the
    # console is coalition-wide reading for coordinators; sending verifiers is not.
    coordinator = personas.coordinator
    assert report_selectors.can_use_console(coordinator)
    assert not report_selectors.can_dispatch(coordinator)
    login(coordinator)
    assert reverse("console") in _nav_links(client)
    assert client.get(reverse("console")).status_code == 200


def test_signed_out_visitors_get_the_public_links_only(client):
    html = client.get(reverse("report_form")).content.decode()
    assert "site-nav-grouped" not in html
    assert reverse("rumors") in html
