"""Call-out roles are named in the reader's language: the default roles from every catalog,
a coordinator's own names first, and a renamed role never replaced by our translation."""

from __future__ import annotations

import pytest
from django.utils import translation

from vecinos.core import languages
from vecinos.mobilize import rules
from vecinos.mobilize.models import DEFAULT_ROLE_LABELS, CalloutRole

pytestmark = pytest.mark.django_db


def role(key: str) -> CalloutRole:
    rules.active_roles()  # the seeded defaults
    return CalloutRole.objects.get(key=key)


@pytest.mark.parametrize("code", [lang.code for lang in languages.written_languages()])
def test_every_default_role_has_a_name_in_every_written_language(code):
    for key, (english, _label) in DEFAULT_ROLE_LABELS.items():
        name = role(key).name(code)
        assert name
        if code != "en":
            assert name != english, (code, key)  # never English in another language


def test_a_korean_reader_sees_korean_role_names_on_the_board_labels():
    assert rules.role_names("ko")["observer"] == "법률 참관인"
    assert rules.role_names("es")["observer"] == "Observador legal"  # the row's own name
    with translation.override("en"):
        assert rules.role_names("ar")["driver"] == "سائق"


def test_a_coordinators_names_win_and_a_renamed_role_stays_theirs():
    observer = role("observer")
    observer.names = {"en": "Court watcher", "es": "Observador de corte", "ko": "법정 모니터"}
    observer.save()
    assert observer.name("ko") == "법정 모니터"
    assert observer.name("vi") == "Court watcher"  # renamed in English: not our translation
    extra = CalloutRole.objects.create(key="medic", names={"en": "Street medic"})
    assert extra.name("ja") == "Street medic"


@pytest.mark.parametrize("code", ["ja", "zh-hans", "ar", "ko"])
def test_the_board_names_roles_in_the_pages_language(code):
    """Outside walk, session 17: the call-out board showed "Observador legal" on Japanese and
    Arabic pages: its language was cut to two letters and fell back to Spanish."""
    from vecinos.mobilize import selectors

    with translation.override(code):
        assert selectors._lang() == code
        shown = role("observer").name(selectors._lang())
    assert shown == role("observer").name(code) and shown != "Observador legal"
