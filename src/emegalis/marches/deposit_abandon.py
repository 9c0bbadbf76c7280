"""A company abandons one of its deposits still in progress.

Decision: an abandoned deposit is deleted — its rows (the pli and its files, with the data
keys still sealed for the upload) and, once the transaction commits, its stored chunks. An
incomplete deposit was never counted nor shown as received, so nothing of the procedure is
lost, and a deleted deposit cannot be resumed, completed or shown by mistake later. What
remains is the journal entry (who, when, which files with their size and bytes received).
A complete deposit (reçu, hors délai, remplacé) can never be abandoned.
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from emegalis.core import journal
from emegalis.organisations.models import User

from . import selectors
from .models import Pli, PliStatus

logger = logging.getLogger(__name__)


def _delete_chunks(prefixes: list[str]) -> None:
    for prefix in prefixes:
        try:
            _, names = default_storage.listdir(prefix)
        except FileNotFoundError:
            continue
        for name in names:
            default_storage.delete(f"{prefix}/{name}")


def abandon_deposit(*, actor: User, pli_pk: int) -> dict:
    """Delete the actor's company's deposit ``pli_pk`` if it is still « en cours ».

    Returns what was abandoned (consultation pk, pli pk, file names). PermissionDenied when
    the deposit is not the company's (or does not exist), ValidationError when it is complete.
    """
    company = selectors.company_of(actor)
    if company is None:
        raise PermissionDenied("Seul le représentant d'une entreprise peut abandonner un dépôt.")
    with transaction.atomic():
        pli = (
            Pli.objects.select_for_update(of=("self",))
            .select_related("consultation")
            .filter(pk=pli_pk, company=company)
            .first()
        )
        if pli is None:
            raise PermissionDenied("Dépôt introuvable.")
        if pli.status != PliStatus.EN_COURS:
            raise ValidationError(
                "Ce dépôt est terminé : un pli reçu ne peut pas être abandonné.", code="done"
            )
        # Wait for any upload request still writing to one of its files.
        files = list(pli.files.select_for_update().order_by("pk"))
        prefixes = [f.storage_prefix for f in files]
        abandoned = {
            "consultation": pli.consultation_id,
            "pli": pli.pk,
            "files": [f.name for f in files],
        }
        payload = {
            "consultation": pli.consultation.reference,
            "started_at": pli.started_at,
            "files": [{"name": f.name, "size": f.size, "received": f.received} for f in files],
        }
        pli.files.all().delete()
        pli.delete()
        # Storage is not transactional: the chunks go only once the deletion is committed.
        transaction.on_commit(lambda: _delete_chunks(prefixes))
        # Last: the journal's lock is held until commit.
        journal.record(
            action="marches.pli.abandoned",
            actor=actor,
            organisation=company,
            object_type="pli",
            object_id=abandoned["pli"],
            payload=payload,
        )
    return abandoned
