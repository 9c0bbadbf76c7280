"""Reads of the deposits, scoped to the user: a company's own plis, the buyer's registre des
dépôts."""

from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse

from emegalis.core import sealing
from emegalis.marches import access
from emegalis.marches.access import company_of
from emegalis.marches.consultations.models import (
    Consultation,
)
from emegalis.marches.consultations.selectors import get_buyer_consultation
from emegalis.marches.deposit.models import Pli, PliStatus
from emegalis.organisations.models import User


def registre_depots(user: User, consultation_pk: int) -> tuple[Consultation, QuerySet[Pli]]:
    """The buyer's register of deposits: complete plis only (never the incomplete ones), and
    only what the register shows (company, time, size, file count, status)."""
    consultation = get_buyer_consultation(user, consultation_pk)
    plis = (
        Pli.objects.filter(consultation=consultation)
        .exclude(status=PliStatus.EN_COURS)
        .only(
            "pk",
            "company_label",
            "company_siret",
            "depositor_label",
            "completed_at",
            "total_size",
            "file_count",
            "status",
            "backup_copy_declared",
        )
        .order_by("completed_at", "pk")
    )
    return consultation, plis


def company_plis(user: User, consultation: Consultation) -> QuerySet[Pli]:
    """The deposits of the user's company for a consultation (complete or not)."""
    company = company_of(user)
    if company is None:
        return Pli.objects.none()
    return (
        Pli.objects.filter(consultation=consultation, company=company)
        .prefetch_related("files__lot")
        .order_by("-started_at", "-pk")
    )


def deposits_across_consultations(user: User, company) -> QuerySet[Pli]:
    """Every complete deposit of the company, across consultations, newest first (its home's
    « Mes dépôts »: state, time, receipt)."""
    if company is None or company_of(user, company) != company:
        return Pli.objects.none()
    return (
        Pli.objects.filter(company=company)
        .exclude(status=PliStatus.EN_COURS)
        .select_related("consultation__organisation")
        .order_by("-completed_at", "-pk")
    )


def last_complete_pli(user: User, consultation: Consultation) -> Pli | None:
    """The company's latest complete pli for the consultation, for its notice page."""
    return (
        _own(user, consultation)
        .exclude(status=PliStatus.EN_COURS)
        .order_by("-completed_at", "-pk")
        .first()
    )


def get_company_pli(user: User, pli_pk: int) -> Pli:
    company = company_of(user)
    pli = (
        Pli.objects.select_related("consultation__organisation")
        .filter(pk=pli_pk, company=company)
        .first()
        if company
        else None
    )
    if pli is None:
        raise Http404("Pli introuvable.")
    return pli


def _own(user: User, consultation: Consultation) -> QuerySet[Pli]:
    company = access.company_of(user)
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
