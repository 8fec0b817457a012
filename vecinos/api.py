"""The JSON API: /api/v1/, schema at /api/v1/openapi.json.

Callers authenticate with ``Authorization: Bearer <token>`` (a member's personal API token) or a
signed-in browser session; either way the member's own permissions apply, nothing more.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from vecinos.network import selectors
from vecinos.network.models import Membership, Organization, Zone
from vecinos.network.services import token_authenticate


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        member = token_authenticate(token)
        if member is not None:
            request.user = member
        return member


class VerifiedSession(SessionAuth):
    """A signed-in browser session (CSRF-checked by ninja for unsafe methods)."""

    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        if user is None or not user.is_active:
            return None
        # A session that still owes a two-factor code gets no API access either.
        if not user.is_verified():
            from django_otp import devices_for_user

            if selectors.requires_two_factor(user) or any(
                True for _d in devices_for_user(user, confirmed=True)
            ):
                return None
        return user


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


class MeOut(Schema):
    id: int
    username: str
    tier: int
    preferred_language: str
    roles: list[dict]


class OrganizationOut(Schema):
    id: int
    name: str
    short_name: str
    languages: list[str]


class RosterEntryOut(Schema):
    member_id: int
    username: str
    role: str
    tier: int
    active: bool


class ZoneOut(Schema):
    id: int
    name: str
    slug: str
    kind: str
    center_lat: float
    center_lng: float
    cells: int


@api.get("/me", response=MeOut, tags=["network"])
def me(request):
    user = request.auth
    return {
        "id": user.pk,
        "username": user.username,
        "tier": user.tier,
        "preferred_language": user.preferred_language,
        "roles": [
            {"organization_id": org, "role": role}
            for org, role in sorted(selectors.effective_roles(user))
        ],
    }


@api.get("/organizations", response=list[OrganizationOut], tags=["network"])
def organizations(request):
    # The list of member groups is not secret to signed-in members; their rosters are.
    return list(Organization.objects.order_by("name"))


@api.get("/organizations/{org_id}/members", response=list[RosterEntryOut], tags=["network"])
def organization_members(request, org_id: int):
    org = Organization.objects.filter(pk=org_id).first()
    if org is None or not selectors.can_manage_org(request.auth, org):
        # Same answer for "missing" and "not yours": no probing which ids exist.
        raise HttpError(403, "Not allowed")
    from vecinos.core.audit import audit

    audit("roster.export", actor=request.auth, organization_id=org.pk, via="api")
    rows: list[Membership] = list(selectors.roster(org))
    return [
        {
            "member_id": m.member_id,
            "username": m.member.username,
            "role": m.role,
            "tier": m.member.tier,
            "active": m.member.is_active,
        }
        for m in rows
    ]


@api.get("/zones", response=list[ZoneOut], tags=["network"])
def zones(request):
    from vecinos.network.models import Tier

    if request.auth.tier < Tier.VOUCHED:
        raise HttpError(403, "Not allowed")
    return [
        {
            "id": z.pk,
            "name": z.name,
            "slug": z.slug,
            "kind": z.kind,
            "center_lat": z.center_lat,
            "center_lng": z.center_lng,
            "cells": len(z.cells),
        }
        for z in Zone.objects.order_by("name")
    ]


def _mount_routers() -> None:
    from vecinos.reports.api import router as reports_router
    from vecinos.reports.api_console import router as console_router

    api.add_router("/", console_router)
    api.add_router("/", reports_router)

    from vecinos.alerts.api import router as alerts_router

    api.add_router("/", alerts_router)

    from vecinos.mobilize.api import router as mobilize_router

    api.add_router("/", mobilize_router)


_mount_routers()
