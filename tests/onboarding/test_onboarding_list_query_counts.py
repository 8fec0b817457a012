"""Pinned query count on the import page's preview: a file of N people and one of 3N ask the
database the same number of times (tests/querycount.py). The list of imports is in
tests/core/test_query_counts.py."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import sign_in
from tests.onboarding.test_onboarding_import_pages import upload
from tests.querycount import assert_flat
from vecinos.onboarding.models import ImportJob

pytestmark = pytest.mark.django_db

_seq = itertools.count(1)


def test_import_preview(personas):
    client = sign_in(Client(), personas.coordinator)

    def build(n: int) -> tuple[str, str]:
        lines = ["Teléfono,Idioma,Código postal,Permiso"]
        for _ in range(n * 3):
            lines.append(f"(213) 555-{next(_seq):04d},español,90033,hoja 2025")
        assert upload(client, personas.org_a, "\n".join(lines).encode()).status_code == 302
        job = ImportJob.objects.order_by("-pk").first()
        assert job is not None
        return reverse("import_job", args=[job.pk]), "(213) 555-"

    assert_flat(client, build)
