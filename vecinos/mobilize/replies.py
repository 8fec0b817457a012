"""A responder's reply: matched to the call-out, counted against its roles' quotas."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from vecinos.messaging import services as messaging
from vecinos.mobilize.messages import (
    _send_to,
    _translated,
    enough_text,
)
from vecinos.mobilize.models import Activation, Response
from vecinos.mobilize.rules import (
    MAX_ETA_MINUTES,
    SAYS_YES,
)

# --- replies -----------------------------------------------------------------------------------


def _filled(activation: Activation) -> dict[str, int]:
    rows = (
        Response.objects.filter(activation=activation, status__in=SAYS_YES)
        .values("role")
        .annotate(n=Count("pk"))
    )
    return {r["role"]: r["n"] for r in rows}


def _role_for(activation: Activation, wanted: str, filled: dict[str, int]) -> str | None:
    """The role to count someone under, or None when every role is full (quota mode)."""
    if wanted in activation.roles and filled.get(wanted, 0) < activation.roles[wanted]:
        return wanted
    for key, needed in activation.roles.items():
        if filled.get(key, 0) < needed:
            return key
    if activation.quota:
        return None
    return wanted if wanted in activation.roles else max(activation.roles, key=activation.roles.get)


def _quota_met(activation: Activation) -> None:
    """Everyone asked who has not answered hears "enough, thank you"; no more waves."""
    now = timezone.now()
    pending = list(
        Response.objects.filter(activation=activation, status=Response.Status.ASKED).values_list(
            "pk", flat=True
        )
    )
    Response.objects.filter(pk__in=pending).update(status=Response.Status.ENOUGH)
    Activation.objects.filter(pk=activation.pk).update(quota_met_at=now, next_wave_at=None)
    # Call-outs to them still queued are not needed any more.
    messaging.deliveries_cancel_items(
        ref_type="activation", ref_id=activation.pk, ref_items=pending, reason="quota met"
    )
    _send_to(activation, pending, _translated(lambda: enough_text(activation.code)), "enough")


OUTCOMES = ("coming", "declined", "arrived", "left", "enough", "closed", "same")


@transaction.atomic
def respond(
    *,
    response: Response,
    answer: str,
    via: str,
    eta_minutes: int | None = None,
    role: str = "",
    fresh: bool = False,
) -> str:
    """Record an answer: coming (with minutes away), declined, arrived, left. Returns the outcome:
    one of OUTCOMES ("enough" when a quota call-out is already full, "closed" when it is over).

    ``fresh``: the caller loaded the response (with its activation) in this transaction."""
    if fresh and connection.vendor == "sqlite":
        # SQLite: the caller's write transaction already serializes every reply.
        activation = response.activation
    else:
        # Replies to one call-out are counted one at a time (the row lock on PostgreSQL), so a
        # quota is never overshot.
        activation = Activation.objects.select_for_update().get(pk=response.activation_id)
        response = Response.objects.get(pk=response.pk)
    now = timezone.now()
    if activation.status != Activation.Status.OPEN or activation.expires_at <= now:
        return "closed"
    update: dict[str, Any] = {"via": via[:8], "answered_at": now}
    S = Response.Status
    if answer == "coming":
        if response.status == S.ARRIVED:
            return "same"
        if response.status == S.ENOUGH and activation.quota_met_at is not None:
            return "enough"
        filled = _filled(activation)
        if response.status == S.COMING and response.role:
            filled[response.role] = filled.get(response.role, 1) - 1
        chosen = _role_for(activation, role or response.role, filled)
        if chosen is None:
            Response.objects.filter(pk=response.pk).update(status=S.ENOUGH, **update)
            return "enough"
        minutes = min(max(eta_minutes or 0, 0), MAX_ETA_MINUTES)
        update.update(status=S.COMING, role=chosen, eta=now + timedelta(minutes=minutes))
        Response.objects.filter(pk=response.pk).update(**update)
        filled[chosen] = filled.get(chosen, 0) + 1
        if activation.quota and all(filled.get(k, 0) >= n for k, n in activation.roles.items()):
            _quota_met(activation)
        return "coming"
    if answer == "declined":
        if response.status == S.DECLINED:
            return "same"
        Response.objects.filter(pk=response.pk).update(status=S.DECLINED, eta=None, **update)
        return "declined"
    if answer == "arrived":
        if response.status == S.ARRIVED:
            return "same"
        role = response.role or _role_for(activation, role, _filled(activation)) or ""
        Response.objects.filter(pk=response.pk).update(
            status=S.ARRIVED, arrived_at=now, left_at=None, role=role, **update
        )
        return "arrived"
    if answer == "left":
        if response.status == S.LEFT:
            return "same"
        Response.objects.filter(pk=response.pk).update(status=S.LEFT, left_at=now, **update)
        return "left"
    raise ValueError(answer)


_LOOKUP = """
SELECT r.id FROM mobilize_response r JOIN mobilize_activation a ON a.id = r.activation_id
WHERE r.phone_index = %s AND a.expires_at > %s AND r.status <> 'waiting'
  AND a.status IN ('open', 'stood_down', 'cancelled')
ORDER BY CASE WHEN a.code = %s THEN 0 ELSE 1 END, CASE WHEN a.status = 'open' THEN 0 ELSE 1 END,
  r.asked_at DESC, r.id DESC
LIMIT 1
"""


def response_for_phone(index: str, code: str = "") -> Response | None:
    """The call-out a reply from this phone answers: the one whose code it names, else the
    most recent one still open that asked them, else the most recent closed one (to say so).

    One indexed query by the phone's blind index: this runs for every reply of a surge."""
    if not index:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            _LOOKUP, [index, connection.ops.adapt_datetimefield_value(timezone.now()), code]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Response.objects.select_related("activation").get(pk=row[0])
