"""The counterpart pushes its returns in the background, after its own transaction commits."""

from django.tasks import task

from .models import OutgoingReturn
from .services import push


@task()
def push_return(outgoing_id: int) -> bool:
    out = OutgoingReturn.objects.filter(pk=outgoing_id, sent_at__isnull=True).first()
    return push(out) if out is not None else True
