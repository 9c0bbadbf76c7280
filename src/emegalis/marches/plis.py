"""Writes of the deposit of plis: sealed, resumable upload, completion, receipt.

A pli's life (explicit, PLI_TRANSITIONS):

    en_cours ─complete (server time ≤ deadline)→ reçu ─(a later deposit in time)→ remplacé
        └────complete (server time > deadline)→ hors délai

Files arrive through a small chunked protocol (views: start, PUT at an offset, HEAD for the
offset, confirm). Each whole encryption chunk (sealing.CHUNK_SIZE of plaintext, or the
file's last bytes) is sealed as it arrives; the chunks of a request are stored together, one
object per run of up to 8 (pli_storage). A shorter tail of a broken request is dropped, so
the acknowledged offset is always a chunk boundary and no plaintext is kept between
requests. The per-file data key stays sealed with the server secret until the deposit is
complete, then it is erased: from then on only the opening key rebuilt from k shares opens
the file (ADR 0004).

The receipt's SHA-256 comes from a running hash kept in this process's memory while the
file arrives here in order (RunningHashes); when that state is missing (the upload resumed
in another worker, a restart, an eviction, a retry at an earlier offset) it is recomputed
from the stored chunks at completion, which is also the proof path (ADR 0004).
"""

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from emegalis.core import clock, journal, sealing, server_secret
from emegalis.organisations.models import User

from . import conf, pli_storage, receipt_issuance, selectors
from .models import (
    CandidatureDocument,
    Consultation,
    Lot,
    Pli,
    PliFile,
    PliFileKind,
    PliStatus,
    State,
)

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


class RunningHashes:
    """SHA-256 state of the files being uploaded through this process, each with the offset
    it covers (hashlib state cannot be saved or sent to another process).

    An entry is taken out while a request uses it, so two requests never share one, and it
    is used only by a request starting exactly at its offset; anything else drops it. Keyed
    by the file's pk *and* header (random per file), so a pk reused in another database
    never matches. Bounded: the least recently used entries go first (a few hundred bytes
    each). A missing entry only costs the recomputation from the stored chunks.
    """

    def __init__(self, capacity: int = 1024):
        self.capacity = capacity
        self._entries: OrderedDict[tuple[int, bytes], tuple[int, object]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(pli_file: PliFile) -> tuple[int, bytes]:
        return (pli_file.pk, bytes(pli_file.header))

    def take(self, pli_file: PliFile, offset: int):
        """The hash of the file's first ``offset`` bytes if this process holds it (a new one
        at offset 0), else None; the entry leaves the table either way."""
        with self._lock:
            entry = self._entries.pop(self.key(pli_file), None)
        if entry is not None and entry[0] == offset:
            return entry[1]
        return hashlib.sha256() if offset == 0 else None

    def keep(self, pli_file: PliFile, offset: int, digest) -> None:
        with self._lock:
            self._entries[self.key(pli_file)] = (offset, digest)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every state (what a request landing in another worker process sees)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


running_hashes = RunningHashes()

_hash_pool: tuple[int, ThreadPoolExecutor] | None = None
_hash_pool_lock = threading.Lock()


def _hash_executor() -> ThreadPoolExecutor:
    """This process's hashing threads (made on first use, again after a fork)."""
    global _hash_pool
    with _hash_pool_lock:
        if _hash_pool is None or _hash_pool[0] != os.getpid():
            _hash_pool = (os.getpid(), ThreadPoolExecutor(2, thread_name_prefix="pli-sha256"))
        return _hash_pool[1]


class _Hashing:
    """Feeds a running hash on a helper thread, chunk after chunk in order, while the request
    thread seals and writes it: hashlib releases the GIL on large buffers, so the SHA-256 runs
    on another core beside AES-GCM and the write. ``wait`` before reading the digest."""

    def __init__(self, digest):
        self.digest = digest
        self._pending: Future | None = None

    def update(self, data: bytes) -> None:
        self.wait()
        self._pending = _hash_executor().submit(self.digest.update, data)

    def wait(self):
        if self._pending is not None:
            self._pending.result()
            self._pending = None
        return self.digest


def _key_context(pli_file: PliFile) -> bytes:
    return f"pli-file-key:{pli_file.pli_id}:{pli_file.pk}".encode()


def _set_status(pli: Pli, to: str) -> None:
    if to not in PLI_TRANSITIONS[pli.status]:
        raise ValidationError(
            f"Un pli « {pli.get_status_display().lower()} » ne peut pas devenir "
            f"« {PliStatus(to).label.lower()} ».",
            code="illegal_transition",
        )
    pli.status = to


def _company_for(actor: User):
    company = selectors.company_of(actor)
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
    from .services import clean_filename

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
            header, data_key = sealing.new_file_header(public_key)
            pli_file = PliFile.objects.create(
                pli=pli,
                kind=declared.kind,
                document=document,
                lot=lot,
                name=name,
                size=declared.size,
                header=header.to_bytes(),
            )
            pli_file.pending_key = server_secret.seal(_key_context(pli_file), data_key)
            pli_file.save(update_fields=["pending_key"])
            if declared.size == 0:  # an empty file is one empty last chunk, stored at once
                empty = pli_storage.SegmentWriter(pli_file, header, data_key)
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


def receive(*, actor: User, pli_pk: int, file_pk: int, offset: int, stream, length: int) -> int:
    """Seal and store the whole chunks of ``stream`` (``length`` bytes) from ``offset``.

    Returns the new offset. A trailing part shorter than a chunk (except the file's end) is
    dropped; the client resumes from the returned offset.
    """
    company = _company_for(actor)
    with transaction.atomic():
        # The company's file, locked, in one query (one per request counts: ADR 0004).
        pli_file = (
            PliFile.objects.select_for_update()
            .select_related("pli__consultation")
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
        header = sealing.FileHeader.from_bytes(bytes(pli_file.header))
        data_key = server_secret.unseal(_key_context(pli_file), bytes(pli_file.pending_key))
        # Taken out of the table: an error below leaves no state, the fallback takes over.
        digest = running_hashes.take(pli_file, offset)
        hashing = _Hashing(digest) if digest is not None else None
        remaining_body = max(0, length)
        writer = pli_storage.SegmentWriter(pli_file, header, data_key)
        try:
            while pli_file.received < pli_file.size:
                want = min(header.chunk_size, pli_file.size - pli_file.received)
                index = pli_file.received // header.chunk_size
                if not writer.pending:
                    orphan = pli_storage.read_orphan(pli_file, header.chunk_size, index)
                    if orphan is not None:
                        remaining_body = _take_over(
                            pli_file,
                            header,
                            data_key,
                            index,
                            orphan,
                            stream,
                            remaining_body,
                            hashing,
                        )
                        continue
                if want > remaining_body:
                    break
                data = _read_up_to(stream, want)
                remaining_body -= len(data)
                if len(data) < want:
                    break
                last = pli_file.received + want == pli_file.size
                if hashing is not None:
                    hashing.update(data)  # exactly the bytes stored below
                writer.seal(index, data, last)
                pli_file.received += want
                if writer.full:
                    writer.store()
        finally:
            # What was sealed is stored even when the client went away or failed midway: it
            # is acknowledged below, or taken over by the next request at this offset.
            writer.store()
        pli_file.save(update_fields=["received"])
        if hashing is not None:
            # If this transaction does not commit, the database keeps the older offset and
            # the next request, starting there, does not match this entry: it is dropped.
            running_hashes.keep(pli_file, pli_file.received, hashing.wait())
    return pli_file.received


def _take_over(
    pli_file, header, data_key, first, orphan: list[bytes], stream, remaining_body, hashing
) -> int:
    """Acknowledge the chunks of a segment stored by a request that failed before its
    acknowledgement: each one is opened and, where this request carries the same bytes,
    compared with them. Other bytes at those offsets are refused: they would be sealed under
    the same nonces. Returns what is left of the request's body."""
    count = pli_storage.chunk_count(pli_file, header.chunk_size)
    for index, sealed in enumerate(orphan, start=first):
        want = min(header.chunk_size, pli_file.size - pli_file.received)
        try:
            plain = sealing.open_chunk(header, data_key, index, sealed, index == count - 1)
        except sealing.IntegrityError:
            plain = None
        if plain is not None and want <= remaining_body:
            sent = _read_up_to(stream, want)
            remaining_body -= len(sent)
            if len(sent) == want and sent != plain:
                plain = None
            elif len(sent) < want:
                remaining_body = 0  # the client went away: the stored chunk still counts
        if plain is None or len(plain) != want:
            raise ValidationError(
                "Le contenu envoyé diffère de celui déjà reçu à cet endroit : recommencez le "
                "dépôt.",
                code="changed",
            )
        if hashing is not None:
            hashing.update(plain)
        pli_file.received += want
    return remaining_body


def _plaintext_sha256(pli_file: PliFile, data_key: bytes) -> str:
    """SHA-256 of the plaintext, recomputed from the stored chunks (the proof path)."""
    header = sealing.FileHeader.from_bytes(bytes(pli_file.header))
    digest = hashlib.sha256()
    count = pli_storage.chunk_count(pli_file, header.chunk_size)
    for index, sealed in zip(range(count), pli_storage.stored_chunks(pli_file), strict=True):
        digest.update(sealing.open_chunk(header, data_key, index, sealed, index == count - 1))
    return digest.hexdigest()


def file_sha256(pli_file: PliFile, data_key: bytes) -> tuple[str, bool]:
    """The receipt's SHA-256 of a whole file, and whether it came from the running hash
    (True) or from decrypting the stored chunks again (False)."""
    digest = running_hashes.take(pli_file, pli_file.size)
    if digest is None or pli_file.received != pli_file.size:
        logger.info("SHA-256 of pli file %s recomputed from its stored chunks", pli_file.pk)
        return _plaintext_sha256(pli_file, data_key), False
    pli_storage.check_stored(pli_file)
    return digest.hexdigest(), True


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
            data_key = server_secret.unseal(_key_context(pli_file), bytes(pli_file.pending_key))
            try:
                pli_file.sha256, _ = file_sha256(pli_file, data_key)
            except (sealing.IntegrityError, OSError) as exc:
                logger.error("Stored chunks of pli file %s unreadable: %s", pli_file.pk, exc)
                raise ValidationError(
                    f"Le fichier « {pli_file.name} » n'a pas été conservé intact sur la "
                    "plateforme : recommencez le dépôt.",
                    code="damaged",
                ) from exc
            pli_file.pending_key = None
            pli_file.save(update_fields=["sha256", "pending_key"])
        now = clock.now()
        late = now > pli.consultation.bids_deadline
        _set_status(pli, PliStatus.HORS_DELAI if late else PliStatus.RECU)
        pli.completed_at = now
        pli.total_size = sum(f.size for f in files)
        pli.file_count = len(files)
        pli.backup_copy_declared = backup_copy_declared
        # Without a receipt now (timestamping service down), the deposit still counts: the
        # receipt is issued later (receipt_issuance.issue_missing_receipts).
        pdf = receipt_issuance.signed_receipt(pli, files)
        if pdf is not None:
            receipt_issuance.attach(pli, pdf)
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
            transaction.on_commit(lambda: receipt_issuance.email_receipt(pli, pdf))
    return pli
