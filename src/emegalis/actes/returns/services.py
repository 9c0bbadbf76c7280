"""Writes of the incoming returns: an archive from the ministry (HTTP or mailbox) is checked,
kept, and each message applied through a table from message type to handler."""

from __future__ import annotations

import hashlib
import io
import tempfile
from typing import BinaryIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import IntegrityError
from django.db import transaction as db_transaction

from emegalis.actes import conf
from emegalis.actes import protocol as p
from emegalis.actes.acts.services import announce_classification, import_classification
from emegalis.actes.courriers import notifications
from emegalis.actes.documents import store_bytes
from emegalis.actes.lifecycle import enqueue_send, new_transaction, set_status
from emegalis.actes.models import (
    Direction,
    Document,
    Envelope,
    IncomingArchive,
    IncomingMessage,
    Transaction,
)
from emegalis.actes.outgoing import message_name
from emegalis.actes.protocol import TransactionType
from emegalis.core import clock, journal
from emegalis.core.stored_files import deleted_on_failure
from emegalis.organisations.models import Organisation, User

S = p.ActStatus


def receive_return_archive(
    *, source: bytes | BinaryIO, channel: str, name: str = ""
) -> IncomingArchive:
    """Store a return archive as received, then apply each of its messages (idempotent: the
    same archive twice is recognised by its SHA-256). An unsafe or unreadable archive is kept
    with its error and refused (ValidationError)."""
    with tempfile.TemporaryFile() as spool:
        digest = hashlib.sha256()
        size = 0
        cap = conf.archive_max_bytes()
        if isinstance(source, bytes | bytearray):
            source_stream: BinaryIO = io.BytesIO(bytes(source))
        else:
            source_stream = source
        while chunk := source_stream.read(1024 * 1024):
            size += len(chunk)
            if size > cap:
                raise ValidationError(
                    f"Archive refusée : elle dépasse {cap / 1024 / 1024:.0f} Mio."
                )
            digest.update(chunk)
            spool.write(chunk)
        sha = digest.hexdigest()
        existing = IncomingArchive.objects.filter(sha256=sha).first()
        if existing is not None:
            return existing
        spool.seek(0)
        try:
            archive = p.read_archive(spool, conf.archive_limits())
            envelope = archive.envelope
            messages = archive.messages
        except p.ProtocolError as exc:
            error = exc.message
            archive = None
        else:
            error = ""
        spool.seek(0)
        try:
            with deleted_on_failure() as saved, db_transaction.atomic():
                record = IncomingArchive(
                    channel=channel,
                    received_at=clock.now(),
                    name=name[:255],
                    sha256=sha,
                    size=size,
                    error=error,
                )
                record.archive.save(f"retour-{sha[:16]}.tar.gz", File(spool), save=False)
                saved.add(record.archive.name)
                record.save()
                journal.record(
                    action="actes.return.received",
                    target=record,
                    payload={"channel": channel, "name": name[:200], "sha256": sha, "error": error},
                )
                if archive is not None:
                    _apply_archive(record, archive, envelope, messages, saved)
        except IntegrityError:
            return IncomingArchive.objects.get(sha256=sha)
    if error:
        raise ValidationError(f"Archive de retour refusée : {error}")
    return record


def _organisation_for_siren(siren: str) -> Organisation | None:
    return Organisation.objects.filter(siren=siren).order_by("pk").first()


def _apply_archive(record, archive, envelope, messages, saved) -> None:
    if isinstance(envelope, p.AnomalieEnveloppe):
        _apply_anomalie_enveloppe(record, archive, envelope)
        return
    siren = getattr(envelope, "destinataire_siren", "")
    organisation = _organisation_for_siren(siren) if siren else None
    for msg_name, message in messages.items():
        xml = archive.files[msg_name]
        incoming = IncomingMessage(
            archive=record, name=msg_name, code=message.CODE, xml=xml, organisation=organisation
        )
        if organisation is None:
            incoming.outcome = IncomingMessage.Outcome.UNEXPECTED
            incoming.detail = f"Aucune collectivité de SIREN {siren or '?'} sur la plateforme."
        else:
            try:
                with db_transaction.atomic():
                    outcome, detail, tx = _apply_message(organisation, message, xml, archive, saved)
            except (ValidationError, p.ProtocolError) as exc:
                outcome, tx = IncomingMessage.Outcome.UNEXPECTED, None
                detail = getattr(exc, "message", None) or "; ".join(exc.messages)
            incoming.outcome, incoming.detail, incoming.transaction = outcome, detail, tx
        incoming.save()
        if incoming.outcome == IncomingMessage.Outcome.UNEXPECTED:
            journal.record(
                action="actes.return.unexpected",
                organisation=organisation,
                target=incoming,
                payload={"code": message.CODE, "detail": incoming.detail[:500]},
            )


def _apply_anomalie_enveloppe(record, archive, anomaly: p.AnomalieEnveloppe) -> None:
    names = list(anomaly.enveloppe_recue.formulaires)
    env_file = archive.envelope_name.removeprefix("ANO_")
    env = Envelope.objects.filter(name=env_file).select_related("transaction").first()
    siren = anomaly.enveloppe_recue.emetteur.siren
    organisation = _organisation_for_siren(siren)
    incoming = IncomingMessage(
        archive=record,
        name=archive.envelope_name,
        code="",
        xml=archive.files[archive.envelope_name],
        organisation=organisation,
    )
    reason = f"Anomalie d'enveloppe {anomaly.nature} : {anomaly.nature_libelle}" + (
        f" — {anomaly.detail}" if anomaly.detail else ""
    )
    targets = []
    if env is not None:
        targets = [env.transaction]
    elif organisation is not None:
        targets = [
            e.transaction
            for e in Envelope.objects.filter(siren=siren).select_related("transaction")
            if any(n == message_name(e.transaction, e.message_code) for n in names)
        ]
    applied = None
    for tx in targets:
        tx = Transaction.objects.select_for_update().get(pk=tx.pk)
        if _mark_error(tx, reason):
            applied = tx
    incoming.transaction = applied or (targets[0] if targets else None)
    if applied:
        incoming.outcome, incoming.detail = IncomingMessage.Outcome.APPLIED, reason
    else:
        incoming.outcome = IncomingMessage.Outcome.UNEXPECTED
        incoming.detail = f"{reason} (aucune transaction transmise ne correspond)"
    incoming.save()


def _delivered(tx: Transaction) -> bool:
    """The ministry has the archive: status 3, or 2 with its POST under way (a fast AR can
    arrive before the HTTP answer) — then 2 → 3 is recorded first."""
    if tx.status == S.TRANSMIS:
        return True
    if (
        tx.status == S.EN_ATTENTE_TRANSMISSION
        and tx.envelopes.filter(post_started_at__isnull=False).exists()
    ):
        set_status(tx, S.TRANSMIS, message="Remise constatée par le retour de la préfecture")
        return True
    return False


def _mark_error(tx: Transaction, reason: str) -> bool:
    if not _delivered(tx):
        return False
    tx.error_message = reason
    tx.save(update_fields=["error_message", "updated_at"])
    set_status(tx, S.ERREUR, message=reason)
    return True


def _find_acte(organisation, *, numero: str = "", id_acte: str = "") -> Transaction | None:
    qs = Transaction.objects.select_for_update().filter(
        organisation=organisation, type=TransactionType.TRANSMISSION_ACTE
    )
    if id_acte:
        return qs.filter(id_acte=id_acte).first()
    return qs.filter(numero_interne=numero).first()


# --- Applying one incoming message: a handler per message type ------------------------------
# Each handler answers (outcome, detail, transaction); nothing is applied twice (DUPLICATE)
# and a message that does not fit what the platform sent is kept aside (UNEXPECTED).

Out = IncomingMessage.Outcome


def _acte_answered(organisation, message):
    """The act an ARActe or AnomalieActe answers, with the classification date it announces."""
    announce_classification(organisation, message.classification_date_en_cours)
    return _find_acte(organisation, numero=message.acte_recu.numero_interne)


def _apply_ar_acte(organisation, message: p.ARActe, xml: bytes, archive, saved):
    acte = _acte_answered(organisation, message)
    if acte is None:
        return Out.UNEXPECTED, f"Acte n° {message.acte_recu.numero_interne} inconnu.", None
    if acte.status == S.ACQUITTEMENT_RECU and acte.id_acte == message.id_acte:
        return Out.DUPLICATE, "Accusé de réception déjà reçu.", acte
    if not _delivered(acte):
        return (
            Out.UNEXPECTED,
            f"Accusé de réception pour un acte au statut « {acte.status_enum.label} » "
            "(attendu : « Transmis ») : non appliqué.",
            acte,
        )
    acte.id_acte = message.id_acte
    acte.date_reception = message.date_reception
    acte.ar_xml = xml
    acte.save(update_fields=["id_acte", "date_reception", "ar_xml", "updated_at"])
    set_status(acte, S.ACQUITTEMENT_RECU, message=f"Accusé de réception : {acte.id_acte}")
    return Out.APPLIED, acte.id_acte, acte


def _apply_anomalie_acte(organisation, message: p.AnomalieActe, xml: bytes, archive, saved):
    acte = _acte_answered(organisation, message)
    if acte is None:
        return Out.UNEXPECTED, f"Acte n° {message.acte_recu.numero_interne} inconnu.", None
    reason = f"Anomalie {message.nature} : {message.nature_libelle}" + (
        f" — {message.detail}" if message.detail else ""
    )
    if acte.status == S.ERREUR and acte.error_message == reason:
        return Out.DUPLICATE, "Anomalie déjà reçue.", acte
    if not _mark_error(acte, reason):
        return (
            Out.UNEXPECTED,
            f"{reason} — reçue alors que l'acte est au statut « {acte.status_enum.label} » "
            "(attendu : « Transmis ») : mise de côté, statut inchangé.",
            acte,
        )
    return Out.APPLIED, reason, acte


def _apply_letter(organisation, message: p.CourrierPref | p.DefereTA, xml: bytes, archive, saved):
    """A letter of the prefecture (2-1, 3-1, 4-1, 5-1): kept with its files, the agents told,
    acknowledged automatically when the protocol says so."""
    code = message.CODE
    acte = _find_acte(organisation, id_acte=message.id_acte)
    if acte is None:
        return Out.UNEXPECTED, f"Acte {message.id_acte} inconnu.", None
    date_courrier = getattr(message, "date_courrier_pref", None) or message.date_depot
    duplicate = acte.linked.filter(
        message_code=code, direction=Direction.IN, date_courrier_pref=date_courrier
    ).first()
    if duplicate is not None:
        return Out.DUPLICATE, "Courrier déjà reçu.", duplicate
    effect = p.INCOMING_EFFECTS[code]
    details = (
        getattr(message, "description_pieces", None)
        or getattr(message, "motif", None)
        or getattr(message, "nature_illegalite", None)
        or ""
    )
    letter = new_transaction(
        organisation=organisation,
        type=effect.transaction_type,
        status=effect.new_status,
        direction=Direction.IN,
        message_code=code,
        acte=acte,
        date_courrier_pref=date_courrier,
        details=details,
        message=p.MESSAGE_TYPES_BY_CODE[code].label,
    )
    files = [message.document] if hasattr(message, "document") else []
    files += list(getattr(message, "pieces_jointes", ()))
    for rank, f in enumerate(files, start=1):
        data = archive.files.get(f.nom_fichier)
        if data is not None:
            store_bytes(
                tx=letter,
                data=data,
                name=f.nom_fichier,
                kind=Document.Kind.LETTER,
                rank=rank,
                saved=saved,
            )
    journal.record(
        action="actes.letter.received",
        organisation=organisation,
        target=letter,
        payload={"code": code, "id_acte": acte.id_acte},
    )
    db_transaction.on_commit(lambda: notifications.notify_incoming_letter(letter))
    if effect.automatic_reply:
        enqueue_send(letter)
    return Out.APPLIED, p.MESSAGE_TYPES_BY_CODE[code].label, letter


def _apply_reply_ar(organisation, message: p.CourrierPref, xml: bytes, archive, saved):
    """The prefecture acknowledges the authority's reply to a letter (3-5, 4-5)."""
    acte = _find_acte(organisation, id_acte=message.id_acte)
    reply = (
        Transaction.objects.select_for_update()
        .filter(
            acte=acte,
            reply_to__date_courrier_pref=message.date_courrier_pref,
            type=p.MESSAGE_TYPES_BY_CODE[message.CODE].family,
            direction=Direction.OUT,
        )
        .exclude(status=S.ERREUR)
        .order_by("-pk")
        .first()
        if acte
        else None
    )
    if reply is None:
        return Out.UNEXPECTED, "Aucune réponse transmise ne correspond à cet accusé.", acte
    if reply.status == S.ACQUITTEMENT_RECU:
        return Out.DUPLICATE, "Accusé de réception déjà reçu.", reply
    if not _delivered(reply):
        return Out.UNEXPECTED, "Accusé reçu pour une réponse non transmise.", reply
    reply.date_reception = message.date_reception
    reply.save(update_fields=["date_reception", "updated_at"])
    set_status(reply, S.ACQUITTEMENT_RECU, message="Réponse acquittée par la préfecture")
    return Out.APPLIED, "Réponse acquittée", reply


def _apply_ar_annulation(organisation, message: p.ARAnnulation, xml: bytes, archive, saved):
    acte = _find_acte(organisation, id_acte=message.id_acte)
    cancel = (
        acte.linked.select_for_update()
        .filter(type=TransactionType.ANNULATION)
        .order_by("-pk")
        .first()
        if acte
        else None
    )
    if cancel is None:
        return Out.UNEXPECTED, "Aucune annulation ne correspond.", acte
    if cancel.status == S.ACQUITTEMENT_RECU and acte.status == S.ANNULE:
        return Out.DUPLICATE, "Annulation déjà acquittée.", cancel
    if not _delivered(cancel) or acte.status != S.ACQUITTEMENT_RECU:
        return Out.UNEXPECTED, "Accusé d'annulation inattendu.", cancel
    cancel.date_reception = message.date_reception
    cancel.save(update_fields=["date_reception", "updated_at"])
    set_status(cancel, S.ACQUITTEMENT_RECU, message="Annulation acquittée")
    set_status(acte, S.ANNULE, message="Transmission annulée (ARAnnulation)")
    return Out.APPLIED, "Annulation acquittée", acte


def _classification_request(organisation):
    return (
        Transaction.objects.select_for_update()
        .filter(
            organisation=organisation,
            type=TransactionType.DEMANDE_CLASSIFICATION,
            status__in=[S.EN_ATTENTE_TRANSMISSION, S.TRANSMIS],
        )
        .order_by("-pk")
        .first()
    )


def _answer_classification_request(organisation, detail: str):
    request = _classification_request(organisation)
    if request is not None and _delivered(request):
        set_status(request, S.ACQUITTEMENT_RECU, message=detail)
    return Out.APPLIED, detail, request


def _apply_classification(organisation, message: p.RetourClassification, xml: bytes, *_):
    version = import_classification(organisation=organisation, xml=xml)
    announce_classification(organisation, version.date_classification)
    detail = f"Classification du {version.date_classification:%d/%m/%Y} enregistrée"
    return _answer_classification_request(organisation, detail)


def _apply_classification_unchanged(
    organisation, message: p.ReponseClassificationSansChangement, xml: bytes, *_
):
    announce_classification(organisation, message.date_classification)
    detail = f"Classification inchangée ({message.date_classification:%d/%m/%Y})"
    return _answer_classification_request(organisation, detail)


# What the platform does with each message the prefecture may send to an authority.
HANDLERS = {
    p.ARActe: _apply_ar_acte,
    p.AnomalieActe: _apply_anomalie_acte,
    p.CourrierSimple: _apply_letter,
    p.DemandePieceComplementaire: _apply_letter,
    p.LettreObservations: _apply_letter,
    p.DefereTA: _apply_letter,
    p.ARPieceComplementaire: _apply_reply_ar,
    p.ARReponseRejetLettreObservations: _apply_reply_ar,
    p.ARAnnulation: _apply_ar_annulation,
    p.RetourClassification: _apply_classification,
    p.ReponseClassificationSansChangement: _apply_classification_unchanged,
}


def _apply_message(organisation, message, xml: bytes, archive, saved):
    handler = HANDLERS.get(type(message))
    if handler is None:
        return Out.UNEXPECTED, f"Message {message.CODE} non attendu par une collectivité.", None
    return handler(organisation, message, xml, archive, saved)


def resolve_incoming(*, actor: User, message: IncomingMessage) -> IncomingMessage:
    """An operator closes an unexpected message after reading it (it is never applied)."""
    if not actor.is_platform_staff:
        raise PermissionDenied("Réservé aux gestionnaires de la plateforme.")
    with db_transaction.atomic():
        message.resolved_at = clock.now()
        message.resolved_by = actor
        message.save(update_fields=["resolved_at", "resolved_by"])
        journal.record(action="actes.return.resolved", actor=actor, target=message)
    return message
