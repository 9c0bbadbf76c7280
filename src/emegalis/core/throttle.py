"""Counting actions per key in fixed time windows, shared by every web node.

Password reset e-mails (per account, per address) and API key failures (per address) are
limited here; login failures are django-axes' job (organisations/login_throttle.py).

The counters are rows of `RateCounter` rather than entries of Django's cache: the database is
the one store every node already shares (the default cache is per process), the increment is
one conditional UPDATE (`count < limit`), so concurrent requests can never get more than the
limit between them, and nothing has to be created beside the migrations. Windows are fixed
(aligned on multiples of their length since the epoch): at a window's edge a client may get
up to twice the limit in a short time, which is acceptable for these limits.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import F

from . import clock
from .models import RateCounter

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Counters older than this are purged (purge_expired, run by run_periodic).
RETENTION = timedelta(days=1)


def key_for(kind: str, value: str) -> str:
    """A counter key that does not store the value itself (e-mail addresses, IP addresses)."""
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()
    return f"{kind}:{digest}"


def _window_start(window: timedelta) -> datetime:
    elapsed = clock.now() - _EPOCH
    return _EPOCH + (elapsed // window) * window


def _ensure(key: str, start: datetime) -> None:
    RateCounter.objects.bulk_create(
        [RateCounter(key=key, window_start=start, count=0)], ignore_conflicts=True
    )


def hit(key: str, *, limit: int, window: timedelta) -> bool:
    """Count one action under `key` if fewer than `limit` were counted in this window.

    True: counted, go ahead. False: the limit is reached, nothing is counted."""
    start = _window_start(window)
    with transaction.atomic():
        _ensure(key, start)
        updated = RateCounter.objects.filter(key=key, window_start=start, count__lt=limit).update(
            count=F("count") + 1
        )
    return updated == 1


def record(key: str, *, window: timedelta) -> None:
    """Count one action (a failure) under `key`, whatever the count already is."""
    start = _window_start(window)
    with transaction.atomic():
        _ensure(key, start)
        RateCounter.objects.filter(key=key, window_start=start).update(count=F("count") + 1)


def reached(key: str, *, limit: int, window: timedelta) -> bool:
    """Whether `limit` actions were already counted under `key` in this window."""
    return RateCounter.objects.filter(
        key=key, window_start=_window_start(window), count__gte=limit
    ).exists()


def purge_expired() -> int:
    """Delete the counters of windows that started more than a day ago."""
    deleted, _ = RateCounter.objects.filter(window_start__lt=clock.now() - RETENTION).delete()
    return deleted
