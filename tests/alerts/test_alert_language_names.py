"""The review page's "not reached yet" table names each person's language ("한국어 (Coreano)"),
not its code (outside walk: "en", "kjb", "mix", "tl"); the phone-tree page uses the same
``language_label`` filter."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.alerts.test_alert_pages import public_alert, public_subscriber
from vecinos.alerts import services


@pytest.mark.django_db
def test_not_reached_yet_names_each_language(client, login, personas):
    public_subscriber("+12135550101", "ko")
    public_subscriber("+12135550102", "mix")
    alert = public_alert(personas.dispatcher)
    services.alert_send(alert=alert, actor=personas.dispatcher)
    services.alert_approve(alert=alert, actor=personas.coordinator)
    login(personas.dispatcher)
    page = client.get(
        reverse("alert_detail", args=[alert.pk]), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert '<td data-label="Idioma">한국어 (Coreano)</td>' in page
    assert '<td data-label="Idioma">Tu&#x27;un savi (Mixteco)</td>' in page
    assert '<td data-label="Idioma">ko</td>' not in page
    assert '<td data-label="Idioma">mix</td>' not in page


@pytest.mark.django_db
def test_the_phone_tree_and_the_captains_calls_name_each_language(client, login, personas):
    """A captain about to call someone, and the coordinators' phone tree, see "Español
    (Spanish)", not "es" (the captain's page showed the code)."""
    from tests.alerts.test_alert_pages import assigned
    from tests.conftest import make_member
    from vecinos.network.models import Role, Tier

    ana = make_member("ana.captain", org=personas.org_a, roles=(Role.CAPTAIN,), tier=Tier.VOUCHED)
    call = assigned(personas, ana, "+13235550141")
    login(ana)
    page = client.get(reverse("captain"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<span class="badge">Español (Spanish)</span>' in page
    assert '<span class="badge">es</span>' not in page
    login(personas.dispatcher)
    tree = client.get(
        reverse("alert_tree", args=[call.alert_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert '<span class="badge">Español (Spanish)</span>' in tree
    assert '<span class="badge">es</span>' not in tree
