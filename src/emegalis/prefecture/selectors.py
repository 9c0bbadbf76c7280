"""Reads of the prefecture counterpart, scoped to the agent's prefecture: what its département
sent, the replies and cancellations awaiting acknowledgement. Each getter raises Http404 for
an object of another département."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from emegalis.organisations.models import Organisation

from .models import Cancellation, ReceivedAct, ReceivedFile, Reply


def received_acts(prefecture: Organisation, limit: int = 200) -> QuerySet[ReceivedAct]:
    return ReceivedAct.objects.filter(departement=prefecture.departement).order_by("-pk")[:limit]


def pending_replies(prefecture: Organisation) -> QuerySet[Reply]:
    return Reply.objects.filter(
        letter__act__departement=prefecture.departement, acknowledged_at__isnull=True
    ).select_related("letter__act")


def pending_cancellations(prefecture: Organisation) -> QuerySet[Cancellation]:
    return Cancellation.objects.filter(
        act__departement=prefecture.departement, acknowledged_at__isnull=True
    ).select_related("act")


def get_act(prefecture: Organisation, pk: int) -> ReceivedAct:
    return get_object_or_404(ReceivedAct, pk=pk, departement=prefecture.departement)


def get_reply(prefecture: Organisation, pk: int) -> Reply:
    return get_object_or_404(Reply, pk=pk, letter__act__departement=prefecture.departement)


def get_cancellation(prefecture: Organisation, pk: int) -> Cancellation:
    return get_object_or_404(Cancellation, pk=pk, act__departement=prefecture.departement)


def get_received_file(act: ReceivedAct, pk: int) -> ReceivedFile:
    """A file of the act itself or of a reply to one of its letters."""
    found = act.files.filter(pk=pk).first()
    return found or get_object_or_404(ReceivedFile, pk=pk, reply__letter__act=act)
