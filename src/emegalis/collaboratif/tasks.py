"""Background work of the collaboratif service, enqueued by `run_periodic`."""

from django.tasks import task

from .discussions import services as discussions


@task()
def send_digests() -> int:
    """The daily digest of the discussions, to the members who chose it."""
    return discussions.send_digests()
