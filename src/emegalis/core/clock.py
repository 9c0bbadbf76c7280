"""The one clock of the platform: every timestamp and deadline comparison reads it."""

from datetime import date, datetime

from django.utils import timezone


def now() -> datetime:
    """Current server time, timezone-aware, in UTC."""
    return timezone.now()


def today() -> date:
    """Today's date in the platform's local time zone (Europe/Paris)."""
    return timezone.localdate(now())
