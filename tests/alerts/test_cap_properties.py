"""The CAP 1.2 and Atom writers (alerts/cap.py): whatever a dispatcher types, the feeds other
systems read stay well-formed XML and say exactly what was typed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vecinos.alerts import cap
from vecinos.alerts.models import Alert

NS = {"cap": cap.CAP_NS, "atom": cap.ATOM_NS}
# Any text, control characters included (XML 1.0 cannot carry them: they become U+FFFD).
texts = st.text(max_size=160)
near_la = st.tuples(st.floats(33.5, 34.5), st.floats(-118.9, -117.5))


def newlines(text: str) -> str:
    # An XML parser reads every line break as LF (XML 1.0, 2.11).
    return text.replace("\r\n", "\n").replace("\r", "\n")


@st.composite
def alerts(draw) -> Alert:
    now = timezone.now()
    point = draw(st.one_of(st.none(), near_la))
    return Alert(
        pk=draw(st.integers(1, 10**9)),
        kind=draw(st.sampled_from(Alert.Kind.values)),
        messages=draw(
            st.dictionaries(
                st.sampled_from(["en", "es", "tl", "zh-hant", "fa", "x-klingon", "not a tag", ""]),
                texts,
                min_size=1,
                max_size=4,
            )
        ),
        area_label=draw(st.text(max_size=120)),
        lat=point[0] if point else None,
        lng=point[1] if point else None,
        radius_m=draw(st.integers(0, 50_000)) if point else None,
        polygon=draw(st.lists(near_la.map(list), max_size=8)),
        sent_at=now,
        expires_at=now + timedelta(hours=draw(st.integers(1, 48))),
    )


@pytest.mark.django_db
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alert=alerts())
def test_a_cap_document_is_well_formed_and_says_what_was_typed(alert):
    root = ET.fromstring(cap.cap_xml(alert))
    written = [(lang, text) for lang, text in alert.messages.items() if text]
    infos = root.findall("cap:info", NS)
    assert len(infos) == len(written)
    area = newlines(cap.xml_text(alert.area_label)) if alert.area_label else "Los Angeles"
    for info, (_lang, text) in zip(infos, written, strict=True):
        assert info.findtext("cap:description", namespaces=NS) == newlines(cap.xml_text(text))
        assert info.findtext("cap:area/cap:areaDesc", namespaces=NS) == area
        assert len(info.findtext("cap:headline", namespaces=NS)) <= 160
        for polygon in info.findall("cap:area/cap:polygon", NS):
            pairs = polygon.text.split(" ")
            assert len(pairs) >= 4 and pairs[0] == pairs[-1]  # closed, at least a triangle
        for circle in info.findall("cap:area/cap:circle", NS):
            centre, radius = circle.text.split(" ")
            lat, lng = (float(v) for v in centre.split(","))
            assert -90 <= lat <= 90 and -180 <= lng <= 180 and float(radius) >= 0


@pytest.mark.django_db
@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(alerts(), min_size=1, max_size=3))
def test_the_atom_feed_is_well_formed_with_one_entry_per_alert(batch):
    feed = ET.fromstring(cap.atom_feed(batch))
    entries = feed.findall("atom:entry", NS)
    assert len(entries) == len(batch)
    for entry, alert in zip(entries, batch, strict=True):
        assert entry.findtext("atom:id", namespaces=NS).endswith(cap.identifier(alert))
