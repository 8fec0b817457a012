"""Emergency purge across every app (`vecinos purge --personal-data`).

Each app registers its own step in its AppConfig.ready() (``core.extensions.add_purge_step``):
rows that point at people go first (answers, messages, subscribers), the people last.
Organizations, zones and places stay. Irreversible by design: data not held cannot be handed
over. The steps today, in order: mobilize (10), messaging deliveries (20), transports outbox (25),
alerts (30), messaging contacts (35), reports (40), patrols (50), network: sign-in attempts (80),
members (90), demo passwords file (95).
"""

from __future__ import annotations

from django.db import transaction

from vecinos.core import extensions


@transaction.atomic
def purge_everything_personal() -> dict[str, int]:
    counts: dict[str, int] = {}
    for step in extensions.purge_steps():
        counts.update(step.run() or {})
    return counts
