"""Writes of the procurement room. Each function is keyword-only and typed, checks who may act,
validates, changes the database and writes the journal in one transaction; e-mails leave only
once the transaction is committed.

The consultation's life is an explicit state machine (CONSULTATION_STATES):

    brouillon ─publish→ publiée ─close (deadline passed)→ clôturée ─→ attribuée
        │                 │                                   ├──→ infructueuse
        └──→ annulée ←────┴───────────────────────────────────┴──→ annulée"""

import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from emegalis.core import clock, journal
from emegalis.core.state_machine import StateMachine
from emegalis.core.validators import check_single_line
from emegalis.marches import delays
from emegalis.marches.access import require_buyer
from emegalis.marches.consultations import cpv, search_backend, selectors
from emegalis.marches.consultations.models import (
    Consultation,
    DceFile,
    DceVersion,
    Lot,
    Question,
    Retrait,
    State,
)
from emegalis.organisations.models import Organisation, OrganisationKind, User

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


CONSULTATION_STATES = StateMachine(
    TRANSITIONS,
    refusal=lambda current, to: (
        f"Une consultation « {State(current).label.lower()} » ne peut pas passer à l'état "
        f"« {State(to).label.lower()} »."
    ),
)


def _check_transition(consultation: Consultation, to: str) -> None:
    CONSULTATION_STATES.check(consultation.state, to)


def _set_state(consultation: Consultation, to: str, *, actor: User | None, reason: str = ""):
    previous = consultation.state
    _check_transition(consultation, to)
    consultation.state = to
    consultation.state_changed_at = clock.now()
    consultation.save(update_fields=["state", "state_changed_at", "updated_at"])
    journal_consultation(
        "marches.consultation.state_changed",
        consultation,
        actor,
        {"reference": consultation.reference, "from": previous, "to": to, "reason": reason},
    )


def journal_consultation(
    action: str, consultation: Consultation, actor: User | None, payload: dict
) -> None:
    """A journal entry about a consultation, in its organisation's name."""
    journal.record(
        action=action,
        actor=actor,
        organisation=consultation.organisation,
        target=consultation,
        payload=payload,
    )


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
        _add_lot(consultation, Lot(**lot))
    journal_consultation(
        "marches.consultation.created",
        consultation,
        actor,
        {"reference": consultation.reference, "title": consultation.title},
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
    journal_consultation(
        "marches.consultation.updated", consultation, actor, {"fields": sorted(fields)}
    )
    return consultation


def _add_lot(consultation: Consultation, lot: Lot) -> Lot:
    """Check and save a new lot of the consultation (its number, title, CPV, estimate)."""
    from . import cpv as cpv_codes

    estimated_value = lot.estimated_value
    lot.consultation = consultation
    lot.title = (lot.title or "").strip()
    lot.cpv = cpv_codes.normalise(lot.cpv)
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
        consultation, Lot(number=number, title=title, cpv=cpv, estimated_value=estimated_value)
    )
    journal_consultation(
        "marches.lot.added", consultation, actor, {"lot": lot.number, "title": lot.title}
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
    journal_consultation("marches.lot.removed", consultation, actor, {"lot": number})


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
    journal_consultation(
        "marches.consultation.published",
        consultation,
        actor,
        {
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
    journal_consultation(
        "marches.consultation.rectificatif",
        consultation,
        actor,
        {
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
    journal_consultation(
        "marches.question.asked",
        consultation,
        actor,
        {"question": question.pk, "sha256": hashlib.sha256(text.encode()).hexdigest()},
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
    journal_consultation(
        "marches.question.answered",
        consultation,
        actor,
        {"question": question.pk, "notified": len(recipients)},
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


# --- the consultation team's workspace (outils collaboratifs) ----------------------------------


@transaction.atomic
def open_team_workspace(*, actor: User, consultation: Consultation):
    """A workspace in the outils collaboratifs for the consultation's team: the buyers of its
    organisation (the one who opens it as administrator). Called again, it adds the buyers who
    arrived since. Nothing of the plis ever goes there by itself."""
    from emegalis.collaboratif import services as collaboratif
    from emegalis.organisations.models import RoleAssignment
    from emegalis.organisations.roles import Role

    organisation = consultation.organisation
    require_buyer(actor, organisation)
    buyers = {
        a.membership.user
        for a in RoleAssignment.objects.filter(
            role=Role.ACHETEUR,
            membership__organisation=organisation,
            membership__is_active=True,
            membership__user__is_active=True,
        ).select_related("membership__user")
    } | {actor}
    people = [
        (user, organisation, "administrateur" if user == actor else "contributeur")
        for user in sorted(buyers, key=lambda u: u.pk)
    ]
    workspace = collaboratif.sync_service_workspace(
        source=f"consultation:{consultation.pk}",
        organisation=organisation,
        name=f"Équipe {consultation.reference} — {consultation.title}"[:120],
        people=people,
    )
    if workspace is None:
        raise ValidationError(
            f"La convention de {organisation.name} n'ouvre pas les outils collaboratifs."
        )
    journal.record(
        action="marches.team_workspace_opened",
        actor=actor,
        organisation=organisation,
        target=consultation,
        payload={"workspace": workspace.pk, "members": len(people)},
    )
    return workspace
