"""The one clock of the platform: every timestamp and deadline comparison reads it."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta

from django.utils import timezone

# Only the demo loader moves it (to seed a consultation whose deadline is already past
# through the real services); production code never sets it.
_offset: ContextVar[timedelta] = ContextVar("clock_offset", default=timedelta(0))


def now() -> datetime:
    """Current server time, timezone-aware, in UTC."""
    return timezone.now() + _offset.get()


def today() -> date:
    """Today's date in the platform's local time zone (Europe/Paris)."""
    return timezone.localdate(now())


@contextmanager
def shifted(by: timedelta) -> Iterator[None]:
    """Run a block as if the clock were `by` away from the real time (demo seeding only)."""
    token = _offset.set(by)
    try:
        yield
    finally:
        _offset.reset(token)
