"""Writes about the prefecture's letters: the authority's reply (or refusal), marking a letter
read."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction as db_transaction

from emegalis.actes import conf
from emegalis.actes import protocol as p
from emegalis.actes.access import require_agent
from emegalis.actes.acts.services import current_classification
from emegalis.actes.documents import Upload, check_file, store_document
from emegalis.actes.lifecycle import enqueue_send, new_transaction
from emegalis.actes.models import (
    Direction,
    Document,
    Transaction,
)
from emegalis.actes.outgoing import outgoing_message
from emegalis.core import clock, journal
from emegalis.core.stored_files import deleted_on_failure
from emegalis.organisations.models import User

S = p.ActStatus


# Replies the authority may send to a letter, by letter type and S²LOW's ``type_envoie``
# (4 = send / answer, 3 = refuse / reject), brief §8.
REPLY_CODES = {(3, 4): "3-4", (3, 3): "3-3", (4, 4): "4-4", (4, 3): "4-3", (2, 4): "2-2"}


def reply_refusal(letter: Transaction, *, send: bool = True) -> str:
    """Why this prefecture letter cannot be answered now ("" when it can; ``send``: answer or
    send, else refuse or reject). Asked by the act page to offer the reply form."""
    if letter.direction != Direction.IN or (letter.type, 4 if send else 3) not in REPLY_CODES:
        return "Ce document de la préfecture n'appelle pas de réponse."
    if letter.status not in (S.DOCUMENT_RECU, S.ACQUITTEMENT_ENVOYE, S.DOCUMENT_RECU_SANS_AR):
        return "Ce courrier ne peut plus recevoir de réponse."
    if letter.replies.exclude(status=S.ERREUR).exists():
        return "Une réponse a déjà été envoyée à ce courrier."
    return ""


def reply_to_letter(
    *, actor: User, letter: Transaction, send: bool, documents: list[Upload]
) -> Transaction:
    """Answer a prefecture letter: 3-4/3-3 to a demande de pièces, 4-4/4-3 to a lettre
    d'observations, 2-2 to a courrier simple (``send``: answer/send, else refuse/reject)."""
    require_agent(actor, letter.organisation)
    refusal = reply_refusal(letter, send=send)
    if refusal:
        raise ValidationError(refusal)
    code = REPLY_CODES[(letter.type, 4 if send else 3)]
    if not documents:
        raise ValidationError({"documents": ["Joignez au moins un document."]})
    if code != "3-4" and len(documents) > 1:
        raise ValidationError({"documents": ["Cette réponse ne comporte qu'un document."]})
    acte = letter.acte
    nature = acte.nature
    classification = (
        (acte.classification or current_classification(acte.organisation)).parsed()
        if acte.classification or current_classification(acte.organisation)
        else None
    )
    for i, upload in enumerate(documents, start=1):
        if not upload.typologie:
            upload.typologie = p.NATURES[nature].default_typology
        try:
            check_file(upload, label=f"Le document {i}", allowed=("pdf", "xml", "jpg", "png"))
            if classification is not None:
                classification.check_typology(nature, upload.typologie)
        except ValidationError as exc:
            raise ValidationError({"documents": exc.messages}) from None
        except p.ClassificationError as exc:
            raise ValidationError({"documents": [exc.message]}) from None
    try:
        with deleted_on_failure() as saved, db_transaction.atomic():
            letter = Transaction.objects.select_for_update().get(pk=letter.pk)
            refusal = reply_refusal(letter, send=send)
            if refusal:  # answered meanwhile: checked again under the lock
                raise ValidationError(refusal)
            tx = new_transaction(
                organisation=letter.organisation,
                type=letter.type,
                status=S.POSTE,
                message_code=code,
                acte=acte,
                reply_to=letter,
                created_by=actor,
                date_courrier_pref=letter.date_courrier_pref,
                message=p.MESSAGE_TYPES_BY_CODE[code].label,
            )
            stem = p.TransactionStem.for_acte(acte.id_acte)
            for i, upload in enumerate(documents, start=1):
                store_document(
                    tx=tx,
                    upload=upload,
                    kind=Document.Kind.PIECE,
                    rank=i,
                    wire_name=stem.document_name(code, i, upload.extension, upload.typologie),
                    saved=saved,
                )
            p.build(outgoing_message(tx), schema=conf.schema())
            journal.record(
                action="actes.letter.replied",
                actor=actor,
                organisation=tx.organisation,
                target=tx,
                payload={"code": code, "letter": letter.pk},
            )
            enqueue_send(tx)
    except p.ProtocolError as exc:
        raise ValidationError(exc.message) from None
    return tx


def mark_read(*, actor: User, tx: Transaction) -> Transaction:
    require_agent(actor, tx.organisation)
    if tx.direction != Direction.IN:
        raise ValidationError("Seuls les documents reçus de la préfecture se marquent comme lus.")
    if tx.read_at is None:
        with db_transaction.atomic():
            tx.read_at = clock.now()
            tx.save(update_fields=["read_at", "updated_at"])
            journal.record(
                action="actes.document.read", actor=actor, organisation=tx.organisation, target=tx
            )
    return tx
