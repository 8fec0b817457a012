"""The API schema documents every error answer an operation gives (401, 403, 422, 400), and a
body that is not JSON is answered with the same {"errors": {...}} shape as other 400s."""

from __future__ import annotations

import json

import pytest

from vecinos.network.services import token_create


def bearer(member):
    return {"HTTP_AUTHORIZATION": f"Bearer {token_create(member=member, name='t').secret}"}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/reports", "/api/v1/alerts"])
def test_malformed_json_gets_the_field_error_shape(client, personas, path):
    response = client.post(
        path, "{not json", content_type="application/json", **bearer(personas.dispatcher)
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"body": "The request body is not valid JSON."}}
    spanish = client.post(
        path,
        "{not json",
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="es",
        **bearer(personas.dispatcher),
    )
    assert spanish.json() == {"errors": {"body": "El cuerpo de la solicitud no es JSON válido."}}


@pytest.mark.django_db
def test_other_http_errors_keep_their_detail(client, personas):
    response = client.get("/api/v1/zones", **bearer(personas.newcomer))
    assert response.status_code == 403 and response.json() == {"detail": "Not allowed"}


def operations(schema):
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            yield method, path, op


def no_duplicate_keys(pairs):
    keys = [k for k, _v in pairs]
    assert len(keys) == len(set(keys)), keys
    return dict(pairs)


@pytest.mark.django_db
def test_every_operation_documents_401_and_422(client):
    raw = client.get("/api/v1/openapi.json").content
    schema = json.loads(raw, object_pairs_hook=no_duplicate_keys)
    for method, path, op in operations(schema):
        answers = op["responses"]
        if op.get("security"):
            assert "401" in answers, (method, path)
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in answers, (method, path)
        if op.get("requestBody"):
            assert "400" in answers, (method, path)
            assert "errors" in str(answers["400"]) or "FieldErrorsOut" in str(answers["400"])


@pytest.mark.django_db
def test_every_operation_that_refuses_a_newcomer_documents_403(client, personas):
    schema = client.get("/api/v1/openapi.json").json()
    headers = bearer(personas.newcomer)
    probed = 0
    for method, path, op in operations(schema):
        url = path.replace("{org_id}", str(personas.org_a.pk))
        for name in ("incident_id", "alert_id"):
            url = url.replace("{" + name + "}", "1")
        if method == "get":
            status = client.get(url, **headers).status_code
        else:
            status = client.post(url, {}, content_type="application/json", **headers).status_code
        probed += 1
        if status == 403:
            assert "403" in op["responses"], (method, path)
    assert probed >= 10
