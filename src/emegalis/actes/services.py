"""Writes of the contrôle de légalité. Every function is keyword-only and typed, checks who may
act, validates, changes the database and writes the journal in one transaction; archives leave
in a background task once the transaction is committed.

Statuses follow the protocol's state machine (``protocol.TRANSITIONS``, brief §7):

    act (type 1):     1 posté → 2 en attente de transmission → 3 transmis → 4 acquittement reçu
                                 ↘ −1 erreur (local check)      ↘ −1 (AnomalieActe/Enveloppe)
                      4 → 0 annulé (ARAnnulation of its cancel transaction)
    letters 3-1/4-1:  7 document reçu → 8 acquittement envoyé (automatic 3-2/4-2)
    letters 2-1/5-1:  21 document reçu (pas d'AR)
    replies, cancel, classification request: 1 → 2 → 3 → 4 (on their AR)
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import BinaryIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction

from emegalis.adhesions.access import require_service
from emegalis.core import clock, journal
from emegalis.core.pdf import check_pdf
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import Organisation, User
from emegalis.organisations.roles import Role
from emegalis.organisations.selectors import roles_in

from . import conf, notifications
from . import protocol as p
from .models import (
    ActesProfile,
    ClassificationVersion,
    DailyCounter,
    Direction,
    Document,
    Envelope,
    IncomingArchive,
    IncomingMessage,
    StatusChange,
    Transaction,
)
from .transport import TransportError, post_archive

logger = logging.getLogger(__name__)
S = p.ActStatus

# Replies the authority may send to a letter, by letter type and S²LOW's ``type_envoie``
# (4 = send / answer, 3 = refuse / reject), brief §8.
REPLY_CODES = {(3, 4): "3-4", (3, 3): "3-3", (4, 4): "4-4", (4, 3): "4-3", (2, 4): "2-2"}
AUTOMATIC_AR = {"3-1": "3-2", "4-1": "4-2"}
IMAGE_MAGIC = {"jpg": (b"\xff\xd8\xff",), "png": (b"\x89PNG\r\n\x1a\n",)}


# --- Permissions ---------------------------------------------------------------------------


def is_agent(user: User, organisation: Organisation | None) -> bool:
    if organisation is None or not user.is_authenticated:
        return False
    return Role.AGENT_ACTES in roles_in(user, organisation)


def require_agent(user: User, organisation: Organisation | None) -> None:
    """Only the agents actes of an organisation whose convention opens « actes » may act."""
    if organisation is None or not is_agent(user, organisation):
        raise PermissionDenied(
            "Seuls les agents « actes » de la collectivité peuvent transmettre ses actes."
        )
    require_service(organisation, Service.ACTES)


def _protocol_error(exc: p.ProtocolError, default_field: str | None = None) -> ValidationError:
    field_name = exc.field if exc.field in FORM_FIELDS else default_field
    if field_name:
        return ValidationError({field_name: [exc.message]})
    return ValidationError(exc.message)


# Names of the act form's fields, to which codec errors are attached.
FORM_FIELDS = {
    "nature",
    "numero_interne",
    "decision_date",
    "objet",
    "matieres",
    "document",
    "type_acte",
    "annexes",
    "type_pj",
    "signature",
}
_CODEC_FIELD = {"code_nature": "nature", "date_decision": "decision_date"}


# --- Status machine --------------------------------------------------------------------------


def _set_status(
    tx: Transaction, target: int, *, message: str = "", actor: User | None = None
) -> None:
    """Move a transaction to ``target`` if the protocol allows it, with history and journal."""
    try:
        p.check_transition(tx.status, target)
    except p.TransitionError as exc:
        raise ValidationError(exc.message, code="illegal_transition") from None
    previous = tx.status
    tx.status = int(target)
    tx.save(update_fields=["status", "updated_at"])
    StatusChange.objects.create(transaction=tx, status=tx.status, at=clock.now(), message=message)
    journal.record(
        action="actes.transaction.status",
        actor=actor,
        organisation=tx.organisation,
        target=tx,
        payload={"from": previous, "to": tx.status, "message": message[:500]},
    )


def _new_transaction(*, status: int, message: str = "", **fields) -> Transaction:
    if p.ActStatus(status) not in p.INITIAL_STATUSES:
        raise ValidationError(f"Statut initial interdit : {status}.")
    tx = Transaction.objects.create(status=status, **fields)
    StatusChange.objects.create(transaction=tx, status=status, at=clock.now(), message=message)
    return tx


# --- Files -----------------------------------------------------------------------------------


@dataclass
class Upload:
    """A file given by a form or the API, with its typology (CodeTypePJ)."""

    file: BinaryIO
    name: str
    typologie: str = ""
    signature: Upload | None = None

    @classmethod
    def of(cls, uploaded, typologie: str = "", signature=None) -> Upload:
        sig = cls.of(signature, "99_SE") if signature is not None else None
        return cls(
            file=uploaded,
            name=getattr(uploaded, "name", "") or "fichier",
            typologie=typologie,
            signature=sig,
        )

    @property
    def extension(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""


def _size(file: BinaryIO) -> int:
    size = getattr(file, "size", None)
    if size is not None:
        return int(size)
    pos = file.tell()
    end = file.seek(0, 2)
    file.seek(pos)
    return end


def _check_file(upload: Upload, *, label: str, allowed: Iterable[str]) -> None:
    """Refuse empty files, wrong formats, unreadable PDFs, unsafe XML (each message names the
    file and what to do)."""
    ext = upload.extension
    allowed = tuple(allowed)
    if ext not in allowed:
        shown = ", ".join(e.upper() for e in allowed)
        raise ValidationError(
            f"{label} « {upload.name} » : format « .{ext or '?'} » non accepté ({shown})."
        )
    size = _size(upload.file)
    if size == 0:
        raise ValidationError(
            f"{label} « {upload.name} » est vide (0 octet). S'il vient d'un espace en ligne "
            "ou d'une messagerie, téléchargez-le d'abord sur votre poste, puis déposez-le."
        )
    upload.file.seek(0)
    if ext == "pdf":
        try:
            check_pdf(upload.file)
        except ValidationError as exc:
            raise ValidationError(f"{label} « {upload.name} » : {exc.messages[0]}") from None
    elif ext == "xml":
        if size > 50 * 1024 * 1024:
            raise ValidationError(f"{label} « {upload.name} » : XML trop volumineux (50 Mio).")
        try:
            p.parse_xml(upload.file.read())
        except p.ProtocolError as exc:
            raise ValidationError(f"{label} « {upload.name} » : {exc.message}") from None
    elif ext in IMAGE_MAGIC:
        head = upload.file.read(16)
        if not head.startswith(IMAGE_MAGIC[ext]):
            raise ValidationError(
                f"{label} « {upload.name} » n'est pas une image {ext.upper()} valide."
            )
    upload.file.seek(0)


class _SavedFiles:
    """Files written to storage during a service call, deleted again if it fails."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, name: str) -> None:
        self.names.append(name)

    def discard(self) -> None:
        for name in self.names:
            try:
                default_storage.delete(name)
            except OSError:
                logger.warning("Fichier orphelin non supprimé : %s", name)


def _store_document(
    *,
    tx: Transaction,
    upload: Upload,
    kind: str,
    rank: int,
    wire_name: str,
    saved: _SavedFiles,
    signature_of: Document | None = None,
) -> Document:
    digest = hashlib.sha256()
    upload.file.seek(0)
    while chunk := upload.file.read(1024 * 1024):
        digest.update(chunk)
    upload.file.seek(0)
    doc = Document(
        transaction=tx,
        kind=kind,
        rank=rank,
        typologie=upload.typologie,
        original_name=upload.name[:255],
        wire_name=wire_name,
        size=_size(upload.file),
        sha256=digest.hexdigest(),
        content_type=getattr(upload.file, "content_type", "") or "",
        signature_of=signature_of,
    )
    doc.file.save(wire_name or "piece", File(upload.file), save=False)
    saved.add(doc.file.name)
    doc.save()
    return doc


def _store_bytes(
    *, tx: Transaction, data: bytes, name: str, kind: str, rank: int, saved: _SavedFiles
) -> Document:
    doc = Document(
        transaction=tx,
        kind=kind,
        rank=rank,
        original_name=name[:255],
        wire_name=name[:255],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    doc.file.save(name, ContentFile(data), save=False)
    saved.add(doc.file.name)
    doc.save()
    return doc


# --- Classification --------------------------------------------------------------------------


def import_classification(
    *, organisation: Organisation, xml: bytes, actor: User | None = None
) -> ClassificationVersion:
    """Store a ``RetourClassification`` for an authority (idempotent per date)."""
    try:
        classification = p.parse_classification(bytes(xml))
    except p.ProtocolError as exc:
        raise ValidationError(f"Classification illisible : {exc.message}") from None
    with transaction.atomic():
        version, created = ClassificationVersion.objects.get_or_create(
            organisation=organisation,
            date_classification=classification.date_classification,
            defaults={
                "raw_xml": bytes(xml),
                "received_at": clock.now(),
                "matieres_count": sum(classification.count_by_level().values()),
            },
        )
        if created:
            journal.record(
                action="actes.classification.imported",
                actor=actor,
                organisation=organisation,
                target=version,
                payload={"date": classification.date_classification.isoformat()},
            )
    return version


def current_classification(organisation: Organisation) -> ClassificationVersion | None:
    return (
        ClassificationVersion.objects.filter(organisation=organisation)
        .order_by("-date_classification")
        .first()
    )


def classification_problem(organisation: Organisation) -> str | None:
    """Why acts cannot be sent with the classification held, or None if they can."""
    current = current_classification(organisation)
    if current is None:
        return (
            "Votre collectivité n'a pas encore reçu sa classification des actes : demandez-la "
            "à la préfecture (page « Classification ») avant de transmettre."
        )
    profile = ActesProfile.objects.filter(organisation=organisation).first()
    announced = profile.announced_classification_date if profile else None
    if announced and announced > current.date_classification:
        return (
            f"La préfecture utilise une classification du {announced:%d/%m/%Y}, plus récente "
            f"que celle que vous détenez ({current.date_classification:%d/%m/%Y}). Demandez la "
            "mise à jour de la classification, puis recodez l'acte : l'envoi est bloqué d'ici là."
        )
    return None


def _announce_classification(organisation: Organisation, announced: date | None) -> None:
    if announced is None:
        return
    profile, _ = ActesProfile.objects.get_or_create(organisation=organisation)
    if profile.announced_classification_date is None or (
        announced > profile.announced_classification_date
    ):
        profile.announced_classification_date = announced
        profile.save(update_fields=["announced_classification_date"])


def request_classification(*, actor: User | None, organisation: Organisation) -> Transaction:
    """Send a ``DemandeClassification`` (7-1) with the date of the classification held."""
    if actor is not None:
        require_agent(actor, organisation)
    with transaction.atomic():
        profile, _ = ActesProfile.objects.select_for_update().get_or_create(
            organisation=organisation
        )
        now = clock.now()
        wait = conf.classification_request_interval_seconds()
        last = profile.last_classification_request_at
        if last and now - last < timedelta(seconds=wait):
            raise ValidationError(
                "Une demande de classification vient d'être envoyée : patientez une minute "
                "avant d'en envoyer une autre."
            )
        profile.last_classification_request_at = now
        profile.save(update_fields=["last_classification_request_at"])
        current = current_classification(organisation)
        tx = _new_transaction(
            organisation=organisation,
            type=7,
            status=S.POSTE,
            message_code="7-1",
            created_by=actor,
            classification_date=current.date_classification if current else None,
            message="Demande de classification",
        )
        journal.record(
            action="actes.classification.requested",
            actor=actor,
            organisation=organisation,
            target=tx,
        )
        _enqueue_send(tx)
    return tx


# --- Acts ------------------------------------------------------------------------------------


@dataclass
class ActeInput:
    nature: int
    numero_interne: str
    decision_date: date
    objet: str
    matieres: list[int]
    document: Upload
    annexes: list[Upload] = field(default_factory=list)


# The contrôle de légalité of local authorities' acts — transmission to the State's
# representative — dates from the loi n° 82-213 du 2 mars 1982 (droits et libertés des
# communes, des départements et des régions); before it, acts were under the prior
# « tutelle ». No older act is transmitted: an earlier date is a typing mistake (1800 for
# 2018). Acts of the 1980s and 1990s are still accepted: an act never transmitted is not
# enforceable, and a collectivité may transmit it late to regularise it.
DECISION_DATE_FLOOR = date(1982, 3, 2)


def decision_date_problem(value: date) -> str | None:
    """Why an act's decision date is implausible (French), or None: in the future, or
    before the law that created the contrôle de légalité."""
    today = clock.today()
    if value > today:
        return (
            f"La date de la décision ({value:%d/%m/%Y}) ne peut pas être postérieure à "
            f"aujourd'hui ({today:%d/%m/%Y})."
        )
    if value < DECISION_DATE_FLOOR:
        return (
            f"La date de la décision ({value:%d/%m/%Y}) est antérieure au 2 mars 1982 : le "
            "contrôle de légalité des actes des collectivités date de la loi n° 82-213 du "
            "2 mars 1982, aucun acte plus ancien ne lui est transmis. Vérifiez l'année saisie."
        )
    return None


def _collect_acte_errors(
    organisation: Organisation, data: ActeInput
) -> tuple[dict[str, list[str]], ClassificationVersion | None]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    try:
        p.check_numero_interne(data.numero_interne or "")
    except p.NamingError as exc:
        add("numero_interne", exc.message)
    else:
        if Transaction.objects.filter(
            organisation=organisation, type=1, numero_interne=data.numero_interne
        ).exists():
            add(
                "numero_interne",
                f"Le numéro « {data.numero_interne} » a déjà été utilisé par votre collectivité "
                "(même pour un acte en erreur ou annulé, comme l'exige la préfecture) : "
                "choisissez un autre numéro.",
            )
    if data.decision_date is None:
        add("decision_date", "La date de la décision est obligatoire.")
    else:
        problem = decision_date_problem(data.decision_date)
        if problem:
            add("decision_date", problem)
    objet = (data.objet or "").strip()
    if not objet:
        add("objet", "L'objet de l'acte est obligatoire.")
    elif len(objet) > p.constants.OBJET_MAX_LENGTH:
        add("objet", f"L'objet dépasse 500 caractères ({len(objet)}).")
    else:
        bad = p.non_latin1_characters(objet)
        if bad:
            shown = " ".join(f"« {c} »" for c in bad)
            add(
                "objet",
                f"L'objet contient des caractères que la préfecture ne peut pas recevoir : "
                f"{shown}. Proposition : « {p.latin1_safe(objet)} ».",
            )
        elif any(ord(c) < 32 and c not in "\t\n\r" for c in objet):
            add("objet", "L'objet contient des caractères de contrôle.")
    if data.nature not in p.NATURES:
        add("nature", "Choisissez la nature de l'acte.")

    version = current_classification(organisation)
    problem = classification_problem(organisation)
    if problem:
        add("__all__", problem)
    elif version is not None and data.nature in p.NATURES:
        classification = version.parsed()
        try:
            classification.matiere_path(data.matieres or [])
        except p.ClassificationError as exc:
            add("matieres", exc.message)
        try:
            classification.check_typology(data.nature, data.document.typologie, field="type_acte")
        except p.ClassificationError as exc:
            add("type_acte", exc.message)
        for i, annexe in enumerate(data.annexes, start=1):
            try:
                classification.check_typology(data.nature, annexe.typologie, field="type_pj")
            except p.ClassificationError as exc:
                add("type_pj", f"Annexe {i} ({annexe.name}) : {exc.message}")
    try:
        p.check_document_formats(
            code_nature=data.nature or 0,
            matieres=tuple(data.matieres or ()),
            main_extension=data.document.extension,
            annex_extensions=[a.extension for a in data.annexes],
        )
    except p.NamingError as exc:
        add("document" if exc.field == "document" else "annexes", exc.message)
    else:
        try:
            _check_file(data.document, label="Le document principal", allowed=("pdf", "xml"))
        except ValidationError as exc:
            add("document", exc.messages[0])
        for i, annexe in enumerate(data.annexes, start=1):
            try:
                _check_file(annexe, label=f"L'annexe {i}", allowed=("pdf", "xml", "jpg", "png"))
            except ValidationError as exc:
                add("annexes", exc.messages[0])
    for upload in [data.document, *data.annexes]:
        if upload.signature is not None:
            try:
                _check_file(upload.signature, label="Le fichier de signature", allowed=("xml",))
            except ValidationError as exc:
                add("signature", exc.messages[0])
    total = sum(_size(u.file) for u in _all_uploads(data))
    if total > conf.archive_max_bytes():
        add(
            "annexes",
            f"Les fichiers pèsent {total / 1024 / 1024:.1f} Mio, au-delà de la taille maximale "
            f"d'une transmission ({conf.archive_max_bytes() / 1024 / 1024:.0f} Mio).",
        )
    if len(data.annexes) > 200:
        add("annexes", "Trop d'annexes (200 au plus).")
    return errors, version


def _all_uploads(data: ActeInput) -> list[Upload]:
    out = [data.document, *data.annexes]
    out += [u.signature for u in list(out) if u.signature is not None]
    return out


def _stem(tx: Transaction) -> p.TransactionStem:
    org = tx.organisation
    return p.TransactionStem(
        org.departement, org.siren, tx.decision_date, tx.numero_interne, tx.nature
    )


def _acte_message(tx: Transaction) -> p.Acte:
    docs = list(tx.documents.all())
    main = next(d for d in docs if d.kind == Document.Kind.MAIN)
    annexes = [d for d in docs if d.kind in (Document.Kind.ANNEX, Document.Kind.SIGNATURE)]
    return p.Acte(
        date_decision=tx.decision_date,
        numero_interne=tx.numero_interne,
        code_nature=tx.nature,
        matieres=tuple(tx.matieres),
        objet=tx.objet,
        classification_date=tx.classification_date,
        document=p.FichierSigne(nom_fichier=main.wire_name),
        annexes=tuple(p.FichierSigne(nom_fichier=d.wire_name) for d in annexes),
    )


def create_acte(
    *, actor: User, organisation: Organisation, data: ActeInput, confirm: bool = True
) -> Transaction:
    """Check everything, store the act and its files, and queue its transmission.

    ``confirm=False`` keeps it « en attente d'être postée » (17), as the API's ``en_attente``.
    Bad input raises ValidationError (per field, in French) and stores nothing.
    """
    require_agent(actor, organisation)
    try:
        p.check_departement(organisation.departement or "", field="__all__")
        p.check_siren(organisation.siren or "", field="__all__")
    except p.NamingError as exc:
        raise ValidationError(
            f"Le profil de votre collectivité est incomplet pour @CTES : {exc.message}"
        ) from None
    errors, version = _collect_acte_errors(organisation, data)
    if errors:
        raise ValidationError(errors)
    saved = _SavedFiles()
    try:
        with transaction.atomic():
            tx = _new_transaction(
                organisation=organisation,
                type=1,
                status=S.POSTE if confirm else S.EN_ATTENTE_POSTEE,
                message_code="1-1",
                created_by=actor,
                nature=data.nature,
                numero_interne=data.numero_interne,
                decision_date=data.decision_date,
                objet=data.objet.strip(),
                matieres=[int(c) for c in data.matieres],
                classification=version,
                classification_date=version.date_classification,
                message="Acte déposé sur la plateforme",
            )
            stem = _stem(tx)
            rank = 1
            main = _store_document(
                tx=tx,
                upload=data.document,
                kind=Document.Kind.MAIN,
                rank=rank,
                wire_name=stem.document_name(
                    "1-1", rank, data.document.extension, data.document.typologie
                ),
                saved=saved,
            )
            pairs = [(main, data.document)]
            for annexe in data.annexes:
                rank += 1
                doc = _store_document(
                    tx=tx,
                    upload=annexe,
                    kind=Document.Kind.ANNEX,
                    rank=rank,
                    wire_name=stem.document_name("1-1", rank, annexe.extension, annexe.typologie),
                    saved=saved,
                )
                pairs.append((doc, annexe))
            for doc, upload in pairs:
                if upload.signature is not None:
                    rank += 1
                    _store_document(
                        tx=tx,
                        upload=upload.signature,
                        kind=Document.Kind.SIGNATURE,
                        rank=rank,
                        wire_name=stem.document_name("1-1", rank, "xml", "99_SE"),
                        saved=saved,
                        signature_of=doc,
                    )
            # The message must build and validate now: what is stored can be sent.
            try:
                p.build_acte(_acte_message(tx), schema=conf.schema())
            except p.ProtocolError as exc:
                name = _CODEC_FIELD.get(exc.field or "", exc.field)
                raise ValidationError(
                    {name: [exc.message]} if name in FORM_FIELDS else exc.message
                ) from None
            journal.record(
                action="actes.acte.created",
                actor=actor,
                organisation=organisation,
                target=tx,
                payload={
                    "numero_interne": tx.numero_interne,
                    "nature": tx.nature,
                    "files": [d.sha256 for d, _ in pairs],
                },
            )
            if confirm:
                _enqueue_send(tx)
    except IntegrityError:
        saved.discard()
        raise ValidationError(
            {"numero_interne": ["Ce numéro d'acte a déjà été utilisé par votre collectivité."]}
        ) from None
    except BaseException:
        saved.discard()
        raise
    return tx


def confirm_acte(*, actor: User, acte: Transaction) -> Transaction:
    """17 → 1: an agent confirms an act created « en attente » through the API."""
    require_agent(actor, acte.organisation)
    with transaction.atomic():
        tx = Transaction.objects.select_for_update().get(pk=acte.pk)
        problem = classification_problem(tx.organisation)
        if problem:
            raise ValidationError(problem)
        _set_status(tx, S.POSTE, message="Envoi confirmé par un agent", actor=actor)
        _enqueue_send(tx)
    return tx


def publication_date_problem(acte: Transaction, published_on: date) -> str | None:
    """Why a publication (display) date is implausible for this act, or None: it lies
    between the decision and today."""
    if published_on > clock.today():
        return "La date de publication ne peut pas être dans le futur."
    if acte.decision_date and published_on < acte.decision_date:
        return "La date de publication précède la date de la décision."
    return None


def publish_acte(*, actor: User, acte: Transaction, published_on: date) -> Transaction:
    """Enter the act in the publication register (its stamped PDF then shows the date)."""
    require_agent(actor, acte.organisation)
    if acte.type != 1 or acte.status not in (S.ACQUITTEMENT_RECU, S.VALIDE, S.REFUSE):
        raise ValidationError(
            "Seul un acte dont la préfecture a accusé réception peut être publié."
        )
    problem = publication_date_problem(acte, published_on)
    if problem:
        raise ValidationError(problem)
    with transaction.atomic():
        acte.published_on = published_on
        acte.save(update_fields=["published_on", "updated_at"])
        journal.record(
            action="actes.acte.published",
            actor=actor,
            organisation=acte.organisation,
            target=acte,
            payload={"published_on": published_on.isoformat()},
        )
    return acte


def cancel_acte(*, actor: User, acte: Transaction) -> Transaction:
    """Send an ``Annulation`` (6-1): only after the AR, and one pending cancel at most."""
    require_agent(actor, acte.organisation)
    with transaction.atomic():
        acte = Transaction.objects.select_for_update().get(pk=acte.pk)
        if acte.type != 1 or acte.status != S.ACQUITTEMENT_RECU or not acte.id_acte:
            raise ValidationError(
                "L'annulation n'est possible qu'une fois l'accusé de réception de la "
                "préfecture reçu (statut « Acquittement reçu »)."
            )
        pending = acte.linked.filter(type=6).exclude(status__lte=0).exclude(status__gte=4)
        if pending.exists():
            raise ValidationError("Une demande d'annulation est déjà en cours pour cet acte.")
        tx = _new_transaction(
            organisation=acte.organisation,
            type=6,
            status=S.POSTE,
            message_code="6-1",
            acte=acte,
            created_by=actor,
            message="Demande d'annulation de la transmission",
        )
        journal.record(
            action="actes.acte.cancel_requested",
            actor=actor,
            organisation=acte.organisation,
            target=acte,
            payload={"cancel_transaction": tx.pk},
        )
        _enqueue_send(tx)
    return tx


def reply_to_letter(
    *, actor: User, letter: Transaction, send: bool, documents: list[Upload]
) -> Transaction:
    """Answer a prefecture letter: 3-4/3-3 to a demande de pièces, 4-4/4-3 to a lettre
    d'observations, 2-2 to a courrier simple (``send``: answer/send, else refuse/reject)."""
    require_agent(actor, letter.organisation)
    code = REPLY_CODES.get((letter.type, 4 if send else 3))
    if letter.direction != Direction.IN or code is None:
        raise ValidationError("Ce document de la préfecture n'appelle pas de réponse.")
    if letter.status not in (S.DOCUMENT_RECU, S.ACQUITTEMENT_ENVOYE, S.DOCUMENT_RECU_SANS_AR):
        raise ValidationError("Ce courrier ne peut plus recevoir de réponse.")
    if letter.replies.exclude(status=S.ERREUR).exists():
        raise ValidationError("Une réponse a déjà été envoyée à ce courrier.")
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
            _check_file(upload, label=f"Le document {i}", allowed=("pdf", "xml", "jpg", "png"))
            if classification is not None:
                classification.check_typology(nature, upload.typologie)
        except ValidationError as exc:
            raise ValidationError({"documents": exc.messages}) from None
        except p.ClassificationError as exc:
            raise ValidationError({"documents": [exc.message]}) from None
    saved = _SavedFiles()
    try:
        with transaction.atomic():
            letter = Transaction.objects.select_for_update().get(pk=letter.pk)
            if letter.replies.exclude(status=S.ERREUR).exists():
                raise ValidationError("Une réponse a déjà été envoyée à ce courrier.")
            tx = _new_transaction(
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
                _store_document(
                    tx=tx,
                    upload=upload,
                    kind=Document.Kind.PIECE,
                    rank=i,
                    wire_name=stem.document_name(code, i, upload.extension, upload.typologie),
                    saved=saved,
                )
            p.build(_outgoing_message(tx), schema=conf.schema())
            journal.record(
                action="actes.letter.replied",
                actor=actor,
                organisation=tx.organisation,
                target=tx,
                payload={"code": code, "letter": letter.pk},
            )
            _enqueue_send(tx)
    except p.ProtocolError as exc:
        saved.discard()
        raise ValidationError(exc.message) from None
    except BaseException:
        saved.discard()
        raise
    return tx


def mark_read(*, actor: User, tx: Transaction) -> Transaction:
    require_agent(actor, tx.organisation)
    if tx.direction != Direction.IN:
        raise ValidationError("Seuls les documents reçus de la préfecture se marquent comme lus.")
    if tx.read_at is None:
        with transaction.atomic():
            tx.read_at = clock.now()
            tx.save(update_fields=["read_at", "updated_at"])
            journal.record(
                action="actes.document.read", actor=actor, organisation=tx.organisation, target=tx
            )
    return tx


# --- Building and sending archives ---------------------------------------------------------


def _enqueue_send(tx: Transaction) -> None:
    from .tasks import send_transaction

    pk = tx.pk
    transaction.on_commit(lambda: send_transaction.enqueue(pk))


def _courrier_keys(tx: Transaction) -> dict:
    letter = tx.reply_to or tx
    return {
        "id_acte": tx.acte.id_acte,
        "date_courrier_pref": letter.date_courrier_pref,
    }


def _outgoing_message(tx: Transaction, code: str | None = None) -> p.Message:
    code = code or tx.message_code
    docs = [p.FichierSigne(nom_fichier=d.wire_name) for d in tx.documents.order_by("rank")]
    if code == "1-1":
        return _acte_message(tx)
    if code == "6-1":
        return p.Annulation(id_acte=tx.acte.id_acte)
    if code == "7-1":
        return p.DemandeClassification(date_classification=tx.classification_date)
    if code == "3-2":
        return p.ARDemandePieceComplementaire(**_courrier_keys(tx))
    if code == "4-2":
        return p.ARLettreObservations(**_courrier_keys(tx))
    if code == "3-4":
        return p.PieceComplementaire(**_courrier_keys(tx), documents=tuple(docs))
    cls = {
        "2-2": p.ReponseCourrierSimple,
        "3-3": p.RefusPieceComplementaire,
        "4-3": p.RejetLettreObservations,
        "4-4": p.ReponseLettreObservations,
    }.get(code)
    if cls is None or not docs:
        raise p.ProtocolError(f"Message sortant non pris en charge : {code}.")
    return cls(**_courrier_keys(tx), document=docs[0])


def _message_name(tx: Transaction, code: str) -> str:
    if tx.type == 7:
        org = tx.organisation
        return p.TransactionStem(org.departement, org.siren).message_name(code)
    if tx.type == 1:
        return _stem(tx).message_name(code)
    return p.TransactionStem.for_acte(tx.acte.id_acte).message_name(code)


def allocate_serial(*, siren: str, day: date) -> int:
    """The next envelope serial of an authority for the day, safe under concurrency: one
    atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (SQLite ≥ 3.35 and PostgreSQL).
    Must run inside the caller's transaction; past 9999 it raises (and the caller rolls back)."""
    table = DailyCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (siren, day, value) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (siren, day) DO UPDATE SET value = {table}.value + 1 RETURNING value",
            [siren, day],
        )
        value = cursor.fetchone()[0]
    counter = p.next_daily_counter(p.DailyCounter(day, value - 1) if value > 1 else None, day)
    return counter.value


def _outgoing_code(tx: Transaction) -> str:
    """The message a transaction sends: its own, or the automatic AR of a received letter."""
    if tx.direction == Direction.IN:
        return AUTOMATIC_AR[tx.message_code]
    return tx.message_code


def build_envelope(*, tx: Transaction) -> Envelope:
    """Build, validate and store the archive of a transaction (must hold its row lock)."""
    org = tx.organisation
    code = _outgoing_code(tx)
    day = clock.today()
    serial = allocate_serial(siren=org.siren, day=day)
    env_name = p.envelope_name(
        quadrigramme=conf.quadrigramme(), siren=org.siren, day=day, serial=serial
    )
    archive_name = p.archive_name_for_envelope(env_name, trigramme=conf.trigramme())
    msg_name = _message_name(tx, code)
    message = _outgoing_message(tx, code)
    creator = tx.created_by
    emails = [conf.return_email()]
    referent = None
    if creator is not None and creator.email and p.naming.EMAIL_RE.fullmatch(creator.email):
        emails.append(creator.email)
        referent = p.Referent(
            nom=p.latin1_safe(creator.get_full_name() or creator.email)[:100],
            email=creator.email,
        )
    envelope = p.EnveloppeCLMISILL(
        emetteur=p.IDCL(
            siren=org.siren,
            departement=org.departement,
            arrondissement=str(org.arrondissement if org.arrondissement is not None else 0),
            nature=org.insee_nature or "31",
        ),
        adresses_retour=tuple(emails),
        formulaires=(msg_name,),
        referent=referent,
    )
    files = {d.wire_name: d.file for d in tx.documents.all() if code not in ("3-2", "4-2")}
    opened = []
    try:
        streams = {}
        for name, f in files.items():
            f.open("rb")
            opened.append(f)
            streams[name] = f.file
        with tempfile.TemporaryFile() as out:
            size = p.write_archive(
                out,
                (env_name, envelope),
                {msg_name: message},
                streams,
                limits=conf.archive_limits(),
                schema=conf.schema(),
            )
            out.seek(0)
            env = Envelope(
                transaction=tx,
                message_code=code,
                siren=org.siren,
                day=day,
                serial=serial,
                name=env_name,
                archive_name=archive_name,
                archive_size=size,
            )
            env.archive.save(archive_name, File(out), save=False)
            env.save()
    finally:
        for f in opened:
            f.close()
    journal.record(
        action="actes.envelope.built",
        organisation=org,
        target=tx,
        payload={"archive": archive_name, "code": code, "size": size},
    )
    return env


class SendLater(Exception):
    """The archive could not be delivered this time; try again later."""

    def __init__(self, message: str, attempts: int):
        super().__init__(message)
        self.attempts = attempts


def _pending_envelope(tx: Transaction) -> Envelope | None:
    return tx.envelopes.filter(sent_at__isnull=True).order_by("-pk").first()


def send_transaction(*, transaction_id: int) -> str:
    """Build the archive if needed (1 → 2), then POST it (2 → 3; a letter's AR: 7 → 8).

    Idempotent: a transaction already transmitted is left alone; an archive already built is
    sent again as is (same name, same serial). Raises :class:`SendLater` on a transport error.
    """
    with transaction.atomic():
        tx = (
            Transaction.objects.select_for_update(of=("self",))
            .select_related("organisation", "acte", "reply_to", "created_by")
            .filter(pk=transaction_id)
            .first()
        )
        if tx is None:
            return "introuvable"
        needs_ar = tx.direction == Direction.IN and tx.status == S.DOCUMENT_RECU
        if tx.direction == Direction.OUT and tx.status == S.POSTE:
            if tx.type == 1:
                problem = classification_problem(tx.organisation)
                if problem:
                    _set_status(tx, S.ERREUR, message=problem)
                    tx.error_message = problem
                    tx.save(update_fields=["error_message"])
                    return "erreur"
            try:
                build_envelope(tx=tx)
            except (p.ProtocolError, OSError) as exc:
                message = getattr(exc, "message", str(exc))
                tx.error_message = f"Archive impossible à construire : {message}"
                tx.save(update_fields=["error_message"])
                _set_status(tx, S.ERREUR, message=tx.error_message)
                return "erreur"
            _set_status(tx, S.EN_ATTENTE_TRANSMISSION, message="Archive construite et validée")
        elif needs_ar and _pending_envelope(tx) is None and not tx.envelopes.exists():
            build_envelope(tx=tx)
        elif not (
            (tx.direction == Direction.OUT and tx.status == S.EN_ATTENTE_TRANSMISSION) or needs_ar
        ):
            return "rien à faire"
        env = _pending_envelope(tx)
        if env is None:
            return "rien à faire"
        env.post_started_at = env.post_started_at or clock.now()
        env.attempts += 1
        env.save(update_fields=["post_started_at", "attempts"])
    # The POST happens outside any database transaction.
    try:
        with env.archive.open("rb") as fh:
            status = post_archive(name=env.archive_name, file=fh, size=env.archive_size)
    except TransportError as exc:
        with transaction.atomic():
            Envelope.objects.filter(pk=env.pk).update(
                last_error=exc.message, http_status=exc.status
            )
            journal.record(
                action="actes.envelope.send_failed",
                organisation=tx.organisation,
                target=tx,
                payload={"archive": env.archive_name, "error": exc.message[:500]},
            )
        raise SendLater(exc.message, env.attempts) from None
    with transaction.atomic():
        tx = Transaction.objects.select_for_update().get(pk=tx.pk)
        now = clock.now()
        Envelope.objects.filter(pk=env.pk).update(sent_at=now, http_status=status, last_error="")
        if tx.sent_at is None:
            tx.sent_at = now
            tx.save(update_fields=["sent_at", "updated_at"])
        if tx.direction == Direction.IN and tx.status == S.DOCUMENT_RECU:
            _set_status(tx, S.ACQUITTEMENT_ENVOYE, message="Accusé de réception envoyé")
        elif tx.direction == Direction.OUT and tx.status == S.EN_ATTENTE_TRANSMISSION:
            _set_status(tx, S.TRANSMIS, message=f"Archive remise (HTTP {status})")
        journal.record(
            action="actes.envelope.sent",
            organisation=tx.organisation,
            target=tx,
            payload={"archive": env.archive_name, "http_status": status},
        )
    return "envoyé"


def pending_sends() -> list[int]:
    """Transactions waiting to be (re)sent: for the recovery command after an outage."""
    out = Transaction.objects.filter(
        direction=Direction.OUT, status__in=[S.POSTE, S.EN_ATTENTE_TRANSMISSION]
    ) | Transaction.objects.filter(direction=Direction.IN, status=S.DOCUMENT_RECU)
    return list(out.order_by("pk").values_list("pk", flat=True))


# --- Returns (ARs, anomalies, letters, classification) ---------------------------------------


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
        saved = _SavedFiles()
        try:
            with transaction.atomic():
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
            saved.discard()
            return IncomingArchive.objects.get(sha256=sha)
        except BaseException:
            saved.discard()
            raise
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
                with transaction.atomic():
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
            if any(n == _message_name(e.transaction, e.message_code) for n in names)
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
        _set_status(tx, S.TRANSMIS, message="Remise constatée par le retour de la préfecture")
        return True
    return False


def _mark_error(tx: Transaction, reason: str) -> bool:
    if not _delivered(tx):
        return False
    tx.error_message = reason
    tx.save(update_fields=["error_message", "updated_at"])
    _set_status(tx, S.ERREUR, message=reason)
    return True


def _find_acte(organisation, *, numero: str = "", id_acte: str = "") -> Transaction | None:
    qs = Transaction.objects.select_for_update().filter(organisation=organisation, type=1)
    if id_acte:
        return qs.filter(id_acte=id_acte).first()
    return qs.filter(numero_interne=numero).first()


def _apply_message(organisation, message, xml: bytes, archive, saved):
    Out = IncomingMessage.Outcome  # noqa: N806
    code = message.CODE
    if code in ("1-2", "1-3"):
        _announce_classification(organisation, message.classification_date_en_cours)
        acte = _find_acte(organisation, numero=message.acte_recu.numero_interne)
        if acte is None:
            return Out.UNEXPECTED, f"Acte n° {message.acte_recu.numero_interne} inconnu.", None
        if code == "1-2":
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
            _set_status(acte, S.ACQUITTEMENT_RECU, message=f"Accusé de réception : {acte.id_acte}")
            return Out.APPLIED, acte.id_acte, acte
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

    if code in ("2-1", "3-1", "4-1", "5-1"):
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
        letter = _new_transaction(
            organisation=organisation,
            type=int(effect.transaction_type),
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
                _store_bytes(
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
        transaction.on_commit(lambda: notifications.notify_incoming_letter(letter))
        if effect.automatic_reply:
            _enqueue_send(letter)
        return Out.APPLIED, p.MESSAGE_TYPES_BY_CODE[code].label, letter

    if code in ("3-5", "4-5"):
        acte = _find_acte(organisation, id_acte=message.id_acte)
        reply = (
            Transaction.objects.select_for_update()
            .filter(
                acte=acte,
                reply_to__date_courrier_pref=message.date_courrier_pref,
                type=int(code[0]),
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
        _set_status(reply, S.ACQUITTEMENT_RECU, message="Réponse acquittée par la préfecture")
        return Out.APPLIED, "Réponse acquittée", reply

    if code == "6-2":
        acte = _find_acte(organisation, id_acte=message.id_acte)
        cancel = (
            acte.linked.select_for_update().filter(type=6).order_by("-pk").first() if acte else None
        )
        if cancel is None:
            return Out.UNEXPECTED, "Aucune annulation ne correspond.", acte
        if cancel.status == S.ACQUITTEMENT_RECU and acte.status == S.ANNULE:
            return Out.DUPLICATE, "Annulation déjà acquittée.", cancel
        if not _delivered(cancel) or acte.status != S.ACQUITTEMENT_RECU:
            return Out.UNEXPECTED, "Accusé d'annulation inattendu.", cancel
        cancel.date_reception = message.date_reception
        cancel.save(update_fields=["date_reception", "updated_at"])
        _set_status(cancel, S.ACQUITTEMENT_RECU, message="Annulation acquittée")
        _set_status(acte, S.ANNULE, message="Transmission annulée (ARAnnulation)")
        return Out.APPLIED, "Annulation acquittée", acte

    if code in ("7-2", "7-3"):
        request = (
            Transaction.objects.select_for_update()
            .filter(
                organisation=organisation,
                type=7,
                status__in=[S.EN_ATTENTE_TRANSMISSION, S.TRANSMIS],
            )
            .order_by("-pk")
            .first()
        )
        if code == "7-2":
            version = import_classification(organisation=organisation, xml=xml)
            detail = f"Classification du {version.date_classification:%d/%m/%Y} enregistrée"
            _announce_classification(organisation, version.date_classification)
        else:
            detail = f"Classification inchangée ({message.date_classification:%d/%m/%Y})"
            _announce_classification(organisation, message.date_classification)
        if request is not None and _delivered(request):
            _set_status(request, S.ACQUITTEMENT_RECU, message=detail)
        return Out.APPLIED, detail, request

    return Out.UNEXPECTED, f"Message {code} non attendu par une collectivité.", None


def resolve_incoming(*, actor: User, message: IncomingMessage) -> IncomingMessage:
    """An operator closes an unexpected message after reading it (it is never applied)."""
    if not actor.is_platform_staff:
        raise PermissionDenied("Réservé aux gestionnaires de la plateforme.")
    with transaction.atomic():
        message.resolved_at = clock.now()
        message.resolved_by = actor
        message.save(update_fields=["resolved_at", "resolved_by"])
        journal.record(action="actes.return.resolved", actor=actor, target=message)
    return message
