"""A responder's reply: matched to the call-out, counted against its roles' quotas."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from vecinos.core import sql
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


# The reply path runs for every reply of a surge, inside the message's write transaction (on
# SQLite: while holding the one write lock). Its statements are written out once here rather
# than built by the ORM per reply: building them was most of a reply's CPU time.
_RESPONSE = Response._meta.db_table
_ACTIVATION = Activation._meta.db_table
_FILLED = (
    f"SELECT role, COUNT(*) FROM {_RESPONSE} WHERE activation_id = %s "  # noqa: S608 - our tables
    f"AND status IN ({', '.join(['%s'] * len(SAYS_YES))}) GROUP BY role"
)
_FRESH = (
    f"SELECT r.status, r.role, a.status, a.expires_at, a.quota_met_at, a.roles, a.quota "  # noqa: S608
    f"FROM {_RESPONSE} r JOIN {_ACTIVATION} a ON a.id = r.activation_id WHERE r.id = %s"
)


def _filled(activation: Activation) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(_FILLED, [activation.pk, *SAYS_YES])
        return dict(cursor.fetchall())


def _datetime(value: Any) -> datetime | None:
    """A datetime column read by plain SQL (SQLite returns it naive or as text, in UTC)."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    if parsed is not None and timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def response_refresh(response: Response) -> bool:
    """Re-read, in the caller's transaction, what an answer decides on (the response's status
    and role, its call-out's state) into ``response`` and ``response.activation``, loaded
    earlier outside it. One statement; False when the response is gone."""
    with connection.cursor() as cursor:
        cursor.execute(_FRESH, [response.pk])
        row = cursor.fetchone()
    if row is None:
        return False
    activation = response.activation
    response.status, response.role, activation.status = row[0], row[1], row[2]
    activation.expires_at = _datetime(row[3])  # type: ignore[assignment]
    activation.quota_met_at = _datetime(row[4])
    activation.roles = json.loads(row[5]) if isinstance(row[5], str) else row[5]
    activation.quota = bool(row[6])
    return True


def _set(response: Response, **fields: Any) -> None:
    """UPDATE one response's columns (plain SQL, values prepared by the model's fields)."""
    names, values = [], []
    for name, value in fields.items():
        field = Response._meta.get_field(name)
        names.append(f"{field.column} = %s")  # type: ignore[union-attr]
        values.append(field.get_db_prep_save(value, connection))  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_RESPONSE} SET {', '.join(names)} WHERE id = %s",  # noqa: S608
            [*values, response.pk],
        )


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


def _locked(response: Response) -> Response:
    """The response re-read with its call-out, the call-out's row locked (PostgreSQL) until
    the transaction ends. Plain SQL (core.sql): on PostgreSQL this runs for every reply."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    found = sql.rows(Activation, _ACTIVATION_ROW + lock, [response.activation_id])
    fresh = sql.rows(Response, _RESPONSE_ROW, [response.pk])
    if not found or not fresh:
        raise Response.DoesNotExist
    fresh[0].activation = found[0]
    return fresh[0]


@transaction.atomic(savepoint=False)
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

    ``fresh``: the caller loaded the response (with its activation) in this transaction, or
    refreshed it there (``response_refresh``). No savepoint of its own: when it fails, the
    caller's transaction (or savepoint) is rolled back whole."""
    if fresh and connection.vendor == "sqlite":
        # SQLite: the caller's write transaction already serializes every reply.
        activation = response.activation
    else:
        # Replies to one call-out are counted one at a time (the row lock on PostgreSQL), so a
        # quota is never overshot.
        response = _locked(response)
        activation = response.activation
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
            _set(response, status=S.ENOUGH, **update)
            return "enough"
        # "VOY" alone gives no time: none is made up (the board said "in 0 minutes").
        eta = (
            None
            if eta_minutes is None
            else now + timedelta(minutes=min(max(eta_minutes, 0), MAX_ETA_MINUTES))
        )
        update.update(status=S.COMING, role=chosen, eta=eta)
        _set(response, **update)
        filled[chosen] = filled.get(chosen, 0) + 1
        if activation.quota and all(filled.get(k, 0) >= n for k, n in activation.roles.items()):
            _quota_met(activation)
        return "coming"
    if answer == "declined":
        if response.status == S.DECLINED:
            return "same"
        _set(response, status=S.DECLINED, eta=None, **update)
        return "declined"
    if answer == "arrived":
        if response.status == S.ARRIVED:
            return "same"
        role = response.role or _role_for(activation, role, _filled(activation)) or ""
        _set(response, status=S.ARRIVED, arrived_at=now, left_at=None, role=role, **update)
        return "arrived"
    if answer == "left":
        if response.status == S.LEFT:
            return "same"
        _set(response, status=S.LEFT, left_at=now, **update)
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
_LOOKUP_ROW = _LOOKUP.replace("SELECT r.id", "SELECT r.*", 1)
_ACTIVATION_ROW = f"SELECT * FROM {_ACTIVATION} WHERE id = %s"  # noqa: S608 - our table
_RESPONSE_ROW = f"SELECT * FROM {_RESPONSE} WHERE id = %s"  # noqa: S608 - our table


def response_for_phone(index: str, code: str = "") -> Response | None:
    """The call-out a reply from this phone answers: the one whose code it names, else the
    most recent one still open that asked them, else the most recent closed one (to say so).

    One indexed query by the phone's blind index, then its call-out by id: this runs for every
    reply of a surge (plain SQL through core.sql: the ORM's select_related cost more than both
    queries).
    """
    if not index:
        return None
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    found = sql.rows(Response, _LOOKUP_ROW, [index, now, code])
    if not found:
        return None
    response = found[0]
    activations = sql.rows(Activation, _ACTIVATION_ROW, [response.activation_id])
    if not activations:
        return None
    response.activation = activations[0]
    return response
