"""The opening session: after the deadline, k commission members supply their shares; the
opening key is rebuilt in memory only, the plis received in time are decrypted chunk by
chunk, every SHA-256 is checked against the receipt, and the PV d'ouverture is signed.

Refusals (before the deadline, fewer than k valid shares) are journaled. A file whose stored
chunks fail authentication, or whose SHA-256 differs from the receipt, is reported as an
integrity failure in the PV and keeps no decrypted content; the other files are opened.
"""

import hashlib
import io
import logging
from collections.abc import Iterator

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from emegalis.core import clock, journal, sealing, signing
from emegalis.organisations.models import User

from . import selectors
from .models import (
    Consultation,
    LateOpening,
    OpenedFile,
    OpeningSession,
    PliFile,
    PliStatus,
)
from .pli_storage import sealed_body

logger = logging.getLogger(__name__)


class _ChunkReader(io.RawIOBase):
    """A read-only stream over an iterator of byte strings."""

    def __init__(self, parts: Iterator[bytes]):
        self._parts = parts
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._parts)
            except StopIteration:
                return 0
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count


class _HashingPlaintext(_ChunkReader):
    """The authenticated plaintext of a sealed file, hashed as it is read."""

    def __init__(self, parts: Iterator[bytes]):
        self.digest = hashlib.sha256()
        super().__init__(self._hashed(parts))

    def _hashed(self, parts):
        for part in parts:
            self.digest.update(part)
            yield part


def _sealed_stream(pli_file: PliFile) -> io.BufferedReader:
    def parts():
        yield bytes(pli_file.header)
        yield from sealed_body(pli_file)

    return io.BufferedReader(_ChunkReader(parts()), buffer_size=sealing.CHUNK_SIZE)


def _open_file(session: OpeningSession, pli_file: PliFile, key: bytes) -> OpenedFile:
    plaintext = _HashingPlaintext(sealing.open_stream(_sealed_stream(pli_file), key))
    name = f"marches/ouverts/{session.consultation_id}/{pli_file.pli_id}/{pli_file.pk}"
    saved = ""
    error = ""
    try:
        saved = default_storage.save(name, File(io.BufferedReader(plaintext), name=pli_file.name))
        sha256 = plaintext.digest.hexdigest()
        if sha256 != pli_file.sha256:
            error = "Empreinte SHA-256 différente de celle de l'accusé de réception."
    except sealing.SealingError as exc:
        sha256 = ""
        error = str(exc)
    except OSError as exc:
        sha256 = ""
        error = f"Fichier chiffré illisible sur la plateforme ({exc.__class__.__name__})."
    if error:
        logger.error("Opening: pli file %s failed its integrity check: %s", pli_file.pk, error)
        if saved:
            default_storage.delete(saved)
        elif default_storage.exists(name):
            default_storage.delete(name)
        saved = ""
    return OpenedFile.objects.create(
        session=session,
        pli_file=pli_file,
        intact=not error,
        sha256=sha256 if not error else "",
        error=error[:255],
        content=saved,
    )


class _PvNotSigned(Exception):
    """The PV could not be signed and timestamped (TSA down): the opening must not stand."""


PV_NOT_SIGNED = (
    "L'ouverture n'a pas eu lieu : le procès-verbal n'a pas pu être signé et horodaté (service "
    "d'horodatage indisponible). Rien n'a été conservé ; réessayez dans quelques minutes avec "
    "les mêmes parts."
)


def _signed_pv(pdf: bytes, reason: str, results: dict, *, kind: str, target) -> bytes:
    """The PV signed, else the opened contents already written are deleted (the transaction
    of the opening then rolls back: no plaintext stays in storage without its session)."""
    try:
        return signing.sign_pdf(
            pdf,
            reason=reason,
            kind=kind,
            object_type=target._meta.label_lower,
            object_id=target.pk,
        )
    except Exception as exc:  # TSA unreachable or refusing, signing key unreadable…
        logger.exception("Opening PV not signed: the opening is undone")
        for opened in results.values():
            if opened.content:
                default_storage.delete(opened.content.name)
        raise _PvNotSigned from exc


def _refuse(actor, consultation, reason: str, message: str, **payload) -> None:
    with transaction.atomic():
        journal.record(
            action="marches.opening.refused",
            actor=actor,
            organisation=consultation.organisation,
            target=consultation,
            payload={"reference": consultation.reference, "reason": reason, **payload},
        )
    raise ValidationError(message, code=reason)


def _seat_of(actor: User, consultation_pk: int):
    seat = selectors.commission_seats(actor).filter(commission__consultation_id=consultation_pk)
    seat = seat.first()
    if seat is None:
        raise PermissionDenied("Seuls les membres de la commission d'ouverture ouvrent les plis.")
    if not selectors.is_commission_member(actor, seat.commission.consultation.organisation):
        raise PermissionDenied("Votre rôle de membre de commission d'ouverture n'est plus actif.")
    return seat


def _rebuild_key(actor, commission, shares: dict[int, str]) -> tuple[bytes, list]:
    """The opening key from at least k valid shares (in memory only), and the valid shares
    as (position, member label, words); a refusal is journaled."""
    consultation = commission.consultation
    public_key = commission.public_key_bytes
    valid: list[tuple[int, str, str]] = []
    rejected: list[int] = []
    for member in commission.members.all():
        text = (shares.get(member.position) or "").strip()
        if not text:
            continue
        if sealing.verify_share(text, member.share_commitment, public_key):
            valid.append((member.position, member.user_label, text))
        else:
            rejected.append(member.position)
    if len(valid) < commission.threshold:
        detail = (
            f" Part(s) non reconnue(s) : n° {', '.join(map(str, rejected))}." if rejected else ""
        )
        _refuse(
            actor,
            consultation,
            "too_few_shares",
            f"Ouverture refusée : {len(valid)} part(s) valide(s), il en faut "
            f"{commission.threshold}.{detail}",
            valid=[p for p, _, _ in valid],
            rejected=rejected,
        )
    try:
        key = sealing.combine_shares([t for _, _, t in valid], commission.threshold, public_key)
    except sealing.ShareError as exc:
        _refuse(actor, consultation, "shares", f"Ouverture refusée : {exc}")
    return key, valid


def open_plis(*, actor: User, consultation_pk: int, shares: dict[int, str]) -> OpeningSession:
    """Open the plis with the shares supplied (share position → words)."""
    commission = _seat_of(actor, consultation_pk).commission
    consultation = commission.consultation
    if OpeningSession.objects.filter(consultation=consultation).exists():
        raise ValidationError("Les plis de cette consultation ont déjà été ouverts.", code="done")
    now = clock.now()
    if now <= consultation.bids_deadline:
        _refuse(
            actor,
            consultation,
            "before_deadline",
            "Ouverture refusée : la date limite de remise des plis n'est pas passée.",
            at=now,
        )
    key, valid = _rebuild_key(actor, commission, shares)
    try:
        return _open_in_session(actor, consultation, key, valid, now)
    except _PvNotSigned:
        _refuse(actor, consultation, "pv_not_signed", PV_NOT_SIGNED)


def _open_in_session(actor, consultation, key: bytes, valid, now) -> OpeningSession:
    with transaction.atomic():
        Consultation.objects.select_for_update().get(pk=consultation.pk)
        if OpeningSession.objects.filter(consultation=consultation).exists():
            raise ValidationError("Les plis de cette consultation ont déjà été ouverts.")
        session = OpeningSession.objects.create(
            consultation=consultation,
            opened_at=now,
            opened_by=actor,
            share_holders=[f"Part {p} — {label}" for p, label, _ in valid],
        )
        plis = list(
            consultation.plis.exclude(status=PliStatus.EN_COURS)
            .prefetch_related("files__lot")
            .order_by("completed_at", "pk")
        )
        results = {}
        for pli in plis:
            if pli.status != PliStatus.RECU:
                continue
            for pli_file in pli.files.all():
                results[pli_file.pk] = _open_file(session, pli_file, key)
        del key
        from .receipts import build_pv

        pdf = _signed_pv(
            build_pv(session, plis, results),
            f"Procès-verbal d'ouverture des plis ({consultation.reference})",
            results,
            kind="pv_ouverture",
            target=session,
        )
        session.pv.save(f"pv-ouverture-{consultation.pk}.pdf", ContentFile(pdf), save=True)
        failures = [r.pli_file_id for r in results.values() if not r.intact]
        journal.record(
            action="marches.opening.done",
            actor=actor,
            organisation=consultation.organisation,
            target=session,
            payload={
                "reference": consultation.reference,
                "shares": [p for p, _, _ in valid],
                "opened_plis": [p.pk for p in plis if p.status == PliStatus.RECU],
                "late_plis": [p.pk for p in plis if p.status == PliStatus.HORS_DELAI],
                "integrity_failures": failures,
            },
        )
    return session


MIN_LATE_REASON = 20


def open_late_pli(
    *, actor: User, consultation_pk: int, pli_pk: int, shares: dict[int, str], reason: str
) -> LateOpening:
    """Open a pli received after the deadline, once the buyer has decided to examine it (a
    late bid must be examined when the company shows it acted in time and its equipment
    worked, or when the platform cannot prove it worked: CE 23 sept. 2021, n° 449250).

    Needs the main opening done, k valid shares again and the motivation; its files are
    decrypted and checked like the others and a complementary PV is signed. The pli then
    joins the analysis."""
    commission = _seat_of(actor, consultation_pk).commission
    consultation = commission.consultation
    session = OpeningSession.objects.filter(consultation=consultation).first()
    if session is None:
        raise ValidationError(
            "Ouvrez d'abord les plis reçus dans les délais (séance d'ouverture).", code="order"
        )
    pli = consultation.plis.filter(pk=pli_pk, status=PliStatus.HORS_DELAI).first()
    if pli is None:
        raise ValidationError("Ce pli n'est pas un pli reçu hors délai de la consultation.")
    reason = (reason or "").strip()
    if len(reason) < MIN_LATE_REASON:
        raise ValidationError(
            "Motivez l'ouverture de ce pli hors délai (au moins "
            f"{MIN_LATE_REASON} caractères) : décision de l'acheteur, éléments apportés par "
            "l'entreprise, état de la plateforme.",
            code="reason",
        )
    key, valid = _rebuild_key(actor, commission, shares)
    try:
        return _open_late(actor, consultation, session, pli, key, valid, reason)
    except _PvNotSigned:
        _refuse(actor, consultation, "pv_not_signed", PV_NOT_SIGNED, pli=pli.pk)


def _open_late(actor, consultation, session, pli, key: bytes, valid, reason) -> LateOpening:
    now = clock.now()
    with transaction.atomic():
        Consultation.objects.select_for_update().get(pk=consultation.pk)
        if LateOpening.objects.filter(pli=pli).exists():
            raise ValidationError("Ce pli hors délai est déjà ouvert.", code="done")
        late = LateOpening.objects.create(
            pli=pli,
            session=session,
            opened_at=now,
            opened_by=actor,
            reason=reason,
            share_holders=[f"Part {p} — {label}" for p, label, _ in valid],
        )
        results = {f.pk: _open_file(session, f, key) for f in pli.files.all()}
        del key
        from .receipts import build_late_pv

        pdf = _signed_pv(
            build_late_pv(late, results),
            f"Procès-verbal d'ouverture d'un pli hors délai ({consultation.reference})",
            results,
            kind="pv_hors_delai",
            target=late,
        )
        late.pv.save(f"pv-hors-delai-{consultation.pk}-{pli.pk}.pdf", ContentFile(pdf))
        late.save(update_fields=["pv"])
        journal.record(
            action="marches.opening.late_pli_opened",
            actor=actor,
            organisation=consultation.organisation,
            target=late,
            payload={
                "reference": consultation.reference,
                "pli": pli.pk,
                "completed_at": pli.completed_at,
                "reason": reason,
                "shares": [p for p, _, _ in valid],
                "integrity_failures": [r.pli_file_id for r in results.values() if not r.intact],
            },
        )
    return late
