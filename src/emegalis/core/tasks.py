"""Background work of the shared kernel (django.tasks)."""

import logging

from django.conf import settings
from django.tasks import task

from . import anchoring, durable, throttle

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


@task()
def remove_orphan_temporaries() -> int:
    """Delete the temporaries of writes killed before their rename, under MEDIA_ROOT (hourly;
    local storage only: on S3 an upload completes or does not exist)."""
    removed = durable.remove_orphan_temporaries(
        settings.MEDIA_ROOT, older_than=durable.ORPHAN_AGE_SECONDS
    )
    for path in removed:
        logger.warning("Fichier temporaire orphelin supprimé : %s", path)
    return len(removed)


@task()
def verify_journal_in_background(verification_pk: int) -> str:
    """The operator's « vérifier la chaîne »: the full check, its outcome on the request."""
    from .journal_checks import run_verification

    return run_verification(verification_pk).status
