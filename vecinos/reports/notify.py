"""Dispatchers who notice: new reports are announced beyond the open console.

The console itself beeps and counts new reports in the tab title (static/js/console_notify.js)
and sends a heartbeat every minute (``console_heartbeat``). ``dispatchers_notify`` runs a few
seconds after a report commits (at most one run queued per process every
``KICK_SECONDS``, so a surge costs nothing per report) and every minute: once per burst it
pushes to the on-duty dispatchers who allowed notifications and, when no dispatcher is on duty
or none has had the console open for ``WATCH_SECONDS``, texts the on-duty dispatchers (or the
coalition coordinators when nobody is on duty). All of it goes through messaging deliveries.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext, override

from vecinos.messaging import selectors as messaging_selectors
from vecinos.messaging.services import DeliverySpec, contact_point, deliveries_enqueue
from vecinos.network.models import Member, Membership, Role
from vecinos.reports.models import ConsolePresence, DispatcherPage, Report, ReportStatus
from vecinos.reports.selectors import on_duty_ids

WATCH_SECONDS = 3 * 60  # a console not heard from for this long is not being watched
BURST_SECONDS = 5 * 60  # one notice per burst of reports
KICK_SECONDS = 15

_last_kick = 0.0
_kick_lock = threading.Lock()


def console_heartbeat(*, member: Member) -> None:
    ConsolePresence.objects.update_or_create(member=member, defaults={"seen_at": timezone.now()})


def console_watched(now=None) -> bool:
    now = now or timezone.now()
    return ConsolePresence.objects.filter(
        seen_at__gte=now - timedelta(seconds=WATCH_SECONDS),
        member_id__in=Membership.objects.filter(
            role__in=[Role.DISPATCHER, Role.COALITION_COORDINATOR]
        ).values("member_id"),
    ).exists()


def kick_after_commit() -> None:
    """Called when a report is saved: queue one notify run on commit, not one per report."""
    global _last_kick
    mono = time.monotonic()
    with _kick_lock:
        if mono - _last_kick < KICK_SECONDS:
            return
        _last_kick = mono

    def enqueue() -> None:
        from vecinos.reports.tasks import notify_dispatchers

        notify_dispatchers.enqueue()

    transaction.on_commit(enqueue)


def _text(count: int) -> str:
    return ngettext(
        "Vecinos: %(count)s new report waits in the dispatcher console: %(url)s",
        "Vecinos: %(count)s new reports wait in the dispatcher console: %(url)s",
        count,
    ) % {"count": count, "url": f"{settings.PUBLIC_URL}/console/"}


@transaction.atomic
def dispatchers_notify() -> dict[str, int]:
    now = timezone.now()
    last = DispatcherPage.objects.select_for_update().order_by("-id").first()
    if last is not None and now - last.created_at < timedelta(seconds=BURST_SECONDS):
        return {"reports": 0, "sms": 0, "push": 0}
    upto = last.report_id_upto if last else 0
    new = Report.objects.filter(pk__gt=upto, status=ReportStatus.NEW)
    if last is None:
        new = new.filter(created_at__gte=now - timedelta(seconds=BURST_SECONDS))
    ids = list(new.values_list("pk", flat=True)[:1000])
    if not ids:
        return {"reports": 0, "sms": 0, "push": 0}
    count, top = len(ids), max(ids)
    on_duty = on_duty_ids("dispatcher")
    page = DispatcherPage.objects.create(report_id_upto=top, reports=count)
    specs = []
    expires = now + timedelta(hours=1)
    # Web Push to the on-duty dispatchers who allowed it.
    for contact in messaging_selectors.push_contacts_of(on_duty):
        with override(contact.language if contact.language in ("en", "es") else "es"):
            body = _text(count)
        specs.append(
            DeliverySpec(
                purpose="console_new",
                ref_type="dispatcher_page",
                ref_id=page.pk,
                contact=contact,
                subject=gettext("New reports"),
                body=body,
                language=contact.language,
                key=f"console_new:{page.pk}:{contact.pk}",
                expires_at=expires,
            )
        )
    page.push = len(specs)
    if not on_duty or not console_watched(now):
        if on_duty:
            people = list(Member.objects.filter(pk__in=on_duty, is_active=True))
        else:
            people = list(
                Member.objects.filter(
                    is_active=True,
                    memberships__role=Role.COALITION_COORDINATOR,
                ).distinct()
            )
        for member in people:
            if not member.phone:
                continue
            language = (
                member.preferred_language if member.preferred_language in ("en", "es") else "es"
            )
            with override(language):
                body = _text(count)
            specs.append(
                DeliverySpec(
                    purpose="console_new",
                    ref_type="dispatcher_page",
                    ref_id=page.pk,
                    contact=contact_point(
                        channel="sms", address=member.phone, member=member, language=language
                    ),
                    body=body,
                    language=language,
                    key=f"console_new:{page.pk}:sms:{member.pk}",
                    expires_at=expires,
                )
            )
            page.sms += 1
    page.save(update_fields=["push", "sms"])
    deliveries_enqueue(specs)
    return {"reports": count, "sms": page.sms, "push": page.push}
