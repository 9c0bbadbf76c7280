"""Writes of acts and classification: the classification of an organisation (imported,
requested), an act created, checked, confirmed, published, cancelled."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db import transaction as db_transaction

from emegalis.actes import conf
from emegalis.actes import protocol as p
from emegalis.actes.access import require_agent
from emegalis.actes.documents import Upload, check_file, store_document, upload_size
from emegalis.actes.lifecycle import enqueue_send, new_transaction, set_status
from emegalis.actes.models import (
    ActesProfile,
    ClassificationVersion,
    Document,
    Transaction,
)
from emegalis.actes.outgoing import acte_message, transaction_stem
from emegalis.actes.protocol import TransactionType
from emegalis.core import clock, journal
from emegalis.core.stored_files import deleted_on_failure
from emegalis.organisations.models import Organisation, User

logger = logging.getLogger(__name__)


S = p.ActStatus


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


def import_classification(
    *, organisation: Organisation, xml: bytes, actor: User | None = None
) -> ClassificationVersion:
    """Store a ``RetourClassification`` for an authority (idempotent per date)."""
    try:
        classification = p.parse_classification(bytes(xml))
    except p.ProtocolError as exc:
        raise ValidationError(f"Classification illisible : {exc.message}") from None
    with db_transaction.atomic():
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


def classification_problem(
    organisation: Organisation, current: ClassificationVersion | None = None
) -> str | None:
    """Why acts cannot be sent with the classification held, or None if they can
    (``current``: the organisation's current version, when the caller already holds it)."""
    current = current or current_classification(organisation)
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


def announce_classification(organisation: Organisation, announced: date | None) -> None:
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
    with db_transaction.atomic():
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
        tx = new_transaction(
            organisation=organisation,
            type=TransactionType.DEMANDE_CLASSIFICATION,
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
        enqueue_send(tx)
    return tx


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
            organisation=organisation,
            type=TransactionType.TRANSMISSION_ACTE,
            numero_interne=data.numero_interne,
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
            shown = ", ".join(f"« {c} » (U+{ord(c):04X})" for c in bad)
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
    problem = classification_problem(organisation, version)
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
            check_file(data.document, label="Le document principal", allowed=("pdf", "xml"))
        except ValidationError as exc:
            add("document", exc.messages[0])
        for i, annexe in enumerate(data.annexes, start=1):
            try:
                check_file(annexe, label=f"L'annexe {i}", allowed=("pdf", "xml", "jpg", "png"))
            except ValidationError as exc:
                add("annexes", exc.messages[0])
    for upload in [data.document, *data.annexes]:
        if upload.signature is not None:
            try:
                check_file(upload.signature, label="Le fichier de signature", allowed=("xml",))
            except ValidationError as exc:
                add("signature", exc.messages[0])
    total = sum(upload_size(u.file) for u in _all_uploads(data))
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
    try:
        with deleted_on_failure() as saved, db_transaction.atomic():
            tx = new_transaction(
                organisation=organisation,
                type=TransactionType.TRANSMISSION_ACTE,
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
            stem = transaction_stem(tx)
            rank = 1
            main = store_document(
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
                doc = store_document(
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
                    store_document(
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
                p.build_acte(acte_message(tx), schema=conf.schema())
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
                enqueue_send(tx)
    except IntegrityError:
        raise ValidationError(
            {"numero_interne": ["Ce numéro d'acte a déjà été utilisé par votre collectivité."]}
        ) from None
    return tx


def confirm_acte(*, actor: User, acte: Transaction) -> Transaction:
    """17 → 1: an agent confirms an act created « en attente » through the API."""
    require_agent(actor, acte.organisation)
    with db_transaction.atomic():
        tx = Transaction.objects.select_for_update().get(pk=acte.pk)
        problem = classification_problem(tx.organisation)
        if problem:
            raise ValidationError(problem)
        set_status(tx, S.POSTE, message="Envoi confirmé par un agent", actor=actor)
        enqueue_send(tx)
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
    if acte.type != TransactionType.TRANSMISSION_ACTE or acte.status not in (
        S.ACQUITTEMENT_RECU,
        S.VALIDE,
        S.REFUSE,
    ):
        raise ValidationError(
            "Seul un acte dont la préfecture a accusé réception peut être publié."
        )
    problem = publication_date_problem(acte, published_on)
    if problem:
        raise ValidationError(problem)
    with db_transaction.atomic():
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


def cancellation_refusal(acte: Transaction) -> str:
    """Why the act's transmission cannot be cancelled now ("" when it can): only after the AR,
    and one pending cancel at most. Asked by the act page to offer the button."""
    if (
        acte.type != TransactionType.TRANSMISSION_ACTE
        or acte.status != S.ACQUITTEMENT_RECU
        or not acte.id_acte
    ):
        return (
            "L'annulation n'est possible qu'une fois l'accusé de réception de la "
            "préfecture reçu (statut « Acquittement reçu »)."
        )
    pending = acte.linked.filter(type=TransactionType.ANNULATION).filter(
        status__gt=S.ANNULE, status__lt=S.ACQUITTEMENT_RECU
    )
    if pending.exists():
        return "Une demande d'annulation est déjà en cours pour cet acte."
    return ""


def cancel_acte(*, actor: User, acte: Transaction) -> Transaction:
    """Send an ``Annulation`` (6-1): only after the AR, and one pending cancel at most."""
    require_agent(actor, acte.organisation)
    with db_transaction.atomic():
        acte = Transaction.objects.select_for_update().get(pk=acte.pk)
        refusal = cancellation_refusal(acte)
        if refusal:
            raise ValidationError(refusal)
        tx = new_transaction(
            organisation=acte.organisation,
            type=TransactionType.ANNULATION,
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
        enqueue_send(tx)
    return tx
