"""Background work of the shared kernel (django.tasks)."""

from django.tasks import task

from . import anchoring, throttle


@task()
def anchor_journal() -> int | None:
    """Timestamp the journal's head (scheduled every hour by run_periodic)."""
    anchor = anchoring.anchor_head()
    return anchor.entry_id if anchor else None


@task()
def purge_rate_counters() -> int:
    """Delete expired throttling counters (scheduled every hour by run_periodic)."""
    return throttle.purge_expired()
