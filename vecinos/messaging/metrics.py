"""What the sender counts for /metrics (issue 15): provider latency and errors, and the outcome
of every delivery a worker finishes with. The counters themselves live in vecinos.core.metrics;
the queue's state is read from the database at scrape time (vecinos.metrics)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from vecinos.core import metrics
from vecinos.transports.base import OutboundMessage, SendResult, TransportError


def timed_send(transport: Any, message: OutboundMessage) -> SendResult:
    """transport.send(message), timed; an error is counted by kind and raised again."""
    started = time.monotonic()
    try:
        result = transport.send(message)
    except Exception as exc:
        metrics.provider_answered(message.channel, started, exc)
        raise
    metrics.provider_answered(message.channel, started)
    return result


async def timed_send_async(transport: Any, message: OutboundMessage, session: Any) -> SendResult:
    """transport.send_async(message, session), timed like timed_send."""
    started = time.monotonic()
    try:
        result = await transport.send_async(message, session)
    except Exception as exc:
        metrics.provider_answered(message.channel, started, exc)
        raise
    metrics.provider_answered(message.channel, started)
    return result


def count_outcomes(outcomes: Iterable[tuple[int, Any]], by_id: dict, now: datetime) -> None:
    """Count the outcomes _record is about to write, by channel, as it classifies them."""
    # worker imports this module: a top-level import of worker would be a cycle.
    from vecinos.messaging.worker import EXPIRED, NOT_SENT, Skip, _gives_up

    tally: Counter[tuple[str, str]] = Counter()
    for pk, outcome in outcomes:
        delivery = by_id[pk]
        if outcome is NOT_SENT:
            what = "released"
        elif isinstance(outcome, Skip):
            what = "expired" if outcome is EXPIRED else "withdrawn"
        elif isinstance(outcome, SendResult):
            what = "delivered" if outcome.status == "delivered" else "sent"
        elif isinstance(outcome, TransportError):
            what = "failed" if _gives_up(delivery, outcome, now) else "retry"
        else:
            what = "other"
        tally[(delivery.channel, what)] += 1
    metrics.delivery_outcomes(tally)
    metrics.flush_provider_latency()  # the latencies of these sends, noted as they came back
