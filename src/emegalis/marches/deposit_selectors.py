"""Reads of a company's own deposits (scoped to the user's company): the deposits still in
progress that the deposit page offers to resume or abandon, the finished ones, and the data
the resuming script needs. Another company's deposits are never returned."""

from django.db.models import QuerySet
from django.urls import reverse

from emegalis.core import sealing
from emegalis.organisations.models import User

from . import selectors
from .models import Consultation, Pli, PliStatus


def _own(user: User, consultation: Consultation) -> QuerySet[Pli]:
    company = selectors.company_of(user)
    if company is None:
        return Pli.objects.none()
    return Pli.objects.filter(consultation=consultation, company=company)


def in_progress_deposits(user: User, consultation: Consultation) -> list[Pli]:
    """The company's deposits « en cours » for the consultation, most recent first, with their
    files (name, size, bytes received)."""
    return list(
        _own(user, consultation)
        .filter(status=PliStatus.EN_COURS)
        .prefetch_related("files__lot")
        .order_by("-started_at", "-pk")
    )


def finished_deposits(user: User, consultation: Consultation) -> QuerySet[Pli]:
    """The company's complete deposits (reçu, hors délai, remplacé) for the consultation."""
    return (
        _own(user, consultation)
        .exclude(status=PliStatus.EN_COURS)
        .prefetch_related("files__lot")
        .order_by("-started_at", "-pk")
    )


def company_deposits(user: User, consultation: Consultation) -> QuerySet[Pli]:
    """Every deposit of the company for the consultation, complete or not (API listing)."""
    return _own(user, consultation).prefetch_related("files__lot").order_by("-started_at", "-pk")


def resume_data(plis: list[Pli]) -> list[dict]:
    """What depot.js needs to resume each deposit: its files, their URLs and offsets."""
    return [
        {
            "pli": pli.pk,
            "chunk_size": sealing.CHUNK_SIZE,
            "confirm_url": reverse("marches_pli_confirm", args=[pli.pk]),
            "files": [
                {
                    "id": f.pk,
                    "kind": f.kind,
                    "lot": f.lot.number if f.lot else None,
                    "name": f.name,
                    "size": f.size,
                    "offset": f.received,
                    "url": reverse("marches_pli_file", args=[pli.pk, f.pk]),
                }
                for f in sorted(pli.files.all(), key=lambda f: f.pk)
            ],
        }
        for pli in plis
    ]
