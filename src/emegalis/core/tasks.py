"""Background work of the shared kernel (django.tasks)."""

from django.tasks import task

from . import anchoring


@task()
def anchor_journal() -> int | None:
    """Timestamp the journal's head (scheduled every hour by run_periodic)."""
    anchor = anchoring.anchor_head()
    return anchor.entry_id if anchor else None
