"""Network over the JSON API: who am I, the member organizations, a roster, the zones.

Mounted at /api/v1/ by vecinos.api (every app's ``api.routers``).
"""

from __future__ import annotations

from ninja import Router, Schema
from ninja.errors import HttpError

from vecinos.network import selectors, services
from vecinos.network.models import Organization, Tier, Zone

router = Router()


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


@router.get("/me", response=MeOut, tags=["network"])
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


@router.get("/organizations", response=list[OrganizationOut], tags=["network"])
def organizations(request):
    # The list of member groups is not secret to signed-in members; their rosters are.
    return list(Organization.objects.order_by("name"))


@router.get("/organizations/{org_id}/members", response=list[RosterEntryOut], tags=["network"])
def organization_members(request, org_id: int):
    org = Organization.objects.filter(pk=org_id).first()
    if org is None or not selectors.can_manage_org(request.auth, org):
        # Same answer for "missing" and "not yours": no probing which ids exist.
        raise HttpError(403, "Not allowed")
    rows, _contacts = services.roster_export(actor=request.auth, organization=org, via="api")
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


@router.get("/zones", response=list[ZoneOut], tags=["network"])
def zones(request):
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
