"""Pages of the network app: rosters, vetting, joining by invitation, zones and the audit log
(own-account pages, sign-in and two-step sign-in: views_account.py, re-exported here).

Each view parses input, asks a selector what the person may see, calls one service and renders.
Permission failures raise PermissionDenied (the project's 403 page); a missing object that the
person could not see anyway gets the same 403, so ids cannot be probed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

import h3
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import CharField, Count, Q, QuerySet
from django.db.models.functions import Cast
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from vecinos.core.extensions import audit_action_label
from vecinos.core.geo import cells_outline
from vecinos.core.models import AuditEvent
from vecinos.network import selectors, services
from vecinos.network.forms import (
    AuditFilterForm,
    ConfirmForm,
    InviteForm,
    RoleChangeForm,
    TrainingForm,
    VouchForm,
)
from vecinos.network.http import member_of
from vecinos.network.models import (
    Invitation,
    Member,
    Membership,
    Organization,
    Role,
    Tier,
    Zone,
)
from vecinos.network.views_account import (  # noqa: F401  (account pages, reached as views.X)
    _display_phone,
    _qr_svg,
    _role_rows,
    home,
    join,
    locked_out,
    profile,
    profile_phone,
    sign_in,
    sign_out,
    sign_out_everywhere,
    token_revoke,
    tokens,
    two_factor_recovery,
    two_factor_setup,
    two_factor_verify,
)

AUDIT_PAGE_SIZE = 50


# --- helpers ----------------------------------------------------------------------------------


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _require_vouched(member: Member) -> None:
    if not selectors.is_vouched(member):
        raise PermissionDenied


def _managed_org(request: HttpRequest, org_id: int) -> Organization:
    organization = Organization.objects.filter(pk=org_id).first()
    if organization is None or not selectors.can_manage_org(member_of(request), organization):
        raise PermissionDenied
    return organization


def _viewable_member(request: HttpRequest, member_id: int) -> Member:
    target = Member.objects.filter(pk=member_id).first()
    if target is None or not selectors.can_view_member(member_of(request), target):
        raise PermissionDenied
    return target


def _group_roster(memberships: Iterable[Membership]) -> list[dict[str, Any]]:
    people: dict[int, dict[str, Any]] = {}
    for membership in memberships:
        entry = people.setdefault(
            membership.member_id, {"member": membership.member, "roles": [], "role_codes": []}
        )
        entry["roles"].append(membership.get_role_display())
        entry["role_codes"].append(membership.role)
    return list(people.values())


# --- organizations and rosters ----------------------------------------------------------------


@login_required
def orgs(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    if not selectors.is_coordinator(member):
        raise PermissionDenied
    organizations = selectors.organizations_for_roster(member).annotate(
        member_count=Count("memberships__member", distinct=True)
    )
    return render(request, "network/orgs.html", {"organizations": organizations})


def _pending_invitations(organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        organization=organization,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).select_related("created_by")


def _render_roster(
    request: HttpRequest, organization: Organization, invite_form: InviteForm | None = None
) -> HttpResponse:
    include_coalition = selectors.is_coalition_coordinator(member_of(request))
    return render(
        request,
        "network/roster.html",
        {
            "organization": organization,
            "people": _group_roster(selectors.roster(organization)),
            "invitations": _pending_invitations(organization),
            "invite_form": invite_form or InviteForm(include_coalition=include_coalition),
        },
    )


@login_required
def roster(request: HttpRequest, org_id: int) -> HttpResponse:
    return _render_roster(request, _managed_org(request, org_id))


@never_cache
@login_required
def roster_export(request: HttpRequest, org_id: int) -> HttpResponse:
    organization = _managed_org(request, org_id)
    try:
        rows, contacts = services.roster_export(
            actor=member_of(request), organization=organization, via="csv"
        )
    except services.NotAllowed:
        raise PermissionDenied from None
    people = _group_roster(rows)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{organization.short_name}-members.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(["username", "roles", "tier", *(["name", "phone"] if contacts else [])])
    for entry in people:
        member = entry["member"]
        row = [member.username, ";".join(entry["role_codes"]), Tier(member.tier).name.lower()]
        if contacts:
            row += [member.full_name, member.phone]
        # Keep spreadsheets from reading a cell as a formula.
        writer.writerow(["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in row])
    return response


@never_cache
@login_required
@require_POST
def invite_create(request: HttpRequest, org_id: int) -> HttpResponse:
    actor = member_of(request)
    organization = _managed_org(request, org_id)
    form = InviteForm(request.POST, include_coalition=selectors.is_coalition_coordinator(actor))
    if not form.is_valid():
        return _render_roster(request, organization, invite_form=form)
    try:
        issued = services.invitation_create(
            actor=actor, organization=organization, role=form.cleaned_data["role"]
        )
    except services.NotAllowed:
        raise PermissionDenied from None
    link = settings.PUBLIC_URL + reverse("join", args=[issued.token])
    return render(
        request,
        "network/invite_created.html",
        {
            "organization": organization,
            "invitation": issued.invitation,
            "role_label": Role(issued.invitation.role).label,
            "link": link,
            "qr_svg": _qr_svg(link),
        },
    )


@login_required
@require_POST
def invite_revoke(request: HttpRequest, org_id: int, invitation_id: int) -> HttpResponse:
    organization = _managed_org(request, org_id)
    invitation = get_object_or_404(Invitation, pk=invitation_id, organization=organization)
    try:
        services.invitation_revoke(actor=member_of(request), invitation=invitation)
    except services.NotAllowed:
        raise PermissionDenied from None
    messages.success(request, _("The invitation link no longer works."))
    return redirect("roster", org_id=organization.pk)


def _org_member(organization: Organization, member_id: int) -> Member:
    membership = (
        # member__pk, not member_id: only the pk lookup turns an id too big for the database
        # into "no match" instead of an OverflowError (a 500).
        Membership.objects.filter(organization=organization, member__pk=member_id)
        .select_related("member")
        .first()
    )
    if membership is None:
        raise Http404
    return membership.member


def _render_roster_member(
    request: HttpRequest,
    organization: Organization,
    member: Member,
    *,
    role_form: RoleChangeForm | None = None,
    training_form: TrainingForm | None = None,
    deactivate_form: ConfirmForm | None = None,
    status: int = 200,
) -> HttpResponse:
    viewer = member_of(request)
    include_coalition = selectors.is_coalition_coordinator(viewer)
    memberships = Membership.objects.filter(member=member, organization=organization).order_by(
        "role"
    )
    return render(
        request,
        "network/roster_member.html",
        {
            "organization": organization,
            "member": member,
            "roles": _role_rows(member, memberships.select_related("organization")),
            "tier_label": Tier(member.tier).label,
            "vouch_count": member.vouches_received.count(),
            "can_train": member.tier >= Tier.VOUCHED,
            "is_self": member.pk == viewer.pk,
            "include_coalition": include_coalition,
            "role_form": role_form or RoleChangeForm(include_coalition=include_coalition),
            "training_form": training_form
            or TrainingForm(initial={"completed_on": timezone.localdate()}),
            "deactivate_form": deactivate_form or ConfirmForm(),
        },
        status=status,
    )


@login_required
def roster_member(request: HttpRequest, org_id: int, member_id: int) -> HttpResponse:
    organization = _managed_org(request, org_id)
    return _render_roster_member(request, organization, _org_member(organization, member_id))


@login_required
@require_POST
def roster_role(request: HttpRequest, org_id: int, member_id: int) -> HttpResponse:
    organization = _managed_org(request, org_id)
    # Only people already in this organization: granting a role to an outsider would hand the
    # coordinator a way to see anyone's contact details.
    member = _org_member(organization, member_id)
    actor = member_of(request)
    form = RoleChangeForm(request.POST, include_coalition=selectors.is_coalition_coordinator(actor))
    if not form.is_valid():
        return _render_roster_member(request, organization, member, role_form=form)
    role, op = form.cleaned_data["role"], form.cleaned_data["op"]
    label = Role(role).label
    try:
        if op == RoleChangeForm.GRANT:
            services.role_grant(actor=actor, member=member, organization=organization, role=role)
            messages.success(
                request,
                _("%(name)s is now: %(role)s.")
                % {
                    "name": member.username,
                    "role": label,
                },
            )
        else:
            membership = Membership.objects.filter(
                member=member, organization=organization, role=role
            ).first()
            if membership is None:
                form.add_error("role", _("They do not have that role here."))
                return _render_roster_member(request, organization, member, role_form=form)
            services.role_revoke(actor=actor, membership=membership)
            messages.success(
                request,
                _("%(name)s is no longer: %(role)s.")
                % {
                    "name": member.username,
                    "role": label,
                },
            )
    except services.SelfGrant:
        form.add_error("role", _("You cannot give yourself a role. Ask another coordinator."))
        return _render_roster_member(request, organization, member, role_form=form, status=403)
    except services.NeedsCoalitionCoordinator:
        form.add_error(
            "role",
            _(
                "Only a coalition coordinator can give the role %(role)s: it reaches every "
                "organization's incidents and alerts."
            )
            % {"role": label},
        )
        return _render_roster_member(request, organization, member, role_form=form, status=403)
    except services.NotAllowed:
        raise PermissionDenied from None
    selectors.forget_roles(actor)
    if not selectors.can_manage_org(actor, organization):
        return redirect("home")  # they took away their own coordinator role
    if not Membership.objects.filter(member=member, organization=organization).exists():
        return redirect("roster", org_id=organization.pk)
    return redirect("roster_member", org_id=organization.pk, member_id=member.pk)


@login_required
@require_POST
def roster_vouch(request: HttpRequest, org_id: int, member_id: int) -> HttpResponse:
    organization = _managed_org(request, org_id)
    member = _org_member(organization, member_id)
    try:
        services.vouch_record(actor=member_of(request), member=member)
    except services.NotAllowed:
        messages.error(request, _("You can vouch only for people in your organizations."))
    else:
        messages.success(
            request, _("Your vouch for %(name)s is recorded.") % {"name": member.username}
        )
    return redirect("roster_member", org_id=organization.pk, member_id=member.pk)


@login_required
@require_POST
def roster_training(request: HttpRequest, org_id: int, member_id: int) -> HttpResponse:
    organization = _managed_org(request, org_id)
    member = _org_member(organization, member_id)
    form = TrainingForm(request.POST)
    if form.is_valid():
        try:
            services.training_record(
                actor=member_of(request),
                member=member,
                topic=form.cleaned_data["topic"].strip(),
                completed_on=form.cleaned_data["completed_on"],
            )
        except services.NotAllowed:
            raise PermissionDenied from None
        except ValueError:
            form.add_error(None, _("Someone must vouch for them before a training is recorded."))
        else:
            messages.success(request, _("The training is recorded."))
            return redirect("roster_member", org_id=organization.pk, member_id=member.pk)
    return _render_roster_member(request, organization, member, training_form=form)


@login_required
@require_POST
def roster_deactivate(request: HttpRequest, org_id: int, member_id: int) -> HttpResponse:
    organization = _managed_org(request, org_id)
    member = _org_member(organization, member_id)
    actor = member_of(request)
    form = ConfirmForm(request.POST)
    if member.pk == actor.pk:
        form.add_error(None, _("You cannot deactivate your own account."))
    if not form.is_valid():
        return _render_roster_member(request, organization, member, deactivate_form=form)
    try:
        services.member_deactivate(actor=actor, member=member)
    except services.NotAllowed:
        raise PermissionDenied from None
    messages.success(
        request,
        _("%(name)s is deactivated and signed out everywhere.") % {"name": member.username},
    )
    return redirect("roster", org_id=organization.pk)


# --- members ------------------------------------------------------------------------------------


def _member_context(request: HttpRequest, target: Member) -> dict[str, Any]:
    memberships = Membership.objects.filter(member=target).select_related("organization")
    viewer = member_of(request)
    orgs = selectors.coordinated_org_ids(viewer)
    if target.pk != viewer.pk and orgs is not None:
        # A coordinator sees only the roles held in organizations they coordinate.
        memberships = memberships.filter(organization_id__in=orgs)
    return {
        "target": target,
        "roles": _role_rows(target, memberships.order_by("organization__name", "role")),
        "tier_label": Tier(target.tier).label,
        "vouches": target.vouches_received.select_related("voucher").order_by("created_at"),
        "trainings": target.trainings.select_related("recorded_by").order_by("-completed_on"),
    }


@login_required
def member_detail(request: HttpRequest, member_id: int) -> HttpResponse:
    target = _viewable_member(request, member_id)
    return render(request, "network/member_detail.html", _member_context(request, target))


@never_cache
@login_required
@require_POST
def member_contact(request: HttpRequest, member_id: int) -> HttpResponse:
    target = _viewable_member(request, member_id)
    try:
        contact = services.contact_reveal(actor=member_of(request), member=target)
    except services.NotAllowed:
        raise PermissionDenied from None
    contact_ctx = {
        "phone": contact["phone"],
        "phone_display": _display_phone(contact["phone"]) if contact["phone"] else "",
        "email": contact["email"],
    }
    if _is_htmx(request):
        return render(request, "network/_contact.html", {"contact": contact_ctx})
    context = _member_context(request, target)
    context["contact"] = contact_ctx
    return render(request, "network/member_detail.html", context)


@login_required
def vouch(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    _require_vouched(member)
    form = VouchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["username"]
        candidates = Member.objects.filter(username__iexact=name, is_active=True)
        target = candidates.filter(username=name).first()
        if target is None and len(found := list(candidates[:2])) == 1:
            target = found[0]
        not_yours = _("You can vouch only for people in your organizations.")
        if target is None:
            # Same answer as "not in your organizations": the page must not reveal who exists.
            form.add_error("username", not_yours)
        else:
            try:
                services.vouch_record(actor=member, member=target)
            except services.NotAllowed:
                form.add_error("username", not_yours)
            else:
                messages.success(
                    request, _("Thank you. Your vouch for %(name)s is recorded.") % {"name": name}
                )
                return redirect("vouch")
    return render(request, "network/vouch.html", {"form": form})


# --- zones ------------------------------------------------------------------------------------


def _zone_rings(cells: list[str]) -> list[list[list[float]]]:
    try:
        return cells_outline(cells)
    except (ValueError, TypeError, h3.H3BaseException):
        return []  # a zone with bad cells is still listed, just not drawn


@login_required
def zones(request: HttpRequest) -> HttpResponse:
    _require_vouched(member_of(request))
    zone_list = list(Zone.objects.select_related("organization"))
    data = [
        {
            "name": zone.name,
            "kind": str(zone.get_kind_display()),
            "organization": zone.organization.name if zone.organization else "",
            "rings": _zone_rings(zone.cells),
        }
        for zone in zone_list
    ]
    return render(request, "network/zones.html", {"zones": zone_list, "zones_data": data})


# --- audit log --------------------------------------------------------------------------------


def _visible_audit_events(member: Member) -> QuerySet[AuditEvent]:
    """Coalition coordinators see everything; an organization coordinator sees events of their
    organizations and events about their members."""
    org_ids = selectors.coordinated_org_ids(member)
    events = AuditEvent.objects.all()
    if org_ids is None:
        return events
    member_ids = (
        Membership.objects.filter(organization_id__in=org_ids)
        .annotate(member_key=Cast("member_id", output_field=CharField()))
        .values("member_key")
    )
    return events.filter(
        Q(organization_id__in=org_ids) | Q(target_type="member", target_id__in=member_ids)
    )


def _detail_text(detail: Any) -> str:
    if isinstance(detail, dict):
        return ", ".join(f"{key}={value}" for key, value in sorted(detail.items()))
    return "" if detail in (None, "", [], {}) else str(detail)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    if not selectors.can_read_audit(member):
        raise PermissionDenied
    events = _visible_audit_events(member)
    actions = list(events.order_by("action").values_list("action", flat=True).distinct())
    form = AuditFilterForm(request.GET or None, actions=actions)
    if form.is_valid():
        if person := form.cleaned_data["person"].strip():
            events = events.filter(actor__username__iexact=person)
        if action := form.cleaned_data["action"]:
            events = events.filter(action=action)
    page = Paginator(events.select_related("actor"), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )

    member_ids = {
        e.target_id
        for e in page
        if e.target_type == "member" and e.target_id.isascii() and e.target_id.isdigit()
    }
    usernames = dict(
        Member.objects.filter(pk__in=[int(i) for i in member_ids]).values_list("pk", "username")
    )
    # Keyed by pk; looked up with the event's organization_id, which may be None.
    org_names: dict[int | None, str] = dict(
        Organization.objects.filter(
            pk__in={e.organization_id for e in page if e.organization_id}
        ).values_list("pk", "name")
    )
    rows = []
    for event in page:
        target = ""
        if event.target_type == "member" and event.target_id in member_ids:
            target = usernames.get(int(event.target_id), f"member #{event.target_id}")
        elif event.target_type:
            target = f"{event.target_type} #{event.target_id}"
        rows.append(
            {
                "event": event,
                "action": audit_action_label(event.action),
                "target": target,
                "organization": org_names.get(event.organization_id, ""),
                "detail": _detail_text(event.detail),
            }
        )
    return render(
        request,
        "network/audit_log.html",
        {"form": form, "page": page, "rows": rows, "time_zone": timezone.get_current_timezone()},
    )
