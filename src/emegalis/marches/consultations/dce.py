"""Writes of the DCE: files added to the staged version, removed, restored."""

import hashlib

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction

from emegalis.core import journal
from emegalis.core.stored_files import deleted_on_failure
from emegalis.marches import conf
from emegalis.marches.access import require_buyer
from emegalis.marches.consultations import selectors
from emegalis.marches.consultations.models import (
    Consultation,
    DceFile,
    State,
)
from emegalis.marches.consultations.services import journal_consultation
from emegalis.marches.filenames import clean_filename, clean_folder
from emegalis.organisations.models import User


@transaction.atomic
def add_dce_file(
    *, actor: User, consultation: Consultation, uploaded_file, folder: str = ""
) -> DceFile:
    """Store one DCE file through the default storage, in chunks, with its SHA-256.

    The file is staged: it joins the DCE at the publication, or at the next rectificatif.
    """
    require_buyer(actor, consultation.organisation)
    if consultation.state not in (State.BROUILLON, State.PUBLIEE):
        raise ValidationError(
            "Le DCE d'une consultation clôturée, attribuée, infructueuse ou annulée ne se "
            "modifie plus."
        )
    folder = clean_folder(folder)
    name = clean_filename(getattr(uploaded_file, "name", ""))
    size = uploaded_file.size
    cap = conf.dce_max_bytes()
    if size is None or size > cap:
        raise ValidationError(
            {
                "file": [
                    f"Le fichier dépasse la taille maximale d'un fichier du DCE "
                    f"({conf.human_size(cap)})."
                ]
            }
        )
    if size == 0:
        raise ValidationError({"file": ["Le fichier est vide."]})
    if selectors.staged_dce_files(consultation).filter(folder=folder, name=name).exists() or (
        selectors.current_dce_files(consultation)
        .filter(folder=folder, name=name, pending_removal=False)
        .exists()
    ):
        raise ValidationError(
            {
                "file": [
                    f"Le DCE contient déjà « {name} » dans ce dossier : retirez l'ancien fichier "
                    "d'abord."
                ]
            }
        )
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    dce_file = DceFile(
        consultation=consultation,
        folder=folder,
        name=name,
        size=size,
        sha256=digest.hexdigest(),
        content_type=(getattr(uploaded_file, "content_type", "") or "")[:100],
        uploaded_by=actor,
    )
    with deleted_on_failure() as saved:
        dce_file.file.save(name, File(uploaded_file, name=name), save=False)
        saved.add(dce_file.file.name)
        dce_file.save()
        journal_consultation(
            "marches.dce.file_added",
            consultation,
            actor,
            {"path": dce_file.path, "size": size, "sha256": dce_file.sha256},
        )
    return dce_file


@transaction.atomic
def remove_dce_file(*, actor: User, dce_file: DceFile) -> None:
    """A staged file is deleted; a published one leaves the DCE at the next rectificatif."""
    consultation = dce_file.consultation
    require_buyer(actor, consultation.organisation)
    if dce_file.added_in_id is None:
        name = dce_file.file.name
        dce_file.delete()
        transaction.on_commit(lambda: default_storage.delete(name))
        action = "marches.dce.file_discarded"
    else:
        if consultation.state != State.PUBLIEE:
            raise ValidationError("Ce fichier fait partie du DCE publié.")
        if dce_file.removed_in_id is not None:
            raise ValidationError("Ce fichier ne fait déjà plus partie du DCE.")
        dce_file.pending_removal = True
        dce_file.save(update_fields=["pending_removal"])
        action = "marches.dce.file_removal_planned"
    journal.record(
        action=action,
        actor=actor,
        organisation=consultation.organisation,
        object_type="consultation",
        object_id=consultation.pk,
        payload={"path": dce_file.path},
    )


@transaction.atomic
def cancel_file_removal(*, actor: User, dce_file: DceFile) -> None:
    require_buyer(actor, dce_file.consultation.organisation)
    dce_file.pending_removal = False
    dce_file.save(update_fields=["pending_removal"])
