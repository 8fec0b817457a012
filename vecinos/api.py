"""The JSON API: /api/v1/, schema at /api/v1/openapi.json.

Callers authenticate with ``Authorization: Bearer <token>`` (a member's personal API token) or a
signed-in browser session; either way the member's own permissions apply, nothing more.
"""

from __future__ import annotations

from importlib import import_module

from django.apps import apps
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import NinjaAPI
from ninja.errors import HttpError

from vecinos.network.api_auth import BearerToken, VerifiedSession

_DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
_FIELD_ERRORS = {
    "type": "object",
    "properties": {"errors": {"type": "object", "additionalProperties": {"type": "string"}}},
    "required": ["errors"],
}
_VALIDATION = {
    "type": "object",
    "properties": {"detail": {"type": "array", "items": {"type": "object"}}},
    "required": ["detail"],
}
# Operations that answer 403 to a signed-in member without the right role or tier (the ones
# that declare it in their decorator are found by themselves).
FORBIDDING = {
    ("get", "/organizations/{org_id}/members"),
    ("get", "/zones"),
    ("get", "/reports/queue"),
}


def _answer(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


class VecinosAPI(NinjaAPI):
    """Ninja with every operation's error answers written into the schema: 401 where a
    credential is needed, 403 where a role or tier is, 422 where input is validated, 400 where
    a JSON body may not parse (the same {"errors": {...}} shape as the services' 400s)."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        root = path_prefix if path_prefix is not None else self.get_root_path(path_params or {})
        for path, operations in schema.get("paths", {}).items():
            short = "/" + path.removeprefix(root.rstrip("/")).lstrip("/")
            for method, operation in operations.items():
                # Ninja keys answers by int status; the same code as a string would be written
                # as a second, duplicate JSON key (Swagger UI refuses the document).
                answers = {str(k): v for k, v in operation.get("responses", {}).items()}
                operation["responses"] = answers
                if operation.get("security"):
                    answers.setdefault("401", _answer("No valid credential", _DETAIL))
                if (method, short) in FORBIDDING:
                    answers.setdefault("403", _answer("Not allowed for this member", _DETAIL))
                if operation.get("parameters") or operation.get("requestBody"):
                    answers.setdefault("422", _answer("Input that fails validation", _VALIDATION))
                if operation.get("requestBody"):
                    answers.setdefault(
                        "400", _answer("Refused input, or a body that is not JSON", _FIELD_ERRORS)
                    )
        return schema


api = VecinosAPI(
    title="Vecinos API",
    version="1",
    urls_namespace="api",
    auth=[BearerToken(), VerifiedSession()],
)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError):
    # A body that does not parse answers like any other refused input: {"errors": {...}}.
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return api.create_response(
            request,
            {"errors": {"body": gettext("The request body is not valid JSON.")}},
            status=400,
        )
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception):
    # Anything else (a bug, a database error) answers JSON too, never the HTML error page. Django
    # decides the status (PermissionDenied is a 403, a bug a 500), logs it with its traceback and
    # signals it (the test client re-raises it), as for a page; only the body is the API's.
    page = response_for_exception(request, exc)
    status = page.status_code
    detail = (
        gettext("The error was recorded. Please try again in a moment.")
        if status >= 500
        else page.reason_phrase
    )
    answer = api.create_response(request, {"detail": detail}, status=status)
    answer._has_been_logged = getattr(page, "_has_been_logged", False)  # type: ignore[attr-defined]
    return answer


def _mount_routers() -> None:
    """Every installed Vecinos app with an ``api`` module mounts its ``routers`` (or its one
    ``router``) at /api/v1/, in INSTALLED_APPS order: an app adds endpoints without editing
    this file."""
    for config in apps.get_app_configs():
        if not config.name.startswith("vecinos."):
            continue
        try:
            module = import_module(f"{config.name}.api")
        except ModuleNotFoundError as missing:
            if missing.name != f"{config.name}.api":
                raise
            continue
        routers = getattr(module, "routers", None)
        if routers is None:
            routers = [module.router] if hasattr(module, "router") else []
        for router in routers:
            api.add_router("/", router)


_mount_routers()
