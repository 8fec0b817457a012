"""Fixed-window rate limits keyed by a rotating hash of the source (never a raw IP or phone).

Shared across processes: Redis INCR at scale, an UPSERT counter table in the embedded default.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection, transaction

from vecinos.core import threadsafe


@threadsafe.cache  # one client per process: see threadsafe
def _redis():
    import redis

    url = settings.REDIS_URL
    assert url  # only used when REDIS_URL is set
    return redis.Redis.from_url(url)


def hit(bucket: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one hit; True while the source is within its limit."""
    window = int(time.time() // window_seconds)
    name = f"rl:{bucket}:{key}:{window}"
    if settings.REDIS_URL:
        pipe = _redis().pipeline()
        pipe.incr(name)
        pipe.expire(name, window_seconds + 5)
        count = pipe.execute()[0]
        return int(count) <= limit
    expires = (window + 1) * window_seconds
    # No savepoint inside a caller's transaction (one statement: it commits or fails whole).
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_ratecounter (name, count, expires) VALUES (%s, 1, %s) "
            "ON CONFLICT (name) DO UPDATE SET count = core_ratecounter.count + 1 "
            "RETURNING count",
            [name, expires],
        )
        count = cursor.fetchone()[0]
    return int(count) <= limit


def peek(bucket: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Without counting: True while the source has hits left in this window."""
    window = int(time.time() // window_seconds)
    name = f"rl:{bucket}:{key}:{window}"
    if settings.REDIS_URL:
        count = _redis().get(name)
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count FROM core_ratecounter WHERE name = %s", [name])
            row = cursor.fetchone()
            count = row[0] if row else 0
    return int(count or 0) < limit


def purge_expired() -> int:
    from vecinos.core.models import RateCounter

    return RateCounter.objects.filter(expires__lt=int(time.time())).delete()[0]
