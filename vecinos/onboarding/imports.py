"""Bring a coalition's existing people in: members and subscribers from CSV or XLSX.

Rules (issue 11): phones are normalized (E.164) and matched by their blind index, inside the
file and against the people already here, so nobody is ever doubled; a number on the stop list
is never subscribed; a bad row is reported by its line and the good rows still import; running
the same file again changes nothing. Imported members start at the lowest vetting tier and get
no role above patrol member or responder. Nothing here keeps the file.

Subscribers are written in bulk (50,000 rows in seconds); members, fewer and richer, row by row.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

import phonenumbers
import zipcodes
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vecinos.alerts import services as alerts
from vecinos.alerts.models import OptOut, Subscriber, SubscriptionArea
from vecinos.core import geo, languages
from vecinos.core.audit import audit
from vecinos.core.bulk import insert_rows
from vecinos.core.crypto import encrypt
from vecinos.core.models import AuditEvent
from vecinos.core.tabular import HeaderMap, Table, fold, map_headers
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Channel
from vecinos.network import selectors as network
from vecinos.network.models import (
    LANGUAGE_CHOICES,
    Member,
    Membership,
    Organization,
    Role,
    Tier,
    Zone,
)
from vecinos.network.phones import (
    DEFAULT_REGION,
    InvalidPhone,
    email_index,
    normalize_phone,
    phone_index,
)
from vecinos.onboarding.models import PendingMember

Kind = Literal["members", "subscribers"]

# Header aliases, compared case- and accent-insensitively (core.tabular.fold).
ALIASES: dict[str, tuple[str, ...]] = {
    "phone": (
        "phone number", "mobile", "mobile phone", "cell", "cell phone", "telephone", "tel",
        "can2 phone", "phone 1", "telefono", "numero", "numero de telefono", "celular", "movil",
        "whatsapp",
    ),
    "name": ("full name", "nombre", "nombre completo", "apodo", "nickname"),
    "first_name": ("first", "given name", "primer nombre", "nombre de pila"),
    "last_name": ("last", "surname", "family name", "apellido", "apellidos"),
    "email": ("e mail", "email address", "correo", "correo electronico", "mail"),
    "language": ("lang", "preferred language", "idioma", "lengua", "idioma preferido"),
    "zip": ("zip code", "zipcode", "zip_code", "postal code", "codigo postal", "cp"),
    "zone": ("area", "neighborhood", "neighbourhood", "zona", "barrio", "colonia", "vecindario"),
    "roles": ("role", "rol", "funcion", "funciones"),
    "consent": (
        "opt in", "optin", "consentimiento", "permiso", "how they agreed", "como acepto",
        "autorizacion",
    ),
}  # fmt: skip
FIELDS: dict[str, tuple[str, ...]] = {
    "members": ("phone", "name", "first_name", "last_name", "email", "language", "zip", "zone",
                "roles"),
    "subscribers": ("phone", "email", "language", "zip", "zone", "consent"),
}  # fmt: skip
REQUIRED: dict[str, tuple[str, ...]] = {"members": ("phone",), "subscribers": ("phone", "consent")}

# Nobody is given more than this by a spreadsheet: every other role is granted in the app.
IMPORTABLE_ROLES = {Role.PATROL.value, Role.RESPONDER.value, Role.SUBSCRIBER.value}
ROLE_WORDS = {
    "patrol": Role.PATROL, "patrol member": Role.PATROL, "patrulla": Role.PATROL,
    "patrullero": Role.PATROL, "patrullera": Role.PATROL,
    "responder": Role.RESPONDER, "rapid responder": Role.RESPONDER,
    "legal observer": Role.RESPONDER, "observador legal": Role.RESPONDER,
    "observadora legal": Role.RESPONDER, "respuesta rapida": Role.RESPONDER,
    "subscriber": Role.SUBSCRIBER, "suscriptor": Role.SUBSCRIBER, "suscriptora": Role.SUBSCRIBER,
}  # fmt: skip
# Besides each language's code and its English and native names (from core.languages): what
# a group's spreadsheet may say, folded (no case, accents or hyphens).
LANGUAGE_EXTRA_WORDS = {
    "ingles": "en", "espanol": "es", "castellano": "es", "filipino": "tl", "coreano": "ko",
    "chinese": "zh-hans", "chino": "zh-hans", "zh": "zh-hans", "zh cn": "zh-hans",
    "mandarin": "zh-hans", "simplified chinese": "zh-hans", "chino simplificado": "zh-hans",
    "traditional chinese": "zh-hant", "chino tradicional": "zh-hant", "cantonese": "zh-hant",
    "cantones": "zh-hant", "zh tw": "zh-hant", "zh hk": "zh-hant", "armenio": "hy",
    "vietnamita": "vi", "persian": "fa", "persa": "fa", "ruso": "ru", "arabe": "ar",
    "jemer": "km", "camboyano": "km", "cambodian": "km", "japones": "ja", "zapoteco": "zap",
    "mixteco": "mix", "mixtec": "mix", "kiche": "quc", "quiche": "quc", "qanjobal": "kjb",
    "purepecha": "tsz", "tarasco": "tsz",
}  # fmt: skip
LANGUAGE_WORDS = {
    **{
        word: lang.code
        for lang in languages.LANGUAGES
        for word in (fold(lang.code), fold(lang.english_name), fold(lang.native_name))
        if word
    },
    **LANGUAGE_EXTRA_WORDS,
}
# Names in their own script ("한국어", "日本語", "العربية"), which folding would empty.
LANGUAGE_NATIVE = {
    **{lang.native_name.lower(): lang.code for lang in languages.LANGUAGES},
    "中文": "zh-hans", "汉语": "zh-hans", "漢語": "zh-hant", "粵語": "zh-hant",
}  # fmt: skip
LANGUAGE_CODES = {code for code, _label in LANGUAGE_CHOICES}
ZIP_RADIUS_M = 2000  # as the public subscribe page


@dataclass
class Problem:
    line: int
    outcome: Literal["skipped", "error"]
    reason: str


@dataclass
class ImportResult:
    kind: str
    dry_run: bool
    new: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Discreet (in the app): rows written are only "accepted", whether the person was new,
    # already known (subscribed, a member of another organization) or on the stop list; the
    # true counts go to the audit log.
    discreet: bool = False
    accepted: int = 0
    held: dict[str, int] = field(default_factory=dict)
    # Members imported by an organization's coordinator join by a link texted to them
    # (``onboarding.joining``): the rows waiting, to be texted once the import is written.
    by_link: bool = False
    invited: list[int] = field(default_factory=list)
    # Subscribers imported by an organization's coordinator get alerts once they reply YES to
    # a text (outside probe, session 18: added at once, and with an existing person's new
    # area, the composer's "would reach" count told who was known, their role and language).
    # New numbers wait as pending subscribers; people already here are left as they are.
    by_reply: bool = False
    to_confirm: list[int] = field(default_factory=list)
    actor: Member | None = None

    def skip(self, line: int, reason: str) -> None:
        self.skipped += 1
        self.problems.append(Problem(line, "skipped", reason))

    def error(self, line: int, reason: str) -> None:
        self.errors += 1
        self.problems.append(Problem(line, "error", reason))

    @property
    def summary(self) -> str:
        return (
            f"imported: {self.new} new, {self.updated} updated, {self.skipped} skipped, "
            f"{self.errors} errors"
        )

    def problems_csv(self) -> str:
        """The downloadable report of rejected rows: line, outcome, reason. No personal data:
        the coordinator finds the row in their own file by its line number."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([_("line"), _("outcome"), _("reason")])
        for p in sorted(self.problems, key=lambda p: p.line):
            outcome = _("skipped") if p.outcome == "skipped" else _("error")
            writer.writerow([p.line, outcome, p.reason])
        return out.getvalue()


class ImportRefused(ValueError):
    """The whole file is refused (no phone column, no consent column for subscribers)."""


def headers_for(kind: Kind, table: Table, chosen: Mapping[str, int | None] | None = None):
    mapping = map_headers(table.headers, {f: ALIASES[f] for f in FIELDS[kind]}, chosen)
    missing = [f for f in REQUIRED[kind] if f not in mapping.columns]
    return mapping, missing


def _language(raw: str, default: str) -> str | None:
    """A language as a spreadsheet gives it: a code ("es", "zh-Hant", "es-MX"), or a name in
    English, Spanish or the language itself."""
    raw = raw.strip()
    if not raw:
        return default
    code = raw.lower().replace("_", "-")
    if code in LANGUAGE_CODES:
        return code
    found = LANGUAGE_WORDS.get(fold(raw)) or LANGUAGE_NATIVE.get(raw.lower())
    if found is None and "-" in code:  # a region: "es-MX", "ko-KR"
        found = LANGUAGE_WORDS.get(fold(code.split("-")[0]))
    return found if found in LANGUAGE_CODES else None


class _Places:
    """ZIP centroids and zone names, looked up once per file (zipcodes.matching scans 42,000
    entries on every call; a 50,000-row file would take hours)."""

    def __init__(self) -> None:
        self._zips: dict[str, tuple[float, float]] | None = None
        self._zones = {fold(z.name): z for z in Zone.objects.all()}
        self._zones.update({fold(z.slug): z for z in self._zones.values()})

    def zip(self, raw: str) -> tuple[float, float] | None:
        digits = "".join(c for c in raw if c.isdigit())[:5]
        if len(digits) != 5:
            return None
        if self._zips is None:
            self._zips = {
                z["zip_code"]: (float(z["lat"]), float(z["long"])) for z in zipcodes.list_all()
            }
        return self._zips.get(digits)

    def zone(self, raw: str):
        return self._zones.get(fold(raw))


@dataclass
class _Area:
    zone_id: int | None
    point: tuple[float, float] | None
    label: str

    @property
    def key(self) -> tuple:
        lat, lng = self.point if self.point else (None, None)
        return _area_key(self.zone_id, lat, lng)


@dataclass
class _Row:
    line: int
    e164: str
    index: str
    language: str
    email: str = ""
    consent: str = ""
    name: str = ""
    roles: set[str] = field(default_factory=set)
    areas: list[_Area] = field(default_factory=list)


def _roles(text: str) -> tuple[set[str], str]:
    roles: set[str] = set()
    for word in (w.strip() for w in text.replace(";", ",").split(",")):
        if not word:
            continue
        role = ROLE_WORDS.get(fold(word)) or (fold(word) if fold(word) in Role.values else None)
        if role is None:
            return roles, _("unknown role: %(value)s") % {"value": word[:40]}
        if role not in IMPORTABLE_ROLES:
            return roles, _("the role %(role)s is given in the app, not by import") % {
                "role": Role(role).label
            }
        roles.add(role)
    return roles, ""


# The country code of the coalition's own numbers (messaging.phones.DEFAULT_REGION's).
HOME_PREFIX = f"+{phonenumbers.country_code_for_region(DEFAULT_REGION)}"


def _parse(
    kind: Kind,
    table: Table,
    mapping: HeaderMap,
    places: _Places,
    result: ImportResult,
    default_language: str,
) -> list[_Row]:
    """Validate every row; duplicates inside the file are merged into their first line."""
    rows: dict[str, _Row] = {}
    for line, cells in table.rows:
        get = mapping.get
        raw_phone = get(cells, "phone")
        if not raw_phone:
            result.error(line, _("no phone number"))
            continue
        try:
            e164 = normalize_phone(raw_phone)
        except InvalidPhone:
            result.error(line, _("not a valid phone number"))
            continue
        if (result.by_link or result.by_reply) and not e164.startswith(HOME_PREFIX):
            # Each of these rows is texted in the coalition's name: an organization's file
            # sends no texts abroad (outside probe, session 18: 300 UK numbers, 300 texts).
            result.error(line, _("a number outside the country: people abroad can text JOIN"))
            continue
        language = _language(get(cells, "language"), default_language)
        if language is None:
            value = get(cells, "language")[:40]
            result.error(line, _("unknown language: %(value)s") % {"value": value})
            continue
        email = get(cells, "email")
        if email and ("@" not in email or len(email) > 254 or " " in email):
            result.error(line, _("not a valid email address"))
            continue
        row = _Row(line=line, e164=e164, index=phone_index(e164), language=language, email=email)
        if kind == "subscribers":
            row.consent = get(cells, "consent")
            if not row.consent:
                result.error(line, _("no consent: say how this person agreed to receive alerts"))
                continue
        else:
            # "Nombre" + "Apellido" (or first + last) make one name; a full name stands alone.
            given = get(cells, "name") or get(cells, "first_name")
            row.name = " ".join(p for p in (given, get(cells, "last_name")) if p)
            row.roles, problem = _roles(get(cells, "roles"))
            if problem:
                result.error(line, problem)
                continue
        zip_text, zone_text = get(cells, "zip"), get(cells, "zone")
        if zip_text:
            point = places.zip(zip_text)
            if point is None:
                result.error(line, _("unknown ZIP code: %(value)s") % {"value": zip_text[:12]})
                continue
            row.areas.append(_Area(None, point, zip_text[:5]))
        elif zone_text:
            zone = places.zone(zone_text)
            if zone is None:
                result.error(line, _("unknown zone: %(value)s") % {"value": zone_text[:60]})
                continue
            row.areas.append(_Area(zone.pk, None, zone.name))
        first = rows.get(row.index)
        if first is None:
            rows[row.index] = row
            continue
        # The same phone twice in one file: one person, merged into the first line.
        first.roles |= row.roles
        first.name = first.name or row.name
        first.email = first.email or row.email
        first.areas += [a for a in row.areas if a.key not in {b.key for b in first.areas}]
        # Not imported on its own: its details went into the first line's (outside walk: "merged"
        # under "skipped" read as a contradiction).
        reason = _("same phone as line %(line)s: its details were added to that line")
        result.skip(line, reason % {"line": first.line})
    return list(rows.values())


def _area_key(zone_id: int | None, lat: float | None, lng: float | None) -> tuple:
    if zone_id:
        return ("zone", zone_id)
    return ("point", round(lat or 0, 5), round(lng or 0, 5))


def _existing(model, indexes: list[str], *fields: str) -> dict[str, tuple]:
    found: dict[str, tuple] = {}
    for start in range(0, len(indexes), 5000):
        chunk = indexes[start : start + 5000]
        rows = model.objects.filter(phone_index__in=chunk).values_list("phone_index", *fields)
        found.update((values[0], values[1:]) for values in rows)
    return found


def _opted_out(indexes: list[str]) -> set[str]:
    stopped: set[str] = set()
    for start in range(0, len(indexes), 5000):
        chunk = indexes[start : start + 5000]
        rows = OptOut.objects.filter(phone_index__in=chunk).values_list("phone_index", flat=True)
        stopped.update(rows)
    return stopped


def _discreetly(
    write: Callable[[list[_Row], Organization, ImportResult], None],
    rows: list[_Row],
    organization: Organization,
    result: ImportResult,
) -> None:
    """Write the rows; when the result is discreet, what the writer found about people already
    here (its skips, warnings and counts) is kept for the audit log only, and every row is
    "accepted"."""
    if not result.discreet:
        write(rows, organization, result)
        return
    inner = ImportResult(
        kind=result.kind,
        dry_run=result.dry_run,
        by_link=result.by_link,
        invited=result.invited,
        by_reply=result.by_reply,
        to_confirm=result.to_confirm,
        actor=result.actor,
    )
    write(rows, organization, inner)
    result.accepted += len(rows)
    for name in ("new", "updated", "skipped"):
        result.held[name] = result.held.get(name, 0) + getattr(inner, name)


def _import_subscribers(rows: list[_Row], organization: Organization, result: ImportResult) -> None:
    """Subscribe the rows. In the app (``result.discreet``) an organization's coordinator learns
    nothing about anyone already here: whether a number is subscribed, or texted STOP, is the
    person's own business and the coalition's, not a question any upload may ask (an
    organization could otherwise test a list of numbers against the whole coalition)."""
    _discreetly(_write_subscribers, rows, organization, result)


def _write_subscribers(rows: list[_Row], organization: Organization, result: ImportResult) -> None:
    indexes = [r.index for r in rows]
    stopped = _opted_out(indexes)
    existing = _existing(Subscriber, indexes, "id", "status")
    fresh = [r for r in rows if r.index not in stopped and r.index not in existing]
    for row in rows:
        if row.index in stopped:
            result.skip(row.line, _("on the stop list (texted STOP): never subscribed"))
    # Messaging owns contact points: it creates the missing ones in bulk and hands back ids.
    sms = messaging.contact_points_ensure(
        channel=Channel.SMS, entries=[(r.e164, r.language) for r in fresh]
    )
    voice = messaging.contact_points_ensure(
        channel=Channel.VOICE, entries=[(r.e164, r.language) for r in fresh]
    )
    emails = messaging.contact_points_ensure(
        channel=Channel.EMAIL, entries=[(r.email, r.language) for r in fresh if r.email]
    )
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    # New numbers of an organization's import wait for their YES (ImportResult.by_reply).
    status, confirmed = (
        (Subscriber.Status.PENDING.value, None)
        if result.by_reply
        else (Subscriber.Status.ACTIVE.value, at)
    )
    # Raw multi-row INSERTs (COPY on PostgreSQL): bulk_create spends most of 50,000 rows
    # preparing fields. Personal fields are encrypted here, as the model fields would.
    insert_rows(
        Subscriber._meta.db_table,
        ("phone", "phone_index", "email", "sms_id", "voice_id", "email_contact_id", "language",
         "channels", "status", "confirm_code", "created_at", "confirmed_at", "source", "consent",
         "imported_by_id"),
        [
            (
                encrypt(r.e164), r.index, encrypt(r.email) if r.email else "", sms[r.index],
                voice[r.index], emails.get(email_index(r.email)) if r.email else None, r.language,
                '["sms"]', status, _confirm_code() if result.by_reply else "", at, confirmed,
                "import", encrypt(r.consent[:500]), organization.pk,
            )
            for r in fresh
        ],
        ignore_conflicts=True,  # a person who subscribed meanwhile keeps their own record
    )  # fmt: skip
    ids = {key: values[0] for key, values in _existing(Subscriber, indexes, "id").items()}
    result.new += sum(1 for r in fresh if r.index in ids)
    if result.by_reply:
        # Nobody already here changes: no area added, no sign-up completed.
        ids = {r.index: ids[r.index] for r in fresh if r.index in ids}
        if not result.dry_run:
            result.to_confirm.extend(ids.values())
    # Areas: add what is missing, never twice (running the same file again adds nothing).
    have: set[tuple] = set()
    known = [ids[i] for i in indexes if i in ids]
    for start in range(0, len(known), 5000):
        have.update(
            (sid, *_area_key(z, lat, lng))
            for sid, z, lat, lng in SubscriptionArea.objects.filter(
                subscriber_id__in=known[start : start + 5000]
            ).values_list("subscriber_id", "zone_id", "lat", "lng")
        )
    new_areas: list[SubscriptionArea] = []
    touched: set[str] = set()
    for row in rows:
        if row.index in stopped or row.index not in ids:
            continue
        for area in row.areas:
            key = (ids[row.index], *area.key)
            if key in have:
                continue
            have.add(key)
            new_areas.append(_area_row(ids[row.index], area))
            touched.add(row.index)
    insert_rows(
        SubscriptionArea._meta.db_table,
        ("subscriber_id", "label", "zone_id", "lat", "lng", "radius_m", "cell7", "point"),
        [
            (a.subscriber_id, a.label, a.zone_id, a.lat, a.lng, a.radius_m, a.cell7, "")
            for a in new_areas
        ],
    )
    pending = (
        set()
        if result.by_reply
        else {
            existing[r.index][0]
            for r in rows
            if r.index in existing
            and r.index not in stopped
            and existing[r.index][1] == Subscriber.Status.PENDING
        }
    )
    if pending:
        # They started to subscribe and an organization holds their consent: active now.
        Subscriber.objects.filter(id__in=pending).update(
            status=Subscriber.Status.ACTIVE, confirmed_at=now, confirm_code=""
        )
    for row in rows:
        if row.index in stopped or row.index not in existing:
            continue
        if row.index in touched or existing[row.index][0] in pending:
            result.updated += 1
        else:
            result.skip(row.line, _("already subscribed, nothing to change"))


def _confirm_code() -> str:
    """The code a pending subscriber may reply instead of YES (alerts.inbound.handle_confirm)."""
    return f"{secrets.randbelow(10**6):06d}"


def _area_row(subscriber_id: int, area: _Area, *, member: bool = False) -> SubscriptionArea:
    row = SubscriptionArea(subscriber_id=subscriber_id, label=area.label[:40], zone_id=area.zone_id)
    if area.point and member:
        # A named person's place is kept only as its neighborhood cell (models.place_coarsely).
        row.place_coarsely(area.point[0], area.point[1], ZIP_RADIUS_M)
    elif area.point:
        row.lat, row.lng, row.radius_m = area.point[0], area.point[1], ZIP_RADIUS_M
        row.cell7 = geo.cell_of(area.point[0], area.point[1], geo.COARSE_RESOLUTION)
    return row


def new_member(
    *, name: str, e164: str, index: str, email: str, language: str, password: str = ""
) -> Member:
    """A member brought in from a group's list: a handle that says nothing, no password to
    sign in with, the lowest vetting tier."""
    member = Member(
        username=new_username(),
        password=password or make_password(None),
        full_name=name[:120],
        phone=e164,
        phone_index=index,
        email=email,
        email_index=email_index(email) if email else "",
        preferred_language=language,
        tier=Tier.NEW,
    )
    member.save()
    return member


def new_username() -> str:
    # A handle that says nothing about the person: names stay encrypted.
    while True:
        name = f"imported-{secrets.token_hex(4)}"
        if not Member.objects.filter(username=name).exists():
            return name


def _import_members(rows: list[_Row], organization: Organization, result: ImportResult) -> None:
    """Add the rows to the organization's roster. In the app (``result.discreet``) the page
    says nothing about anyone already here (a member of another organization, a number that
    texted STOP): a dry run would otherwise test numbers against the whole coalition."""
    _discreetly(_write_members, rows, organization, result)


def _write_members(rows: list[_Row], organization: Organization, result: ImportResult) -> None:
    if result.by_link:
        _hold_members(rows, organization, result)
    else:
        _add_members(rows, organization, result)


def _add_members(rows: list[_Row], organization: Organization, result: ImportResult) -> None:
    indexes = [r.index for r in rows]
    stopped = _opted_out(indexes)
    found = {index: values[0] for index, values in _existing(Member, indexes, "id").items()}
    mine = set(
        Membership.objects.filter(
            organization=organization, member_id__in=found.values()
        ).values_list("member__phone_index", flat=True)
    )
    unusable = make_password(None)
    for row in rows:
        if row.index in found and row.index not in mine:
            # Never pull someone from another group into this roster (and its contact details).
            result.skip(
                row.line,
                _("already a member of another organization: invite them from the roster instead"),
            )
            continue
        changed = False
        if row.index not in found:
            member = new_member(
                name=row.name,
                e164=row.e164,
                index=row.index,
                email=row.email,
                language=row.language,
                password=unusable,
            )
            result.new += 1
        else:
            member = Member.objects.get(pk=found[row.index])
            if row.name and not member.full_name:
                member.full_name, changed = row.name[:120], True
            if row.email and not member.email:
                member.email, member.email_index, changed = row.email, email_index(row.email), True
            if changed:
                member.save(update_fields=["full_name", "email", "email_index"])
        roles = row.roles or {Role.SUBSCRIBER.value}
        have = set(
            Membership.objects.filter(member=member, organization=organization).values_list(
                "role", flat=True
            )
        )
        for role in sorted(roles - have):
            Membership.objects.create(member=member, organization=organization, role=role)
            changed = True
        if row.areas and row.index not in stopped:
            changed = _member_areas(member, row.areas) or changed
        if row.index in found:
            if changed:
                result.updated += 1
            else:
                result.skip(row.line, _("already a member, nothing to change"))
    on_stop_list = len(stopped - (set(found) - mine))
    if on_stop_list:
        result.warnings.append(
            ngettext(
                "%(count)s member is on the stop list and was not subscribed to alerts.",
                "%(count)s members are on the stop list and were not subscribed to alerts.",
                on_stop_list,
            )
            % {"count": on_stop_list}
        )


def _hold_members(rows: list[_Row], organization: Organization, result: ImportResult) -> None:
    """An organization's coordinator's import: the organization's own members are updated;
    everyone else waits as a PendingMember until they open the link texted to them. A new
    number, another organization's member and a number that texted STOP are held alike, so
    neither this page nor the roster afterwards tells them apart (outside probe, session 17:
    the roster showed who had not been added). Nobody is pulled in without their word."""
    indexes = [r.index for r in rows]
    found = {index: values[0] for index, values in _existing(Member, indexes, "id").items()}
    mine = set(
        Membership.objects.filter(
            organization=organization, member_id__in=found.values()
        ).values_list("member__phone_index", flat=True)
    )
    ours = [r for r in rows if r.index in mine]
    if ours:
        _add_members(ours, organization, result)
    others = [r.index for r in rows if r.index not in mine]
    waiting = {
        p.phone_index: p
        for p in PendingMember.objects.filter(organization=organization, phone_index__in=others)
    }
    for row in rows:
        if row.index in mine:
            continue
        pending = waiting.get(row.index) or PendingMember(
            organization=organization, phone_index=row.index
        )
        pending.phone, pending.language = row.e164, row.language
        pending.name = row.name[:120] or pending.name
        pending.email = row.email or pending.email
        pending.roles = sorted(set(pending.roles) | (row.roles or {Role.SUBSCRIBER.value}))
        areas = [list(a) for a in pending.areas]
        for area in row.areas:
            lat, lng = area.point if area.point else (None, None)
            if [area.zone_id, lat, lng, area.label] not in areas:
                areas.append([area.zone_id, lat, lng, area.label])
        pending.areas = areas[:10]
        pending.created_by = result.actor
        pending.save()
        result.new += 1
        if not result.dry_run:
            result.invited.append(pending.pk)


def _member_areas(member: Member, areas: list[_Area]) -> bool:
    """A member is reached on their phone, for the places their group gave."""
    sub = alerts.ensure_member_subscriber(member)
    if sub is None:
        return False
    have = set()
    for area in sub.areas.all():
        if area.point:  # a coarsened place: compare the place the person gave
            lat, lng, _radius = (float(v) for v in area.point.split(","))
            have.add(_area_key(None, lat, lng))
        else:
            have.add(_area_key(area.zone_id, area.lat, area.lng))
    added = [_area_row(sub.pk, a, member=True) for a in areas if a.key not in have]
    SubscriptionArea.objects.bulk_create(added)
    return bool(added)


def preview(
    *,
    kind: Kind,
    table: Table,
    organization: Organization,
    chosen: Mapping[str, int | None] | None = None,
    rows: int = 10,
) -> tuple[HeaderMap, list[str], ImportResult]:
    """The mapping, the missing required fields, and the problems of the first rows (read only)."""
    mapping, missing = headers_for(kind, table, chosen)
    result = ImportResult(kind=kind, dry_run=True)
    if not missing:
        head = Table(headers=table.headers, rows=table.rows[:rows])
        _parse(kind, head, mapping, _Places(), result, _default_language(organization))
    return mapping, missing, result


def people_left_today(organization: Organization, *, now=None) -> int:
    """How many more people an organization's coordinators may bring in by import today. Each
    row of such an import is texted in the coalition's name (a link to join, a YES to reply),
    so a file of thousands of numbers would be thousands of texts (outside probe, session 18).
    Counted from the rows its real imports took in the last 24 hours (``import.texted`` in the
    audit log), every row alike, whether the person was new, known or on the stop list: what is
    left tells nothing about who was known."""
    return people_left_today_of([organization.pk], now=now)[organization.pk]


def people_left_today_of(organization_ids: list[int], *, now=None) -> dict[int, int]:
    """``people_left_today`` of several organizations, in one query."""
    since = (now or timezone.now()) - timedelta(days=1)
    used = dict.fromkeys(organization_ids, 0)
    for org_id, detail in AuditEvent.objects.filter(
        organization_id__in=organization_ids, action="import.texted", created_at__gte=since
    ).values_list("organization_id", "detail"):
        if isinstance(detail, dict):
            used[org_id] += int(detail.get("rows") or 0)
    return {org_id: max(0, settings.IMPORT_TEXTS_PER_DAY - n) for org_id, n in used.items()}


def _within_today(
    rows: list[_Row], organization: Organization, result: ImportResult, *, actor, dry_run: bool
) -> list[_Row]:
    """The rows within what the organization may still bring in today, in the file's order;
    the rest are refused line by line (a dry run tells the same as the real run would). A real
    run takes its rows under the organization's lock, so two imports at once share one day."""
    with transaction.atomic():
        if not dry_run:
            Organization.objects.select_for_update().filter(pk=organization.pk).first()
        left = people_left_today(organization)
        taken, over = rows[:left], rows[left:]
        if taken and not dry_run:
            audit("import.texted", actor=actor, organization_id=organization.pk, rows=len(taken))
    for row in over:
        result.error(row.line, _("over today's limit for your organization"))
    if over:
        result.warnings.append(
            ngettext(
                "%(count)s line is over today's limit: an organization can bring in %(limit)s "
                "people a day by import, each texted in the coalition's name. Import it again "
                "tomorrow, or ask a coalition coordinator to import it.",
                "%(count)s lines are over today's limit: an organization can bring in "
                "%(limit)s people a day by import, each texted in the coalition's name. Import "
                "them again tomorrow, or ask a coalition coordinator to import them.",
                len(over),
            )
            % {"count": len(over), "limit": settings.IMPORT_TEXTS_PER_DAY}
        )
    return taken


def _default_language(organization: Organization) -> str:
    language = (organization.languages or ["es"])[0]
    return language if language in LANGUAGE_CODES else "es"


def run_import(
    *,
    kind: Kind,
    table: Table,
    organization: Organization,
    actor: Member | None = None,
    dry_run: bool = False,
    chosen: Mapping[str, int | None] | None = None,
    via: str = "cli",
    progress: Callable[[int, int], None] | None = None,
    chunk: int = 5000,
) -> ImportResult:
    """Import people from a parsed table into an organization.

    Rows are validated and merged by phone first (the whole file); then written in chunks, each
    in its own transaction, so the app can show progress and a failure keeps the chunks before
    it (running the file again completes it: nothing is ever doubled). After the merge no two
    rows share a phone, so the chunks are independent: a dry run rolls each one back and its
    counts are exactly those of the real run.
    """
    mapping, missing = headers_for(kind, table, chosen)
    if missing:
        raise ImportRefused(
            _("The file has no column for: %(fields)s.") % {"fields": ", ".join(missing)}
        )
    result = ImportResult(kind=kind, dry_run=dry_run, discreet=via == "app")
    # In the app, an organization's coordinator's members join by a link texted to them; the
    # coalition's coordinators (who see every roster) and the operator's command add them.
    held = via == "app" and not (actor is not None and network.is_coalition_coordinator(actor))
    result.by_link = kind == "members" and held
    result.by_reply = kind == "subscribers" and held
    result.actor = actor
    if mapping.unknown:
        result.warnings.append(
            _("Columns ignored: %(columns)s") % {"columns": ", ".join(mapping.unknown[:20])}
        )
    rows = _parse(kind, table, mapping, _Places(), result, _default_language(organization))
    if held:
        rows = _within_today(rows, organization, result, actor=actor, dry_run=dry_run)
    write = _import_subscribers if kind == "subscribers" else _import_members
    for start in range(0, len(rows), chunk):
        with transaction.atomic():
            write(rows[start : start + chunk], organization, result)
            if dry_run:
                transaction.set_rollback(True)
        if progress is not None:
            progress(min(start + chunk, len(rows)), len(rows))
    counts = {
        "new": result.new + result.held.get("new", 0),
        "updated": result.updated + result.held.get("updated", 0),
        "skipped": result.skipped + result.held.get("skipped", 0),
    }
    if result.discreet:
        # The organization's log (its coordinators read it) has what the page said: the true
        # counts told which numbers were known, on the stop list or staff, a dry run at a time
        # (outside probe, session 18). They go to an event of no organization, which only the
        # coalition's coordinators see.
        audit(
            f"import.{kind}",
            actor=actor,
            organization_id=organization.pk,
            accepted=sum(counts.values()),
            errors=result.errors,
            dry_run=dry_run,
            via=via,
        )
        audit(
            f"import.{kind}.counts",
            actor=actor,
            organization=organization.pk,
            **counts,
            dry_run=dry_run,
        )
        return result
    audit(
        f"import.{kind}",
        actor=actor,
        organization_id=organization.pk,
        **counts,
        errors=result.errors,
        dry_run=dry_run,
        via=via,
    )
    return result
