"""Writes of the procurement room. Each function is keyword-only and typed, checks who may act,
validates, changes the database and writes the journal in one transaction; e-mails leave only
once the transaction is committed.

The consultation's life is an explicit state machine (TRANSITIONS):

    brouillon ─publish→ publiée ─close (deadline passed)→ clôturée ─→ attribuée
        │                 │                                   ├──→ infructueuse
        └──→ annulée ←────┴───────────────────────────────────┴──→ annulée
"""

import hashlib
import hmac
import logging
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from emegalis.adhesions.access import require_service
from emegalis.core import clock, db_hygiene, journal, sealing
from emegalis.core.services_catalog import Service
from emegalis.core.validators import check_single_line, forbidden_characters
from emegalis.organisations.models import Organisation, OrganisationKind, User

from . import conf, cpv, delays, search_backend, selectors
from .models import (
    CommissionMember,
    Consultation,
    DceFile,
    DceVersion,
    Lot,
    MemberKey,
    Nature,
    OpeningCommission,
    Procedure,
    Question,
    Retrait,
    SavedSearch,
    State,
)

logger = logging.getLogger(__name__)

TRANSITIONS: dict[str, frozenset[str]] = {
    State.BROUILLON: frozenset({State.PUBLIEE, State.ANNULEE}),
    State.PUBLIEE: frozenset({State.CLOTUREE, State.ANNULEE}),
    State.CLOTUREE: frozenset({State.ATTRIBUEE, State.INFRUCTUEUSE, State.ANNULEE}),
    State.ATTRIBUEE: frozenset(),
    State.INFRUCTUEUSE: frozenset(),
    State.ANNULEE: frozenset(),
}
# Transitions a buyer triggers from the management page (publication and rectificatifs have
# their own functions, closing happens at the deadline; « attribuée » comes from the award
# decisions of attribution.py, once every lot is decided).
BUYER_TRANSITIONS = frozenset({State.INFRUCTUEUSE, State.ANNULEE})

EDITABLE_FIELDS = (
    "reference",
    "title",
    "object",
    "procedure",
    "nature",
    "cpv_main",
    "cpv_extra",
    "place_of_execution",
    "departement",
    "estimated_value",
    "variants_allowed",
    "signature_required",
    "electronic_submission",
    "prior_information",
    "urgency",
    "contact_name",
    "contact_email",
    "contact_phone",
    "questions_deadline",
    "bids_deadline",
)
MAX_QUESTION_LENGTH = 5000
_FOLDER_PART = re.compile(r"[^\x00-\x1f/\\:*?\"<>|]{1,100}")


# --- Permissions ---------------------------------------------------------------------------------


def require_buyer(user: User, organisation: Organisation) -> None:
    """Only buyers of an organisation whose convention opens « marchés » today may write."""
    if not selectors.is_buyer(user, organisation):
        raise PermissionDenied(
            f"Seuls les acheteurs de {organisation.name} peuvent gérer ses consultations."
        )
    require_service(organisation, Service.MARCHES)


def _check_transition(consultation: Consultation, to: str) -> None:
    if to not in TRANSITIONS[consultation.state]:
        raise ValidationError(
            f"Une consultation « {consultation.get_state_display().lower()} » ne peut pas "
            f"passer à l'état « {State(to).label.lower()} ».",
            code="illegal_transition",
        )


def _set_state(consultation: Consultation, to: str, *, actor: User | None, reason: str = ""):
    previous = consultation.state
    _check_transition(consultation, to)
    consultation.state = to
    consultation.state_changed_at = clock.now()
    consultation.save(update_fields=["state", "state_changed_at", "updated_at"])
    journal.record(
        action="marches.consultation.state_changed",
        actor=actor,
        organisation=consultation.organisation,
        object_type="consultation",
        object_id=consultation.pk,
        payload={"reference": consultation.reference, "from": previous, "to": to, "reason": reason},
    )


# --- Consultations -------------------------------------------------------------------------------


def build_search_document(consultation: Consultation, buyer_name: str | None = None) -> str:
    buyer = buyer_name if buyer_name is not None else consultation.organisation.name
    return search_backend.normalise(
        " ".join(
            [
                consultation.reference,
                consultation.title,
                consultation.object,
                buyer,
                consultation.place_of_execution,
            ]
        )
    )


def _clean_cpv_list(values: Iterable[str] | str) -> list[str]:
    if isinstance(values, str):
        values = re.split(r"[\s,;]+", values)
    codes = []
    for value in values:
        code = cpv.normalise(value)
        if code and code not in codes:
            codes.append(code)
    return codes


def _validate(consultation: Consultation, *, publication: datetime) -> None:
    """Field formats, CPV codes and the legal delays; errors by field, in French."""
    errors: dict[str, list] = {}
    try:
        consultation.full_clean(exclude=["organisation", "created_by"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    for name, codes in (
        ("cpv_main", [consultation.cpv_main]),
        ("cpv_extra", consultation.cpv_extra),
    ):
        for code in codes:
            if not code:
                continue
            try:
                cpv.validate_cpv(code)
            except ValidationError as exc:
                errors.setdefault(name, []).extend(exc.messages)
    if consultation.estimated_value is not None and consultation.estimated_value < 0:
        errors.setdefault("estimated_value", []).append("La valeur estimée ne peut être négative.")
    if consultation.departement:
        from emegalis.organisations.validators import validate_departement

        try:
            validate_departement(consultation.departement)
        except ValidationError as exc:
            errors.setdefault("departement", []).extend(exc.messages)
    try:
        check_single_line(consultation.reference, label="La référence")
    except ValidationError as exc:
        errors.setdefault("reference", []).extend(exc.messages)
    implausible = delays.implausible_deadlines(
        now=clock.now(),
        questions_deadline=consultation.questions_deadline,
        bids_deadline=consultation.bids_deadline,
    )
    for name, messages in implausible.items():
        errors.setdefault(name, []).extend(messages)
    if implausible:
        # The legal delays count Paris dates, which a year-9999 deadline may not have.
        raise ValidationError(errors)
    try:
        delays.check_deadlines(
            procedure=consultation.procedure,
            publication=publication,
            questions_deadline=consultation.questions_deadline,
            bids_deadline=consultation.bids_deadline,
            electronic=consultation.electronic_submission,
            prior_information=consultation.prior_information,
            urgency=consultation.urgency,
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _apply_fields(consultation: Consultation, fields: dict) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        if name == "cpv_extra":
            value = _clean_cpv_list(value or [])
        elif name == "cpv_main":
            value = cpv.normalise(value)
        elif value is None and name not in (
            "estimated_value",
            "questions_deadline",
            "bids_deadline",
        ):
            value = ""
        setattr(consultation, name, value)
    consultation.cpv_search = " " + " ".join(consultation.cpv_codes)


def _save_draft(consultation: Consultation, fields: dict) -> None:
    """Apply the fields to a draft, check it against today's rules and save it; a reference
    the organisation already uses is a field error, not an IntegrityError."""
    _apply_fields(consultation, fields)
    _validate(consultation, publication=clock.now())
    consultation.search_document = build_search_document(consultation)
    try:
        with transaction.atomic():
            consultation.save()
    except IntegrityError:
        raise ValidationError(
            {"reference": ["Votre organisation a déjà une consultation de cette référence."]}
        ) from None


@transaction.atomic
def create_consultation(
    *,
    actor: User,
    organisation: Organisation,
    lots: Iterable[dict] = (),
    **fields,
) -> Consultation:
    """A draft consultation of the organisation (lots optional: number, title, cpv, value)."""
    require_buyer(actor, organisation)
    consultation = Consultation(organisation=organisation, created_by=actor)
    fields.setdefault("departement", organisation.departement)
    _save_draft(consultation, fields)
    for lot in lots:
        _add_lot(consultation, **lot)
    journal.record(
        action="marches.consultation.created",
        actor=actor,
        organisation=organisation,
        object_type="consultation",
        object_id=consultation.pk,
        payload={"reference": consultation.reference, "title": consultation.title},
    )
    return consultation


@transaction.atomic
def update_consultation(*, actor: User, consultation: Consultation, **fields) -> Consultation:
    """Change a draft. Once published, changes go through a rectificatif."""
    require_buyer(actor, consultation.organisation)
    consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
    if consultation.state != State.BROUILLON:
        raise ValidationError(
            "Une consultation publiée ne se modifie plus : publiez un rectificatif.",
            code="not_draft",
        )
    _save_draft(consultation, fields)
    journal.record(
        action="marches.consultation.updated",
        actor=actor,
        organisation=consultation.organisation,
        object_type="consultation",
        object_id=consultation.pk,
        payload={"fields": sorted(fields)},
    )
    return consultation


def _add_lot(
    consultation: Consultation,
    *,
    number: int,
    title: str,
    cpv: str = "",
    estimated_value: Decimal | None = None,
) -> Lot:
    from . import cpv as cpv_codes

    lot = Lot(
        consultation=consultation,
        number=number,
        title=(title or "").strip(),
        cpv=cpv_codes.normalise(cpv),
        estimated_value=estimated_value,
    )
    errors: dict[str, list] = {}
    try:
        lot.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if lot.cpv:
        try:
            cpv_codes.validate_cpv(lot.cpv)
        except ValidationError as exc:
            errors.setdefault("cpv", []).extend(exc.messages)
    if estimated_value is not None and estimated_value < 0:
        errors.setdefault("estimated_value", []).append("La valeur estimée ne peut être négative.")
    if errors:
        raise ValidationError(errors)
    lot.save()
    return lot


@transaction.atomic
def add_lot(
    *,
    actor: User,
    consultation: Consultation,
    number: int,
    title: str,
    cpv: str = "",
    estimated_value: Decimal | None = None,
) -> Lot:
    require_buyer(actor, consultation.organisation)
    if consultation.state != State.BROUILLON:
        raise ValidationError("Les lots ne se modifient plus après la publication.")
    lot = _add_lot(
        consultation, number=number, title=title, cpv=cpv, estimated_value=estimated_value
    )
    journal.record(
        action="marches.lot.added",
        actor=actor,
        organisation=consultation.organisation,
        object_type="consultation",
        object_id=consultation.pk,
        payload={"lot": lot.number, "title": lot.title},
    )
    return lot


@transaction.atomic
def remove_lot(*, actor: User, lot: Lot) -> None:
    consultation = lot.consultation
    require_buyer(actor, consultation.organisation)
    if consultation.state != State.BROUILLON:
        raise ValidationError("Les lots ne se modifient plus après la publication.")
    number = lot.number
    lot.delete()
    journal.record(
        action="marches.lot.removed",
        actor=actor,
        organisation=consultation.organisation,
        object_type="consultation",
        object_id=consultation.pk,
        payload={"lot": number},
    )


# --- DCE -----------------------------------------------------------------------------------------


def clean_folder(folder: str) -> str:
    """« Pièces techniques/Plans » — no empty, dot or reserved parts, at most 5 levels."""
    parts = [p.strip() for p in (folder or "").replace("\\", "/").split("/") if p.strip()]
    if len(parts) > 5 or any(
        p in (".", "..") or not _FOLDER_PART.fullmatch(p) or forbidden_characters(p) for p in parts
    ):
        raise ValidationError(
            {
                "folder": [
                    "Nom de dossier invalide : utilisez des noms simples séparés par « / » "
                    "(5 niveaux au plus, sans « .. » ni caractères spéciaux)."
                ]
            }
        )
    return "/".join(parts)


def clean_filename(name: str) -> str:
    base = posixpath.basename((name or "").replace("\\", "/")).strip()
    # No control or invisible character (a U+202E would disguise the extension in the zip).
    bad = set(forbidden_characters(base))
    base = "".join(c for c in base if c not in bad).strip()[:255]
    if not base or base in (".", ".."):
        raise ValidationError({"file": ["Le fichier n'a pas de nom utilisable."]})
    return base


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
    dce_file.file.save(name, File(uploaded_file, name=name), save=False)
    try:
        dce_file.save()
    except Exception:
        default_storage.delete(dce_file.file.name)
        raise
    journal.record(
        action="marches.dce.file_added",
        actor=actor,
        organisation=consultation.organisation,
        object_type="consultation",
        object_id=consultation.pk,
        payload={"path": dce_file.path, "size": size, "sha256": dce_file.sha256},
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


# --- Publication, rectificatifs, closing, state changes ------------------------------------------


def needs_commission(consultation: Consultation) -> bool:
    """A consultation that takes electronic plis is published with its opening commission
    named (the key ceremony done), so that the plis can be sealed from the first day."""
    return consultation.electronic_submission and not consultation.is_test


@transaction.atomic
def publish(*, actor: User, consultation: Consultation) -> Consultation:
    """brouillon → publiée: the notice goes public and the DCE becomes version 1."""
    require_buyer(actor, consultation.organisation)
    consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
    _check_transition(consultation, State.PUBLIEE)
    now = clock.now()
    _validate(consultation, publication=now)
    staged = selectors.staged_dce_files(consultation)
    if not staged.exists():
        raise ValidationError(
            "Déposez au moins un fichier du DCE avant de publier la consultation.",
            code="empty_dce",
        )
    if needs_commission(consultation) and not hasattr(consultation, "opening_commission"):
        raise ValidationError(
            "Désignez la commission d'ouverture des plis avant de publier : ses membres "
            "détiennent les parts de la clé qui seule ouvrira les plis électroniques.",
            code="no_commission",
        )
    version = DceVersion.objects.create(
        consultation=consultation, number=1, published_at=now, published_by=actor
    )
    staged.update(added_in=version)
    consultation.published_at = now
    consultation.save(update_fields=["published_at"])
    _set_state(consultation, State.PUBLIEE, actor=actor)
    journal.record(
        action="marches.consultation.published",
        actor=actor,
        organisation=consultation.organisation,
        object_type="consultation",
        object_id=consultation.pk,
        payload={
            "reference": consultation.reference,
            "bids_deadline": consultation.bids_deadline,
            "questions_deadline": consultation.questions_deadline,
            "dce_files": list(version.added_files.values_list("sha256", flat=True)),
        },
    )
    return consultation


def _notice_url(consultation: Consultation) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("marches_notice", args=[consultation.pk])


def _email_each(recipients: Iterable[str], subject: str, body: str) -> None:
    """One message per recipient: nobody learns who else downloaded the DCE."""
    for address in sorted(set(recipients)):
        try:
            send_mail(subject, body, None, [address])
        except Exception:
            logger.exception("Procurement e-mail to %s failed", address)


@transaction.atomic
def publish_rectificatif(
    *,
    actor: User,
    consultation: Consultation,
    reason: str,
    questions_deadline: datetime | None = None,
    bids_deadline: datetime | None = None,
) -> DceVersion:
    """A new version of the DCE (staged files in, planned removals out, deadlines moved), with
    its reason; every identified earlier downloader gets an e-mail."""
    require_buyer(actor, consultation.organisation)
    consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
    if consultation.state != State.PUBLIEE:
        raise ValidationError("Un rectificatif ne se publie que sur une consultation publiée.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Indiquez le motif du rectificatif."]})
    staged = selectors.staged_dce_files(consultation)
    removals = selectors.current_dce_files(consultation).filter(pending_removal=True)
    changes: dict = {}
    if questions_deadline and questions_deadline != consultation.questions_deadline:
        changes["questions_deadline"] = questions_deadline
    if bids_deadline and bids_deadline != consultation.bids_deadline:
        changes["bids_deadline"] = bids_deadline
    if not (staged.exists() or removals.exists() or changes):
        raise ValidationError(
            "Rien à publier : déposez ou retirez un fichier du DCE, ou changez une date limite."
        )
    if changes:
        now = clock.now()
        for name, value in changes.items():
            if value <= now:
                raise ValidationError({name: ["La nouvelle date doit être dans le futur."]})
            setattr(consultation, name, value)
        # The legal minimum still runs from the original publication.
        _validate(consultation, publication=consultation.published_at)
        consultation.save(update_fields=[*changes, "updated_at"])
    previous = selectors.latest_version(consultation)
    version = DceVersion.objects.create(
        consultation=consultation,
        number=previous.number + 1,
        published_at=clock.now(),
        reason=reason,
        published_by=actor,
    )
    added = list(staged.values_list("name", flat=True))
    removed = list(removals.values_list("name", flat=True))
    staged.update(added_in=version)
    removals.update(removed_in=version, pending_removal=False)
    recipients = list(
        selectors.identified_downloaders(consultation).values_list("email", flat=True)
    )
    journal.record(
        action="marches.consultation.rectificatif",
        actor=actor,
        organisation=consultation.organisation,
        object_type="consultation",
        object_id=consultation.pk,
        payload={
            "version": version.number,
            "reason": reason,
            "added": added,
            "removed": removed,
            "deadlines": changes,
            "notified": len(recipients),
        },
    )
    subject = f"Rectificatif de la consultation {consultation.reference}"
    lines = [
        "Bonjour,",
        "",
        f"{consultation.organisation.name} a publié un rectificatif (version {version.number} "
        f"du DCE) de la consultation « {consultation.title} » ({consultation.reference}), "
        "dont vous avez retiré le dossier.",
        "",
        f"Motif : {reason}",
    ]
    if added:
        lines.append("Fichiers ajoutés : " + ", ".join(added))
    if removed:
        lines.append("Fichiers retirés : " + ", ".join(removed))
    for name, value in changes.items():
        label = (
            "date limite de remise des plis"
            if name == "bids_deadline"
            else "date limite des questions"
        )
        lines.append(f"Nouvelle {label} : {_local(value)}")
    lines += ["", f"Avis et DCE à jour : {_notice_url(consultation)}", "", "— e-mégalis"]
    body = "\n".join(lines)
    transaction.on_commit(lambda: _email_each(recipients, subject, body))
    return version


def _local(moment: datetime) -> str:
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%d/%m/%Y à %H:%M (heure de Paris)")


@transaction.atomic
def change_state(
    *, actor: User, consultation: Consultation, to: str, reason: str = ""
) -> Consultation:
    """A buyer's decision: infructueuse (after closing) or annulée. « Attribuée » follows the
    award decisions (attribution.decide)."""
    require_buyer(actor, consultation.organisation)
    consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
    if to not in BUYER_TRANSITIONS:
        if to == State.CLOTUREE:
            return _close(consultation, actor=actor)
        raise ValidationError(
            f"L'état « {State(to).label if to in State.values else to} » ne se choisit pas ici.",
            code="illegal_transition",
        )
    if to == State.ANNULEE and not (reason or "").strip():
        raise ValidationError({"reason": ["Indiquez le motif de l'annulation."]})
    _set_state(consultation, to, actor=actor, reason=(reason or "").strip())
    return consultation


def _close(consultation: Consultation, *, actor: User | None) -> Consultation:
    _check_transition(consultation, State.CLOTUREE)
    if consultation.is_test:
        raise ValidationError("La consultation de test reste toujours ouverte.")
    if clock.now() < consultation.bids_deadline:
        raise ValidationError(
            "La consultation ne peut être clôturée qu'après sa date limite de remise des plis.",
            code="deadline_not_passed",
        )
    _set_state(consultation, State.CLOTUREE, actor=actor, reason="date limite passée")
    return consultation


def close_due_consultations(*, now: datetime | None = None) -> int:
    """Close every published consultation whose bids deadline has passed (scheduled job)."""
    now = now or clock.now()
    closed = 0
    due = Consultation.objects.filter(
        state=State.PUBLIEE, bids_deadline__lte=now, is_test=False
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            consultation = Consultation.objects.select_for_update().get(pk=pk)
            if consultation.state == State.PUBLIEE and consultation.bids_deadline <= clock.now():
                _close(consultation, actor=None)
                closed += 1
    return closed


# --- Retraits ------------------------------------------------------------------------------------


@transaction.atomic
def record_retrait(
    *,
    consultation: Consultation,
    user: User | None,
    organisation: Organisation | None,
    kind: str,
    dce_file: DceFile | None = None,
) -> Retrait:
    """Register one download (identified when a user is logged in, anonymous otherwise)."""
    if not consultation.is_public:
        raise PermissionDenied("Cette consultation n'est pas publiée.")
    version = selectors.latest_version(consultation)
    if version is None:
        raise ValidationError("Cette consultation n'a pas de DCE publié.")
    identified = user is not None and user.is_authenticated
    retrait = Retrait.objects.create(
        consultation=consultation,
        version=version,
        kind=kind,
        file=dce_file,
        user=user if identified else None,
        organisation=organisation if identified else None,
        user_label=(f"{user.get_full_name()} <{user.email}>".strip() if identified else "")[:255],
        organisation_label=(organisation.name if identified and organisation else "")[:255],
        organisation_siret=(organisation.siret if identified and organisation else ""),
        downloaded_at=clock.now(),
    )
    journal.record(
        action="marches.retrait",
        actor=user if identified else None,
        organisation=organisation if identified else None,
        object_type="consultation",
        object_id=consultation.pk,
        payload={
            "version": version.number,
            "kind": kind,
            "file": dce_file.path if dce_file else "",
            "anonymous": not identified,
        },
    )
    return retrait


# --- Questions -----------------------------------------------------------------------------------


@transaction.atomic
def ask_question(
    *,
    actor: User,
    organisation: Organisation | None,
    consultation: Consultation,
    text: str,
) -> Question:
    """A company asks a question, before the question deadline of a published consultation."""
    if not actor.is_authenticated:
        raise PermissionDenied("Identifiez-vous pour poser une question.")
    if consultation.state != State.PUBLIEE:
        raise ValidationError("Cette consultation n'accepte plus de questions.")
    now = clock.now()
    if not selectors.questions_open(consultation):
        raise ValidationError(
            "La date limite des questions est passée "
            f"({_local(consultation.questions_deadline)}) : la question n'est pas enregistrée.",
            code="questions_closed",
        )
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": ["Écrivez votre question."]})
    if len(text) > MAX_QUESTION_LENGTH:
        raise ValidationError({"text": [f"La question dépasse {MAX_QUESTION_LENGTH} caractères."]})
    question = Question.objects.create(
        consultation=consultation,
        text=text,
        asked_by=actor,
        organisation=organisation,
        asked_at=now,
    )
    journal.record(
        action="marches.question.asked",
        actor=actor,
        organisation=organisation,
        object_type="consultation",
        object_id=consultation.pk,
        payload={"question": question.pk, "sha256": hashlib.sha256(text.encode()).hexdigest()},
    )
    if consultation.contact_email:
        subject = f"Nouvelle question sur la consultation {consultation.reference}"
        body = (
            f"Une question a été posée sur la consultation « {consultation.title} » "
            f"({consultation.reference}). Répondez-y depuis la plateforme :\n"
            + settings.SITE_URL.rstrip("/")
            + reverse("marches_buyer_detail", args=[consultation.pk])
        )
        address = consultation.contact_email
        transaction.on_commit(lambda: _email_each([address], subject, body))
    return question


@transaction.atomic
def answer_question(*, actor: User, question: Question, answer: str) -> Question:
    """The buyer answers; the answer is published on the notice and e-mailed to every
    identified downloader and to the asker, without the asker's identity."""
    consultation = question.consultation
    require_buyer(actor, consultation.organisation)
    question = Question.objects.select_for_update().get(pk=question.pk)
    if question.is_answered:
        raise ValidationError("Cette question a déjà une réponse publiée.")
    if consultation.state not in (State.PUBLIEE, State.CLOTUREE):
        raise ValidationError("Cette consultation n'accepte plus de réponse.")
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError({"answer": ["Écrivez la réponse."]})
    if len(answer) > MAX_QUESTION_LENGTH * 2:
        raise ValidationError({"answer": ["La réponse est trop longue."]})
    question.answer = answer
    question.answered_at = clock.now()
    question.answered_by = actor
    question.save(update_fields=["answer", "answered_at", "answered_by"])
    recipients = set(selectors.identified_downloaders(consultation).values_list("email", flat=True))
    if question.asked_by is not None and question.asked_by.is_active:
        recipients.add(question.asked_by.email)
    journal.record(
        action="marches.question.answered",
        actor=actor,
        organisation=consultation.organisation,
        object_type="consultation",
        object_id=consultation.pk,
        payload={"question": question.pk, "notified": len(recipients)},
    )
    subject = f"Réponse à une question — consultation {consultation.reference}"
    body = "\n".join(
        [
            "Bonjour,",
            "",
            f"{consultation.organisation.name} a répondu à une question posée sur la "
            f"consultation « {consultation.title} » ({consultation.reference}).",
            "",
            "Question :",
            question.text,
            "",
            "Réponse :",
            answer,
            "",
            f"Toutes les réponses : {_notice_url(consultation)}",
            "",
            "— e-mégalis",
        ]
    )
    transaction.on_commit(lambda: _email_each(recipients, subject, body))
    return question


# --- Alerts --------------------------------------------------------------------------------------


@transaction.atomic
def save_search(*, user: User, name: str, params: selectors.SearchParams) -> SavedSearch:
    if not user.is_authenticated:
        raise PermissionDenied("Identifiez-vous pour enregistrer une alerte.")
    name = (name or "").strip()[:100]
    if not name:
        raise ValidationError({"name": ["Donnez un nom à l'alerte."]})
    criteria = params.to_json()
    if not criteria:
        raise ValidationError("Choisissez au moins un critère avant d'enregistrer l'alerte.")
    if selectors.alerts_of(user).count() >= 50:
        raise ValidationError("Vous avez atteint le nombre maximal d'alertes (50).")
    alert = SavedSearch.objects.create(
        user=user, name=name, params=criteria, checked_until=clock.now()
    )
    journal.record(
        action="marches.alert.saved",
        actor=user,
        object_type="alert",
        object_id=alert.pk,
        payload={"name": name, "params": criteria},
    )
    return alert


@transaction.atomic
def delete_search(*, user: User, alert: SavedSearch) -> None:
    if alert.user_id != user.pk:
        raise PermissionDenied("Cette alerte ne vous appartient pas.")
    alert.delete()


def send_alert(*, alert: SavedSearch, now: datetime | None = None) -> int:
    """E-mail the consultations published since the alert was last checked; returns how many."""
    now = now or clock.now()
    params = selectors.SearchParams.from_json(alert.params)
    new = list(
        selectors.search_consultations(params).filter(
            published_at__gt=alert.checked_until, published_at__lte=now
        )[:50]
    )
    if new and alert.user.is_active:
        lines = [
            "Bonjour,",
            "",
            f"Nouvelles consultations pour votre alerte « {alert.name} » :",
            "",
        ]
        for consultation in new:
            lines.append(
                f"- {consultation.title} — {consultation.organisation.name} — date limite "
                f"{_local(consultation.bids_deadline)}\n  {_notice_url(consultation)}"
            )
        lines += ["", "Gérez vos alertes sur e-mégalis.", "— e-mégalis"]
        _email_each(
            [alert.user.email],
            f"e-mégalis : {len(new)} nouvelle(s) consultation(s) — {alert.name}",
            "\n".join(lines),
        )
    SavedSearch.objects.filter(pk=alert.pk).update(checked_until=now)
    return len(new)


# --- The always-open test consultation -----------------------------------------------------------

TEST_REFERENCE = "TEST-POSTE"
TEST_DEADLINE = datetime(2099, 12, 31, 18, 0, tzinfo=UTC)


@transaction.atomic
def ensure_test_consultation(*, organisation: Organisation) -> Consultation:
    """The consultation where companies check their workstation (arrêté du 22 mars 2019,
    art. 1 II 3°): always published, never closed, its deadline kept a year ahead."""
    from django.core.files.base import ContentFile

    now = clock.now()
    consultation = Consultation.objects.filter(organisation=organisation, is_test=True).first()
    if consultation is None:
        consultation = Consultation(
            organisation=organisation,
            reference=TEST_REFERENCE,
            title="Consultation de test — vérifiez votre poste et simulez un dépôt",
            object=(
                "Consultation fictive, toujours ouverte : téléchargez le DCE, posez une "
                "question et simulez un dépôt pour vérifier que votre poste de travail est "
                "prêt avant une vraie consultation."
            ),
            procedure=Procedure.MAPA,
            nature=Nature.SERVICES,
            cpv_main="79000000-4",
            departement=organisation.departement,
            is_test=True,
            contact_name="Support e-mégalis",
            contact_email="",
        )
    # Far-future deadlines: always open, found by every search of open consultations.
    consultation.questions_deadline = TEST_DEADLINE - timedelta(days=1)
    consultation.bids_deadline = TEST_DEADLINE
    consultation.cpv_search = " " + " ".join(consultation.cpv_codes)
    consultation.search_document = build_search_document(consultation, organisation.name)
    consultation.save()
    if consultation.state == State.BROUILLON:
        if not consultation.dce_versions.exists():
            dce = DceFile(
                consultation=consultation,
                name="reglement-de-consultation-test.txt",
                size=0,
                sha256="",
                content_type="text/plain",
            )
            content = (
                "Règlement de la consultation de test e-mégalis.\n"
                "Ce fichier sert à vérifier le téléchargement du DCE.\n"
            ).encode()
            dce.size = len(content)
            dce.sha256 = hashlib.sha256(content).hexdigest()
            dce.file.save(dce.name, ContentFile(content), save=False)
            dce.save()
            version = DceVersion.objects.create(
                consultation=consultation, number=1, published_at=now
            )
            consultation.dce_files.filter(added_in__isnull=True).update(added_in=version)
        consultation.published_at = now
        consultation.state = State.PUBLIEE
        consultation.state_changed_at = now
        consultation.save()
        journal.record(
            action="marches.consultation.published",
            organisation=organisation,
            object_type="consultation",
            object_id=consultation.pk,
            payload={"reference": consultation.reference, "test": True},
        )
    return consultation


def simulate_deposit(*, uploaded_files: Iterable) -> list[dict]:
    """Read each file in chunks and return its size and SHA-256; nothing is stored."""
    receipt = []
    for uploaded in uploaded_files:
        digest = hashlib.sha256()
        size = 0
        for chunk in uploaded.chunks():
            digest.update(chunk)
            size += len(chunk)
        receipt.append(
            {"name": clean_filename(uploaded.name), "size": size, "sha256": digest.hexdigest()}
        )
    if not receipt:
        raise ValidationError("Choisissez au moins un fichier pour simuler le dépôt.")
    return receipt


# --- Companies -----------------------------------------------------------------------------------


@transaction.atomic
def update_company_profile(*, actor: User, company: Organisation, **fields) -> Organisation:
    allowed = {"name", "address", "postcode", "city", "email"}
    if company.kind != OrganisationKind.ENTREPRISE:
        raise PermissionDenied("Cette organisation n'est pas une entreprise.")
    if not actor.memberships.filter(organisation=company, is_active=True).exists():
        raise PermissionDenied("Vous n'êtes pas rattaché à cette entreprise.")
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(company, name, (value or "").strip())
    company.full_clean()
    company.save()
    journal.record(
        action="marches.company.profile_updated",
        actor=actor,
        organisation=company,
        object_type="organisation",
        object_id=company.pk,
        payload={"fields": sorted(fields)},
    )
    return company


# --- Opening commission: the key ceremony --------------------------------------------------------

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
        if consultation.is_test:
            raise ValidationError(
                "La consultation de test n'a pas de commission d'ouverture.", code="test"
            )
        if consultation.state not in (State.BROUILLON, State.PUBLIEE):
            raise ValidationError(
                "La commission d'ouverture se désigne avant la date limite, sur une consultation "
                "en brouillon ou publiée.",
                code="state",
            )
        if clock.now() >= consultation.bids_deadline:
            raise ValidationError(
                "La date limite de remise des plis est passée : trop tard pour créer les clés "
                "d'ouverture.",
                code="deadline",
            )
        if OpeningCommission.objects.filter(consultation=consultation).exists():
            raise ValidationError(
                "La commission d'ouverture de cette consultation est déjà désignée et ses clés "
                "créées.",
                code="exists",
            )
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
