"""The emergency purge leaves no username behind: not in the sign-in throttling tables (which
keep usernames and browser strings), not in the demo's credentials file."""

from __future__ import annotations

import json

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db import connection

from vecinos.network.demo import credentials_path
from vecinos.purge import purge_everything_personal


@pytest.mark.django_db
def test_purge_removes_sign_in_attempts_and_demo_credentials(client, personas, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    credentials_path().write_text(json.dumps({"demo.coord": "secret-password"}))
    response = client.post(
        "/signin/",
        {"username": "disp.marta.victima", "password": "wrong"},
        HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 9) Fingerprintable/1.0",
    )
    assert response.status_code in (200, 403, 429)
    assert AccessAttempt.objects.filter(username="disp.marta.victima").exists()

    counts = purge_everything_personal()

    assert counts["sign_in_attempts"] >= 1
    assert not AccessAttempt.objects.exists()
    assert not AccessLog.objects.exists() and not AccessFailureLog.objects.exists()
    assert not credentials_path().exists()
    with connection.cursor() as cursor:
        for table in ("axes_accessattempt", "axes_accesslog", "axes_accessfailurelog"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - fixed names
            assert cursor.fetchone()[0] == 0, table
