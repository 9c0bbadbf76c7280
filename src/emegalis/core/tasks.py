"""Background work of the shared kernel (django.tasks)."""

import logging

from django.tasks import task

from . import anchoring, throttle

logger = logging.getLogger(__name__)


@task()
def anchor_journal() -> int | None:
    """Timestamp the journal's head (scheduled every minute by run_periodic): nothing is asked
    of the timestamping authority when no entry was added since the last anchor."""
    anchor = anchoring.anchor_head()
    return anchor.entry_id if anchor else None


@task()
def anchor_journal_after_event() -> int | None:
    """Timestamp the head right after a legally significant event (queued by journal.record
    for settings.JOURNAL_ANCHOR_AFTER_ACTIONS). An authority that does not answer is logged:
    the minute job tries again."""
    try:
        anchor = anchoring.anchor_head()
    except Exception:
        logger.exception("Journal not anchored after an event: the minute job will retry")
        return None
    return anchor.entry_id if anchor else None


@task()
def purge_rate_counters() -> int:
    """Delete expired throttling counters (scheduled every hour by run_periodic)."""
    return throttle.purge_expired()
