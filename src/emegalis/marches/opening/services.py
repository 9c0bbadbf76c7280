"""Writes of the opening stage: the commission and its member keys, the key ceremony and the
share hand-over, then the opening session."""

import hashlib
import hmac
import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse

from emegalis.core import clock, db_hygiene, journal, sealing, signing
from emegalis.marches.access import require_buyer
from emegalis.marches.consultations.models import (
    Consultation,
    State,
)
from emegalis.marches.consultations.services import _email_each, _local
from emegalis.marches.deposit.models import PliFile, PliStatus
from emegalis.marches.deposit.storage import sealed_body
from emegalis.marches.opening import selectors
from emegalis.marches.opening.models import (
    CommissionMember,
    LateOpening,
    MemberKey,
    OpenedFile,
    OpeningCommission,
    OpeningSession,
)
from emegalis.organisations.models import User

MAX_COMMISSION_MEMBERS = 16


def active_member_key(user: User) -> MemberKey | None:
    return MemberKey.objects.filter(user=user, revoked_at__isnull=True).first()


def register_member_key(*, actor: User, public_key: bytes) -> MemberKey:
    """Record the public key a commission member made in their browser (ECDH P-256); the
    shares of the commissions they are named to from now on are encrypted to it. Replaces
    (revokes) their previous key: shares already encrypted to that one still need it."""
    if not selectors.holds_commission_role(actor):
        raise PermissionDenied(
            "Seuls les membres de commission d'ouverture (rôle avec double authentification) "
            "ont une clé de membre."
        )
    try:
        public_key = sealing.check_member_public_key(public_key)
    except sealing.FormatError as exc:
        raise ValidationError(str(exc), code="public_key") from exc
    with transaction.atomic():
        now = clock.now()
        previous = list(
            MemberKey.objects.select_for_update().filter(user=actor, revoked_at__isnull=True)
        )
        for old in previous:
            old.revoked_at = now
            old.save(update_fields=["revoked_at"])
        key = MemberKey.objects.create(user=actor, public_key=public_key.hex(), created_at=now)
        journal.record(
            action="marches.member_key.registered",
            actor=actor,
            organisation=None,
            target=key,
            payload={
                "public_key_sha256": key.fingerprint,
                "replaces": [old.fingerprint for old in previous],
            },
        )
    return key


def commission_naming_refusal(consultation: Consultation) -> str:
    """Why the commission cannot be named now ("" when it can): asked by the buyer's page to
    offer the form, and by create_opening_commission before it acts."""
    if consultation.is_test:
        return "La consultation de test n'a pas de commission d'ouverture."
    if consultation.state not in (State.BROUILLON, State.PUBLIEE):
        return (
            "La commission d'ouverture se désigne avant la date limite, sur une consultation "
            "en brouillon ou publiée."
        )
    if clock.now() >= consultation.bids_deadline:
        return (
            "La date limite de remise des plis est passée : trop tard pour créer les clés "
            "d'ouverture."
        )
    if OpeningCommission.objects.filter(consultation=consultation).exists():
        return (
            "La commission d'ouverture de cette consultation est déjà désignée et ses clés créées."
        )
    return ""


def create_opening_commission(
    *, actor: User, consultation: Consultation, members: Iterable[User], threshold: int
) -> OpeningCommission:
    """The key ceremony: name the commission (n members, k needed) and create the opening key.

    The X25519 key pair is generated in memory; the private key is split into n SLIP-39
    shares (any k rebuild it) and dropped, all in this call. The database keeps the public
    key, a commitment per share, and each share encrypted to its member's own key (made in
    the member's browser) until they collect it (confirm_share_collected): nothing the
    server holds opens a share (ADR 0004).
    """
    require_buyer(actor, consultation.organisation)
    members = list(dict.fromkeys(members))
    with transaction.atomic():
        consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
        refusal = commission_naming_refusal(consultation)
        if refusal:
            raise ValidationError(refusal, code="commission_refused")
        count = len(members)
        if not 2 <= count <= MAX_COMMISSION_MEMBERS:
            raise ValidationError(
                f"Désignez entre 2 et {MAX_COMMISSION_MEMBERS} membres de la commission.",
                code="members",
            )
        if not 2 <= threshold <= count:
            raise ValidationError(
                f"Le nombre de parts nécessaires doit être compris entre 2 et {count}.",
                code="threshold",
            )
        eligible = set(
            selectors.commission_candidates(consultation.organisation).values_list("pk", flat=True)
        )
        outsiders = [m for m in members if m.pk not in eligible]
        if outsiders:
            names = ", ".join(m.email for m in outsiders)
            raise ValidationError(
                f"Pas membre de la commission d'ouverture de {consultation.organisation.name} "
                f"(rôle avec double authentification) : {names}.",
                code="not_commission",
            )
        keys = {m.pk: active_member_key(m) for m in members}
        keyless = [m.email for m in members if keys[m.pk] is None]
        if keyless:
            raise ValidationError(
                "Ces membres n'ont pas encore créé leur clé de membre de commission (page « "
                "Commission d'ouverture », dans leur navigateur) : " + ", ".join(keyless) + ".",
                code="no_member_key",
            )
        now = clock.now()
        pair = sealing.generate_opening_key_pair()
        public_key = pair.public_key
        shares = sealing.split_private_key(pair.private_key, threshold, count)
        # Python cannot wipe memory; the private key is at least not kept referenced.
        del pair
        commission = OpeningCommission.objects.create(
            consultation=consultation,
            threshold=threshold,
            public_key=public_key.hex(),
            created_at=now,
            created_by=actor,
        )
        for position, (user, share) in enumerate(zip(members, shares, strict=True), start=1):
            member_key = keys[user.pk]
            CommissionMember.objects.create(
                commission=commission,
                user=user,
                position=position,
                user_label=f"{user.get_full_name() or user.email} <{user.email}>",
                share_commitment=sealing.share_commitment(share, public_key),
                member_key=member_key,
                encrypted_share=sealing.encrypt_share_to_member(
                    share,
                    member_key.public_key_bytes,
                    sealing.share_context(public_key, position),
                ),
            )
        del shares
        journal.record(
            action="marches.opening_commission.created",
            actor=actor,
            organisation=consultation.organisation,
            target=commission,
            payload={
                "reference": consultation.reference,
                "threshold": threshold,
                "members": [m.email for m in members],
                "public_key_sha256": sealing.public_key_fingerprint(public_key),
            },
        )
        url = settings.SITE_URL.rstrip("/") + reverse(
            "marches_commission_share", args=[consultation.pk]
        )
        subject = f"Part de clé d'ouverture à retirer — {consultation.reference}"
        body = (
            f"Vous êtes membre de la commission d'ouverture de la consultation "
            f"{consultation.reference} « {consultation.title} » "
            f"({consultation.organisation.name}).\n\n"
            f"Votre part de la clé d'ouverture des plis, chiffrée pour la clé de membre que "
            f"vous avez créée dans votre navigateur, est à retirer une seule fois, après "
            f"connexion avec double authentification, depuis ce navigateur (ou avec votre "
            f"fichier de clé) :\n{url}\n\n"
            f"Il faudra {threshold} parts sur {count} pour ouvrir les plis après la date limite. "
            "Conservez la vôtre hors de la plateforme : elle ne la garde pas."
        )
        emails = [m.email for m in members]
        transaction.on_commit(lambda: _email_each(emails, subject, body))
    return commission


MIN_DISSOLVE_REASON = 10


def dissolution_refusal(consultation: Consultation) -> str:
    """Why the opening commission cannot be dissolved now ("" when it can)."""
    if not OpeningCommission.objects.filter(consultation=consultation).exists():
        return "Aucune commission d'ouverture n'est désignée."
    if clock.now() >= consultation.bids_deadline:
        return "La date limite de remise des plis est passée : les clés ne changent plus."
    if consultation.plis.exists():
        return (
            "Des plis ont déjà été chiffrés pour cette commission : ses clés ne peuvent plus "
            "être remplacées."
        )
    return ""


def dissolve_opening_commission(*, actor: User, consultation: Consultation, reason: str) -> None:
    """Undo the key ceremony so that a new commission can be named (a member left before
    collecting their share, a share was lost): allowed only before the deadline and while no
    pli, even incomplete, was sealed to the current key. The shares already given become
    useless; their holders are told. Journaled with the old key's fingerprint."""
    require_buyer(actor, consultation.organisation)
    reason = (reason or "").strip()
    if len(reason) < MIN_DISSOLVE_REASON:
        raise ValidationError(
            "Indiquez pourquoi la cérémonie des clés est recommencée.", code="reason"
        )
    with transaction.atomic():
        consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
        refusal = dissolution_refusal(consultation)
        if refusal:
            raise ValidationError(refusal, code="not_now")
        commission = consultation.opening_commission
        members = list(commission.members.select_related("user").order_by("position"))
        fingerprint = commission.fingerprint
        commission.delete()  # the members' rows and any pending share go with it
        journal.record(
            action="marches.opening_commission.dissolved",
            actor=actor,
            organisation=consultation.organisation,
            target=consultation,
            payload={
                "reference": consultation.reference,
                "public_key_sha256": fingerprint,
                "members": [m.user.email for m in members],
                "collected": [m.user.email for m in members if m.collected_at],
                "reason": reason,
            },
        )
        body = (
            f"La commission d'ouverture de la consultation {consultation.reference} « "
            f"{consultation.title} » a été dissoute par l'acheteur avant tout dépôt ({reason}). "
            "La part de clé que vous avez pu recevoir n'ouvre plus rien : vous pouvez la "
            "détruire. Si vous êtes désigné(e) dans la nouvelle commission, vous recevrez un "
            "nouveau courriel."
        )
        addresses = [m.user.email for m in members]
        transaction.on_commit(
            lambda: _email_each(addresses, f"Commission dissoute — {consultation.reference}", body)
        )


def _own_seat(actor: User, consultation_pk: int, *, lock: bool = False) -> CommissionMember:
    seats = CommissionMember.objects.select_related(
        "commission__consultation__organisation", "member_key"
    )
    if lock:
        seats = seats.select_for_update(of=("self",))
    seat = seats.filter(commission__consultation_id=consultation_pk, user=actor).first()
    if seat is None:
        raise PermissionDenied(
            "Vous n'êtes pas membre de la commission d'ouverture de cette consultation."
        )
    organisation = seat.commission.consultation.organisation
    if not selectors.is_commission_member(actor, organisation):
        raise PermissionDenied(
            f"Votre rôle de membre de commission d'ouverture de {organisation.name} n'est plus "
            "actif."
        )
    return seat


def share_collection_refusal(seat: CommissionMember) -> str:
    """Why the member cannot collect their share now ("" when they can)."""
    if seat.collected_at is not None:
        return (
            f"Votre part vous a déjà été remise le {_local(seat.collected_at)}. La plateforme "
            "ne la conserve pas et ne peut pas la redonner."
        )
    if seat.encrypted_share is None:
        return (
            "Cette part a été créée avant la mise à jour de la plateforme du 5 décembre 2026 et "
            "n'y est plus : l'acheteur doit dissoudre la commission et en désigner une nouvelle."
        )
    return ""


@dataclass(frozen=True)
class EncryptedShare:
    """What the member's browser needs to open their share."""

    seat: CommissionMember
    blob: bytes
    context: bytes
    opening_public_key: bytes
    member_public_key: bytes


def encrypted_share_of(*, actor: User, consultation_pk: int) -> EncryptedShare:
    """The member's share, encrypted to their key: only their browser opens it."""
    seat = _own_seat(actor, consultation_pk)
    refusal = share_collection_refusal(seat)
    if refusal:
        raise ValidationError(refusal, code="not_available")
    public_key = seat.commission.public_key_bytes
    return EncryptedShare(
        seat=seat,
        blob=bytes(seat.encrypted_share),
        context=sealing.share_context(public_key, seat.position),
        opening_public_key=public_key,
        member_public_key=seat.member_key.public_key_bytes,
    )


def confirm_share_collected(
    *, actor: User, consultation_pk: int, commitment: str
) -> CommissionMember:
    """The member's browser opened the share and sends back its commitment (computed from the
    words): when it is the one stored, the share is collected and the encrypted copy erased.
    Once every member has collected, deposits open."""
    with transaction.atomic():
        seat = _own_seat(actor, consultation_pk, lock=True)
        refusal = share_collection_refusal(seat)
        if refusal:
            raise ValidationError(refusal, code="not_available")
        if not hmac.compare_digest((commitment or "").strip().lower(), seat.share_commitment):
            raise ValidationError(
                "La part ouverte dans votre navigateur ne correspond pas à celle de la "
                "cérémonie : rien n'est enregistré. Utilisez la clé de membre à laquelle elle "
                "a été chiffrée.",
                code="commitment",
            )
        commission = seat.commission
        consultation = commission.consultation
        now = clock.now()
        seat.encrypted_share = None
        seat.collected_at = now
        seat.save(update_fields=["encrypted_share", "collected_at"])
        complete = not commission.members.filter(collected_at__isnull=True).exists()
        if complete:
            commission.completed_at = now
            commission.save(update_fields=["completed_at"])
        journal.record(
            action="marches.opening_share.collected",
            actor=actor,
            organisation=consultation.organisation,
            target=seat,
            payload={
                "reference": consultation.reference,
                "position": seat.position,
                "all_collected": complete,
            },
        )
        transaction.on_commit(db_hygiene.checkpoint)
    return seat


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
        from .pv import build_pv

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
        from .pv import build_late_pv

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
