"""The recipient selection's SQL: who is in an area, active, not opted out and not held back
by the hourly throttle, in one statement that returns ids (and language, member or public)
and never builds a model instance.

The area is a union of parts (subqueries of subscriber ids): the point areas touching a circle
(H3 res-7 cells wholly inside it contribute every row without arithmetic; rows in cells on its
rim are checked in SQL with a flat-earth distance, exact enough below 50 km), zone
subscriptions, and id lists worked out in Python (a drawn polygon, zones' cells). The same SQL
runs on SQLite and PostgreSQL: plain arithmetic, IN lists, and one array or JSON parameter.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterable
from datetime import timedelta
from itertools import repeat

import h3
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from vecinos.alerts.models import (
    TIER_ORDER,
    Alert,
    AlertRecipient,
    OptOut,
    Subscriber,
    SubscriptionArea,
    Tier,
)
from vecinos.alerts.rules import THROTTLE_EXEMPT, THROTTLE_PER_HOUR
from vecinos.core import geo
from vecinos.core.bulk import pg_id_array

# One part of the area: SQL selecting subscriber ids, and its parameters.
Part = tuple[str, list]

CELL7_EDGE_M = h3.average_hexagon_edge_length(geo.COARSE_RESOLUTION, unit="m")
# Distance from a res-7 cell's center to its farthest corner (edge length ~1.22 km).
CELL7_REACH_M = 1.1 * CELL7_EDGE_M


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


def largest_area_radius() -> int:
    """The widest point area anyone has (indexed: one index probe), 0 when there is none."""
    return SubscriptionArea.objects.aggregate(m=Max("radius_m"))["m"] or 0


def circle_cells(lat: float, lng: float, radius_m: float, reach_m: float) -> tuple[list, list]:
    """Res-7 cells wholly inside the circle, and the cells on its rim that a point area of
    radius ``reach_m`` or less in them could touch."""
    center = h3.latlng_to_cell(lat, lng, geo.COARSE_RESOLUTION)
    outer = radius_m + reach_m + CELL7_REACH_M
    k = max(1, math.ceil(outer / (CELL7_EDGE_M * 1.5)) + 1)
    inner: list[str] = []
    rim: list[str] = []
    for cell in h3.grid_disk(center, k):
        c_lat, c_lng = h3.cell_to_latlng(cell)
        d = geo.haversine_m(lat, lng, c_lat, c_lng)
        if d + CELL7_REACH_M <= radius_m:
            inner.append(cell)
        elif d - CELL7_REACH_M <= radius_m + reach_m:
            rim.append(cell)
    return inner, rim


def circle_parts(lat: float, lng: float, radius_m: float) -> list[Part]:
    """Subscriber ids (any status) with a point area touching the circle."""
    reach = largest_area_radius()
    inner, rim = circle_cells(lat, lng, radius_m, reach)
    area_t = _table(SubscriptionArea)
    parts: list[Part] = []
    for start in range(0, len(inner), 500):
        chunk = inner[start : start + 500]
        parts.append(
            (
                f"SELECT subscriber_id AS sid FROM {area_t} "  # noqa: S608
                f"WHERE cell7 IN ({_marks(len(chunk))})",
                chunk,
            )
        )
    # Flat-earth metres per degree here; compared squared (no square root in SQLite).
    ky = math.radians(1) * geo.EARTH_RADIUS_M
    kx = ky * math.cos(math.radians(lat))
    for start in range(0, len(rim), 500):
        chunk = rim[start : start + 500]
        parts.append(
            (
                f"SELECT subscriber_id AS sid FROM {area_t} WHERE cell7 IN ({_marks(len(chunk))}) "  # noqa: S608
                "AND ((lng - %s) * %s) * ((lng - %s) * %s) + ((lat - %s) * %s) * ((lat - %s) * %s)"
                # Cast: PostgreSQL reads a bare 19500.0 as numeric, and numeric arithmetic on
                # every rim row cost a twentieth of the whole selection.
                " <= (CAST(%s AS DOUBLE PRECISION) + COALESCE(radius_m, 0))"
                " * (CAST(%s AS DOUBLE PRECISION) + COALESCE(radius_m, 0))",
                [*chunk, lng, kx, lng, kx, lat, ky, lat, ky, float(radius_m), float(radius_m)],
            )
        )
    return parts


def zone_part(zone_ids: list[int]) -> Part | None:
    if not zone_ids:
        return None
    area_t = _table(SubscriptionArea)
    marks = _marks(len(zone_ids))
    return (f"SELECT subscriber_id AS sid FROM {area_t} WHERE zone_id IN ({marks})", list(zone_ids))  # noqa: S608


def ids_part(ids: Iterable[int]) -> Part | None:
    """A list of ids worked out in Python, as one parameter (JSON on SQLite, an array on
    PostgreSQL): tens of thousands of placeholders cost more than the query."""
    ids = [int(i) for i in ids]
    if not ids:
        return None
    if connection.vendor == "postgresql":
        return ("SELECT unnest(%s::bigint[]) AS sid", [pg_id_array(ids)])
    return ("SELECT value AS sid FROM json_each(%s)", [json.dumps(ids)])


def _union(parts: list[Part]) -> tuple[str, list]:
    sql = " UNION ALL ".join(p[0] for p in parts)
    return sql, [v for p in parts for v in p[1]]


def _ids_agg(column: str) -> str:
    """An aggregate giving a group's ids in one value (an array on PostgreSQL, a JSON array
    on SQLite): one row per group instead of one per person, which is most of the time the
    driver spends on a big list. JSON, not a comma-separated text: json.loads reads fifty
    thousand numbers in half the time of split and int."""
    if connection.vendor == "postgresql":
        return f"array_agg({column})"
    return f"json_group_array({column})"


def _ids_of(value: str | list[int] | None) -> list[int]:
    if not value:
        return []
    return json.loads(value) if isinstance(value, str) else value


def _not_active_sql() -> tuple[str, list]:
    # Named statuses, not "not active": the status index then answers without a table scan.
    others = [s for s in Subscriber.Status.values if s != Subscriber.Status.ACTIVE]
    sql = f"SELECT id FROM {_table(Subscriber)} WHERE status IN ({_marks(len(others))})"  # noqa: S608
    return sql, others


def active_ids(parts: list[Part]) -> set[int]:
    """Active subscribers among the union of the parts (one statement)."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return set()
    area_sql, params = _union(parts)
    not_active, others = _not_active_sql()
    sql = f"SELECT {_ids_agg('sid')} FROM ({area_sql}) u WHERE sid NOT IN ({not_active})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *others])
        row = cursor.fetchone()
    return set(_ids_of(row[0] if row else None))


def throttled_alert_ids(kind: str) -> list[int] | None:
    """The alerts that count towards the hourly throttle, or None when nobody can be over it
    (fewer such alerts in the hour than the limit: the usual case, and no recipient scan)."""
    if kind in THROTTLE_EXEMPT:
        return None
    since = timezone.now() - timedelta(hours=1)
    ids = list(
        Alert.objects.filter(sent_at__gte=since)
        .exclude(kind__in=THROTTLE_EXEMPT)
        .values_list("pk", flat=True)
    )
    return ids if len(ids) >= THROTTLE_PER_HOUR else None


class Target(tuple):
    """(subscriber id, tier, language), built straight from a row (a tuple subclass: no
    Python-level constructor for fifty thousand of them)."""

    __slots__ = ()

    @property
    def subscriber_id(self) -> int:
        return self[0]

    @property
    def tier(self) -> str:
        return self[1]

    @property
    def language(self) -> str:
        return self[2]


def tier_order(tiers: Iterable[str]) -> list[str]:
    """The tiers asked for, inner first (plain strings, as a row would carry them)."""
    wanted = set(tiers)
    return [str(tier) for tier in TIER_ORDER if tier in wanted]


def eligible_sql(
    parts: list[Part | None],
    *,
    kind: str,
    tiers: Iterable[str],
    internal: Iterable[int] = (),
    responders: Iterable[int] = (),
) -> tuple[str, list] | None:
    """The statement behind ``eligible`` (None when there is no area or no tier at all)."""
    usable = [p for p in parts if p is not None]
    order = tier_order(tiers)
    if not usable or not order:
        return None
    area_sql, area_params = _union(usable)
    params: list = []
    # The tier, inner first: the role lists, then member or public (the area brings those).
    case = "CASE"
    for tier, ids in ((Tier.INTERNAL, internal), (Tier.RESPONDERS, responders)):
        ids_of = ids_part(ids)
        if ids_of is not None:
            case += f" WHEN s.id IN ({ids_of[0]}) THEN %s"
            params += [*ids_of[1], tier]
    case += " WHEN s.member_id IS NULL THEN %s ELSE %s END"
    params += [Tier.PUBLIC, Tier.MEMBERS]
    sub_t, opt_t, rec_t = _table(Subscriber), _table(OptOut), _table(AlertRecipient)
    if connection.vendor == "postgresql":
        # PostgreSQL guesses 200 distinct ids for an IN over the union, whatever their
        # number, and then probes the primary key once per id (51,557 probes: 120 ms); a
        # join lets it hash the table. Someone with two areas in it comes twice: ``eligible``
        # keeps the first. SQLite does better with IN (its ids come sorted, without repeats).
        source = f"{sub_t} s JOIN ({area_sql}) a ON s.id = a.sid WHERE s.status || '' = %s"
    else:
        # "+s.status": look each id up by primary key; SQLite would otherwise probe the
        # status index and then the table, a third slower (unary plus keeps the index out
        # at less cost than "|| ''", which builds a string per row).
        source = f"{sub_t} s WHERE s.id IN ({area_sql}) AND +s.status = %s"
    sql = (
        f"SELECT s.id, {case} AS tier, s.language FROM {source}"  # noqa: S608
        f" AND s.phone_index NOT IN (SELECT o.phone_index FROM {opt_t} o)"
    )
    params += [*area_params, Subscriber.Status.ACTIVE]
    counted = throttled_alert_ids(kind)
    if counted:
        sql += (
            f" AND s.id NOT IN (SELECT r.subscriber_id FROM {rec_t} r "  # noqa: S608
            f"WHERE r.alert_id IN ({_marks(len(counted))}) "
            "GROUP BY r.subscriber_id HAVING COUNT(*) >= %s)"
        )
        params += [*counted, THROTTLE_PER_HOUR]
    # One row per language, one id list per tier asked for (inner first); the tier picks the
    # list (FILTER), so no sort by tier, and one row per person is never sent to Python.
    lists = ", ".join(f"{_ids_agg('id')} FILTER (WHERE tier = %s)" for _ in order)
    sql = f"SELECT language, {lists} FROM ({sql}) e GROUP BY language"  # noqa: S608
    return sql, [*order, *params]


def eligible(
    parts: list[Part | None],
    *,
    kind: str,
    tiers: Iterable[str],
    internal: Iterable[int] = (),
    responders: Iterable[int] = (),
) -> list[Target]:
    """The active subscribers in the union of the parts (and the role lists), with their tier
    (the inner one for someone in several) and language, less anyone who sent STOP (by blind
    index) and anyone the hourly throttle holds back; inner tiers first."""
    order = tier_order(tiers)
    statement = eligible_sql(
        parts, kind=kind, tiers=order, internal=internal, responders=responders
    )
    if statement is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        groups = sorted(cursor.fetchall())
    # Tens of thousands of small tuples at once: the cyclic collector would otherwise walk
    # the whole heap several times over them (measured: half the Python time). Nothing here
    # makes a reference cycle.
    collecting = gc.isenabled()
    gc.disable()
    try:
        targets: list[Target] = []
        # On PostgreSQL (a join) someone with two areas in the alert's comes twice; SQLite's
        # IN gives each person once.
        repeats = connection.vendor == "postgresql"
        for column, tier in enumerate(order, start=1):  # inner tiers first
            for group in groups:
                ids: Iterable[int] = _ids_of(group[column])
                if repeats:
                    ids = dict.fromkeys(ids)  # once each, in order
                targets += map(Target, zip(ids, repeat(tier), repeat(group[0])))
        return targets
    finally:
        if collecting:
            gc.enable()
