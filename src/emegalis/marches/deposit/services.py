"""Writes of the deposit of plis: sealed, resumable upload, completion, receipt.

A pli's life (explicit, PLI_STATES):

    en_cours ─complete (server time ≤ deadline)→ reçu ─(a later deposit in time)→ remplacé
        └────complete (server time > deadline)→ hors délai

Files arrive through a small chunked protocol (views: start, PUT at an offset, HEAD for the
offset, confirm). Each whole encryption chunk (sealing.CHUNK_SIZE of plaintext, or the
file's last bytes) is sealed as it arrives; the chunks of a request are stored together, one
object per run of up to 8 (a segment, pli_storage), each segment under a fresh data key
wrapped to the opening public key and forgotten once stored. A shorter tail of a broken
request is dropped, so the acknowledged offset is always a chunk boundary and no plaintext
is kept between requests; nothing kept between requests opens what was stored (ADR 0004).

The receipt's SHA-256 is computed as the bytes arrive: the hash state (rehashes, a SHA-256
whose state can be saved) is stored with the acknowledged offset in the same transaction, so
any worker process goes on with the next request and the state always matches the offset."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import rehashes
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from emegalis.core import clock, journal, sealing
from emegalis.core.state_machine import StateMachine
from emegalis.marches import access, conf
from emegalis.marches.consultations.models import Consultation, Lot, State
from emegalis.marches.deposit import receipts, storage
from emegalis.marches.deposit.models import (
    CandidatureDocument,
    Pli,
    PliFile,
    PliFileKind,
    PliStatus,
)
from emegalis.organisations.models import User

logger = logging.getLogger(__name__)


PLI_TRANSITIONS: dict[str, frozenset[str]] = {
    PliStatus.EN_COURS: frozenset({PliStatus.RECU, PliStatus.HORS_DELAI}),
    PliStatus.RECU: frozenset({PliStatus.REMPLACE}),
    PliStatus.HORS_DELAI: frozenset(),
    PliStatus.REMPLACE: frozenset(),
}


MAX_FILES = 100


class OffsetMismatch(Exception):
    """The client's offset is not the server's: it must resume from ``offset``."""

    def __init__(self, offset: int):
        super().__init__(f"Reprendre à l'octet {offset}.")
        self.offset = offset


@dataclass(frozen=True)
class DeclaredFile:
    kind: str
    name: str
    size: int
    lot: int | None = None  # lot number
    document: str = ""  # for a candidature file: dume, dc1, dc2 or autre (default)


PLI_STATES = StateMachine(
    PLI_TRANSITIONS,
    refusal=lambda current, to: (
        f"Un pli « {PliStatus(current).label.lower()} » ne peut pas devenir "
        f"« {PliStatus(to).label.lower()} »."
    ),
)


def _set_status(pli: Pli, to: str) -> None:
    PLI_STATES.check(pli.status, to)
    pli.status = to


def _company_for(actor: User):
    company = access.company_of(actor)
    if company is None:
        raise PermissionDenied("Seul le représentant d'une entreprise peut déposer un pli.")
    return company


def deposit_refusal(consultation: Consultation) -> str:
    """Why a new deposit cannot start now ("" when it can)."""
    if consultation.is_test:
        return "La consultation de test simule un dépôt sans transmettre de pli."
    if not consultation.electronic_submission:
        return "Cette consultation n'accepte pas la remise des plis par voie électronique."
    if consultation.state != State.PUBLIEE or clock.now() >= consultation.bids_deadline:
        return "La date limite de remise des plis est passée ou la consultation est fermée."
    commission = getattr(consultation, "opening_commission", None)
    if commission is None or not commission.is_complete:
        return (
            "Le dépôt ouvre quand la commission d'ouverture de l'acheteur a reçu ses parts de "
            "la clé d'ouverture."
        )
    return ""


def start_deposit(*, actor: User, consultation: Consultation, files: Iterable[DeclaredFile]) -> Pli:
    """A new deposit (en cours) with the files the company announces, each with its own key."""
    from emegalis.marches.filenames import clean_filename

    company = _company_for(actor)
    files = list(files)
    with transaction.atomic():
        # Lock the consultation row only (PostgreSQL refuses FOR UPDATE on outer joins), and
        # FOR NO KEY UPDATE: it must not block the KEY SHARE locks that writes of plis take
        # on their consultation (otherwise a deposit starting and one completing deadlock).
        consultation = (
            Consultation.objects.select_for_update(of=("self",), no_key=True)
            .select_related("opening_commission")
            .get(pk=consultation.pk)
        )
        refusal = deposit_refusal(consultation)
        if refusal:
            raise ValidationError(refusal, code="closed")
        if not files or len(files) > MAX_FILES:
            raise ValidationError(f"Déposez entre 1 et {MAX_FILES} fichiers.", code="files")
        lots = {lot.number: lot for lot in consultation.lots.all()}
        limit = conf.pli_max_bytes()
        checked: list[tuple[DeclaredFile, Lot | None, str, str]] = []
        for declared in files:
            if declared.kind not in PliFileKind.values:
                raise ValidationError("Pièce inconnue.", code="kind")
            name = clean_filename(declared.name)
            if not 0 <= declared.size <= limit:
                raise ValidationError(
                    f"« {name} » dépasse la taille maximale de {conf.human_size(limit)}.",
                    code="size",
                )
            document = ""
            if declared.kind == PliFileKind.CANDIDATURE:
                document = declared.document or CandidatureDocument.AUTRE
                if document not in CandidatureDocument.values:
                    raise ValidationError(
                        f"Type de pièce de candidature inconnu pour « {name} » (DUME, DC1, DC2 "
                        "ou autre).",
                        code="document",
                    )
            elif declared.document:
                raise ValidationError(
                    f"« {name} » est une offre : seules les pièces de candidature ont un type "
                    "(DUME, DC1, DC2).",
                    code="document",
                )
            lot = None
            if declared.kind == PliFileKind.OFFRE and lots:
                lot = lots.get(declared.lot)
                if lot is None:
                    raise ValidationError(f"Indiquez le lot de l'offre « {name} ».", code="lot")
            checked.append((declared, lot, name, document))
        if not any(d.kind == PliFileKind.OFFRE for d, _, _, _ in checked):
            raise ValidationError("Le pli doit contenir au moins une offre.", code="no_offer")
        public_key = consultation.opening_commission.public_key_bytes
        pli = Pli.objects.create(
            consultation=consultation,
            company=company,
            depositor=actor,
            depositor_label=f"{actor.get_full_name() or actor.email} <{actor.email}>",
            company_label=company.name,
            company_siret=company.siret or "",
            started_at=clock.now(),
        )
        for declared, lot, name, document in checked:
            header = sealing.new_file_header()
            pli_file = PliFile.objects.create(
                pli=pli,
                kind=declared.kind,
                document=document,
                lot=lot,
                name=name,
                size=declared.size,
                header=header.to_bytes(),
                hash_state=rehashes.PySha256().serialize(),
            )
            if declared.size == 0:  # an empty file is one empty last chunk, stored at once
                empty = storage.SegmentWriter(pli_file, header, public_key)
                empty.seal(0, b"", True)
                empty.store()
        journal.record(
            action="marches.pli.started",
            actor=actor,
            organisation=company,
            target=pli,
            payload={"consultation": consultation.pk, "files": len(checked)},
        )
    return pli


def get_own_file(actor: User, pli_pk: int, file_pk: int) -> PliFile:
    """A file of a deposit of the actor's company, else PermissionDenied."""
    company = _company_for(actor)
    pli_file = (
        PliFile.objects.select_related("pli__consultation")
        .filter(pk=file_pk, pli_id=pli_pk, pli__company=company)
        .first()
    )
    if pli_file is None:
        raise PermissionDenied("Fichier de pli introuvable.")
    return pli_file


def _read_up_to(stream, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining:
        try:
            part = stream.read(remaining)
        except OSError:  # the client went away: keep what was whole so far
            break
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


LEGACY_UPLOAD = (
    "Ce dépôt a été commencé avant la mise à jour de la plateforme du 5 décembre 2026 et ne "
    "peut pas être repris : abandonnez-le et recommencez le dépôt."
)


def _hash_of(pli_file: PliFile):
    """The SHA-256 state of the file's acknowledged bytes, else ValidationError."""
    if pli_file.hash_state is None:
        raise ValidationError(LEGACY_UPLOAD, code="legacy")
    return rehashes.PySha256.deserialize(bytes(pli_file.hash_state))


def receive(*, actor: User, pli_pk: int, file_pk: int, offset: int, stream, length: int) -> int:
    """Seal and store the whole chunks of ``stream`` (``length`` bytes) from ``offset``.

    Returns the new offset. A trailing part shorter than a chunk (except the file's end) is
    dropped; the client resumes from the returned offset.
    """
    company = _company_for(actor)
    with transaction.atomic():
        # The company's file, locked, in one query (one per request counts: ADR 0004).
        pli_file = (
            PliFile.objects.select_for_update(of=("self",))
            .select_related("pli__consultation__opening_commission")
            .filter(pk=file_pk, pli_id=pli_pk, pli__company=company)
            .order_by()  # not the model's ordering, which joins the (nullable) lot
            .first()
        )
        if pli_file is None:
            raise PermissionDenied("Fichier de pli introuvable.")
        pli = pli_file.pli
        if pli.status != PliStatus.EN_COURS:
            raise ValidationError("Ce dépôt est terminé : commencez un nouveau dépôt.")
        if pli.consultation.state not in (State.PUBLIEE, State.CLOTUREE):
            raise ValidationError("La consultation n'accepte plus de pli.")
        if offset != pli_file.received:
            raise OffsetMismatch(pli_file.received)
        header = storage.file_header(pli_file)
        if header.version != sealing.VERSION:
            raise ValidationError(LEGACY_UPLOAD, code="legacy")
        digest = _hash_of(pli_file)
        public_key = pli.consultation.opening_commission.public_key_bytes
        storage.discard_unacknowledged(pli_file, pli_file.received // header.chunk_size)
        remaining_body = max(0, length)
        writer = storage.SegmentWriter(pli_file, header, public_key)
        try:
            while pli_file.received < pli_file.size:
                want = min(header.chunk_size, pli_file.size - pli_file.received)
                if want > remaining_body:
                    break
                data = _read_up_to(stream, want)
                remaining_body -= len(data)
                if len(data) < want:
                    break
                last = pli_file.received + want == pli_file.size
                digest.update(data)  # exactly the bytes stored below
                writer.seal(pli_file.received // header.chunk_size, data, last)
                pli_file.received += want
                if writer.full:
                    writer.store()
        finally:
            # What was sealed is stored even when the client went away midway: it is
            # acknowledged below, or discarded by the next request at this offset.
            writer.store()
        pli_file.hash_state = digest.serialize()
        pli_file.save(update_fields=["received", "hash_state"])
    return pli_file.received


def _file_sha256(pli_file: PliFile) -> str:
    """The receipt's SHA-256 of a whole file, after checking that every segment is stored
    with its exact size (a receipt never covers missing or cut data)."""
    storage.check_stored(pli_file)
    return _hash_of(pli_file).finalize()


def complete_deposit(*, actor: User, pli_pk: int, backup_copy_declared: bool = False) -> Pli:
    """The company confirms: every file must be whole. The server time decides lateness."""
    company = _company_for(actor)
    with transaction.atomic():
        pli = (
            Pli.objects.select_for_update(of=("self",))
            .select_related("consultation__organisation")
            .filter(pk=pli_pk, company=company)
            .first()
        )
        if pli is None:
            raise PermissionDenied("Dépôt introuvable.")
        if pli.status != PliStatus.EN_COURS:
            raise ValidationError("Ce dépôt est déjà terminé.", code="done")
        files = list(pli.files.select_for_update().order_by("pk"))
        missing = [f.name for f in files if not f.is_received]
        if missing:
            raise ValidationError(
                "Fichiers incomplets : " + ", ".join(missing) + ". Reprenez leur envoi.",
                code="incomplete",
            )
        for pli_file in files:
            try:
                pli_file.sha256 = _file_sha256(pli_file)
            except (sealing.FormatError, OSError) as exc:
                logger.error("Stored chunks of pli file %s unreadable: %s", pli_file.pk, exc)
                raise ValidationError(
                    f"Le fichier « {pli_file.name} » n'a pas été conservé intact sur la "
                    "plateforme : recommencez le dépôt.",
                    code="damaged",
                ) from exc
            pli_file.hash_state = None
            pli_file.save(update_fields=["sha256", "hash_state"])
        now = clock.now()
        late = now > pli.consultation.bids_deadline
        _set_status(pli, PliStatus.HORS_DELAI if late else PliStatus.RECU)
        pli.completed_at = now
        pli.total_size = sum(f.size for f in files)
        pli.file_count = len(files)
        pli.backup_copy_declared = backup_copy_declared
        # Without a receipt now (timestamping service down), the deposit still counts: the
        # receipt is issued later (receipts.issue_missing_receipts).
        pdf = receipts.signed_receipt(pli, files)
        if pdf is not None:
            receipts.attach(pli, pdf)
        # One UPDATE of the pli row (a second one in the same transaction would make
        # PostgreSQL re-check its foreign keys, with a KEY SHARE lock on the consultation).
        pli.save()
        replaced = []
        if not late:
            for earlier in (
                Pli.objects.select_for_update()
                .filter(consultation=pli.consultation, company=company, status=PliStatus.RECU)
                .exclude(pk=pli.pk)
            ):
                _set_status(earlier, PliStatus.REMPLACE)
                earlier.save(update_fields=["status"])
                replaced.append(earlier.pk)
        # Last: the journal's lock is held until commit, so nothing may wait after it.
        journal.record(
            action="marches.pli.received",
            actor=actor,
            organisation=pli.consultation.organisation,
            target=pli,
            payload={
                "consultation": pli.consultation.reference,
                "company_siret": pli.company_siret,
                "status": pli.status,
                "completed_at": now,
                "replaces": replaced,
                "backup_copy_declared": backup_copy_declared,
                "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in files],
                "receipt_deferred": pdf is None,
            },
        )
        if pdf is not None:
            transaction.on_commit(lambda: receipts.email_receipt(pli, pdf))
    return pli


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
    company = access.company_of(actor)
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
