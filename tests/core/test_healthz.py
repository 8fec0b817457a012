import pytest
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage


@pytest.mark.django_db
def test_healthz_ok_when_database_and_queue_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "queue": "ok"}


@pytest.mark.django_db
def test_healthz_503_when_the_queue_is_unreachable(client, monkeypatch):
    # A Redis queue on a port where nothing listens: a real connection failure.
    monkeypatch.setattr(HUEY, "storage", RedisStorage("vecinos-dead", url="redis://127.0.0.1:1/0"))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "queue": "error"}


@pytest.mark.django_db
def test_healthz_503_when_the_database_fails(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise connection.Database.OperationalError("disk I/O error")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error"
