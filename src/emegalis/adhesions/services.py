"""Writes on conventions, contributions and their calls.

Every function is keyword-only, checks that the actor may write (platform staff only; `None`
stands for the platform itself, as in the demo loader or a management command), validates,
changes the database and writes the journal in one transaction.
"""

import hashlib
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, connection, transaction

from emegalis.core import clock, journal
from emegalis.core.pdf import DocumentBuilder, check_pdf, format_date, format_euros, to_cents
from emegalis.core.services_catalog import Service
from emegalis.core.state_machine import StateMachine
from emegalis.core.stored_files import deleted_on_failure
from emegalis.core.validators import check_single_line
from emegalis.organisations.models import (
    PUBLIC_BUYER_KINDS,
    Organisation,
    OrganisationKind,
    User,
)

from .models import (
    VAT_RATE,
    Charge,
    Contribution,
    ContributionCall,
    Convention,
    ConventionKind,
    ConventionService,
    ConventionStatus,
    ConventionStatusChange,
)

# The convention state machine: from a status, the statuses it may move to.
_TRANSITIONS: dict[str, frozenset[str]] = {
    ConventionStatus.PROSPECT: frozenset({ConventionStatus.EN_COURS, ConventionStatus.REFUS}),
    ConventionStatus.EN_COURS: frozenset({ConventionStatus.ADHERENT, ConventionStatus.REFUS}),
    ConventionStatus.ADHERENT: frozenset({ConventionStatus.RESILIE}),
    ConventionStatus.REFUS: frozenset({ConventionStatus.PROSPECT}),
    ConventionStatus.RESILIE: frozenset({ConventionStatus.PROSPECT}),
}


def _convention_refusal(current: str | None, target: str) -> str:
    allowed = sorted(CONVENTION_STATES.allowed(current))
    hint = (
        " Statuts possibles : " + ", ".join(f"« {_status_label(s)} »" for s in allowed) + "."
        if allowed
        else ""
    )
    return (
        f"Passage impossible du statut « {_status_label(current)} » au statut "
        f"« {_status_label(target)} ».{hint}"
    )


CONVENTION_STATES = StateMachine(_TRANSITIONS, refusal=_convention_refusal)

PAYMENT_DELAY_DAYS = 30
# Arbitrary constant ("ac") naming the PostgreSQL advisory locks that serialise call numbering,
# one lock per (constant, year).
_CALL_NUMBERING_LOCK_CLASS = 0x6163
MIN_YEAR, MAX_YEAR = 2000, 2100
# Every adhésions date lies in the years the adhésions accept: a date outside them is a typing
# mistake (1800 for 2018, 9999 as « no end ») that would skew who may use which service.
EARLIEST_DATE, LATEST_DATE = date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)


def _require_staff(actor: User | None, what: str) -> None:
    if actor is not None and not actor.is_platform_staff:
        raise PermissionDenied(f"Seul le personnel du syndicat peut {what}.")


def _status_label(status: str) -> str:
    return ConventionStatus(status).label.lower()


def _clean_services(services: Iterable[str]) -> list[str]:
    services = sorted(set(services))
    unknown = [s for s in services if s not in Service.values]
    if unknown:
        raise ValidationError(f"Service inconnu : {', '.join(unknown)}.", code="unknown_service")
    return services


def date_problem(value: date | None, *, label: str = "La date") -> str | None:
    """Why an adhésions date is implausible (French), or None."""
    if value is None or EARLIEST_DATE <= value <= LATEST_DATE:
        return None
    return (
        f"{label} ({value:%d/%m/%Y}) doit être comprise entre le {EARLIEST_DATE:%d/%m/%Y} et "
        f"le {LATEST_DATE:%d/%m/%Y}, les années que gèrent les adhésions : vérifiez l'année "
        "saisie (laissez la date de fin vide pour une convention sans terme)."
    )


def _check_dates(**labelled: tuple[date | None, str]) -> None:
    """Raise the field errors of every implausible date (`name=(value, label)`)."""
    errors = {
        name: [problem]
        for name, (value, label) in labelled.items()
        if (problem := date_problem(value, label=label))
    }
    if errors:
        raise ValidationError(errors)


def _check_single_lines(**labelled: tuple[str, str]) -> None:
    errors = {}
    for name, (value, label) in labelled.items():
        try:
            check_single_line(value, label=label)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)


def _check_year(year: int) -> None:
    if not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(
            f"L'année doit être comprise entre {MIN_YEAR} et {MAX_YEAR}.", code="bad_year"
        )


# --- Conventions --------------------------------------------------------------------------------


@transaction.atomic
def create_convention(
    *,
    actor: User | None,
    organisation: Organisation,
    kind: str,
    reference: str,
    start_date: date,
    end_date: date | None,
    services: Iterable[str] = (),
    deliberation_reference: str = "",
) -> Convention:
    """Register a convention; it starts as « prospect », dated its start or today if earlier."""
    _require_staff(actor, "enregistrer une convention")
    if organisation.kind not in PUBLIC_BUYER_KINDS:
        raise ValidationError(
            f"Une organisation de type « {organisation.get_kind_display()} » ne signe pas de "
            "convention d'adhésion.",
            code="kind_not_member",
        )
    if kind not in ConventionKind.values:
        raise ValidationError("Type de convention inconnu.", code="bad_kind")
    # The reference names the convention's PDF download and is quoted in e-mails.
    _check_single_lines(
        reference=(reference or "", "La référence"),
        deliberation_reference=(deliberation_reference or "", "La référence de la délibération"),
    )
    _check_dates(start_date=(start_date, "La date de début"), end_date=(end_date, "La date de fin"))
    if end_date is not None and end_date < start_date:
        raise ValidationError(
            "La date de fin de la convention précède sa date de début.", code="end_before_start"
        )
    services = _clean_services(services)
    reference = (reference or "").strip()
    if Convention.objects.filter(reference__iexact=reference).exists():
        raise ValidationError(
            f"Une convention porte déjà la référence « {reference} ».", code="duplicate_reference"
        )
    convention = Convention(
        organisation=organisation,
        kind=kind,
        reference=reference,
        start_date=start_date,
        end_date=end_date,
        deliberation_reference=(deliberation_reference or "").strip(),
        current_status=ConventionStatus.PROSPECT,
    )
    convention.full_clean()
    convention.save()
    ConventionStatusChange.objects.create(
        convention=convention,
        status=ConventionStatus.PROSPECT,
        effective_on=min(start_date, clock.today()),
        note="Création de la convention",
        recorded_by=actor,
    )
    ConventionService.objects.bulk_create(
        ConventionService(convention=convention, service=s) for s in services
    )
    journal.record(
        action="convention.created",
        actor=actor,
        organisation=organisation,
        target=convention,
        payload={
            "reference": convention.reference,
            "kind": kind,
            "start_date": start_date,
            "end_date": end_date,
            "services": services,
            "deliberation_reference": convention.deliberation_reference,
        },
    )
    return convention


def latest_status_change(convention: Convention) -> ConventionStatusChange | None:
    return (
        ConventionStatusChange.objects.filter(convention=convention)
        .order_by("-effective_on", "-id")
        .first()
    )


def allowed_next_statuses(convention: Convention) -> list[str]:
    latest = latest_status_change(convention)
    current = latest.status if latest else ConventionStatus.PROSPECT
    return [s for s in ConventionStatus.values if CONVENTION_STATES.may(current, s)]


@transaction.atomic
def change_convention_status(
    *,
    actor: User | None,
    convention: Convention,
    status: str,
    effective_on: date,
    note: str = "",
) -> ConventionStatusChange:
    """Move a convention to a new status from a date, following CONVENTION_STATES.

    The history is dated and only grows forward: a change may not take effect before the latest
    one. `current_status` is the status of the latest change.
    """
    _require_staff(actor, "changer le statut d'une convention")
    # Lock the row so two operators never both move the convention from the same status.
    convention = Convention.objects.select_for_update().get(pk=convention.pk)
    if status not in ConventionStatus.values:
        raise ValidationError("Statut inconnu.", code="bad_status")
    latest = latest_status_change(convention)
    current = latest.status if latest else None
    if current is not None:
        CONVENTION_STATES.check(current, status)
    _check_dates(effective_on=(effective_on, "La date d'effet"))
    if latest is not None and effective_on < latest.effective_on:
        raise ValidationError(
            "La date d'effet ne peut pas précéder celle du dernier changement de statut "
            f"({latest.effective_on:%d/%m/%Y}).",
            code="effective_before_latest",
        )
    note = (note or "").strip()
    if len(note) > 255:
        raise ValidationError("Le commentaire ne doit pas dépasser 255 caractères.")
    change = ConventionStatusChange.objects.create(
        convention=convention,
        status=status,
        effective_on=effective_on,
        note=note,
        recorded_by=actor,
    )
    convention.current_status = status
    convention.save(update_fields=["current_status"])
    journal.record(
        action="convention.status_changed",
        actor=actor,
        organisation=convention.organisation,
        target=convention,
        payload={
            "reference": convention.reference,
            "from": current,
            "to": status,
            "effective_on": effective_on,
            "note": note,
        },
    )
    return change


@transaction.atomic
def set_convention_services(
    *, actor: User | None, convention: Convention, services: Iterable[str]
) -> Convention:
    """Replace the services the convention enables."""
    _require_staff(actor, "changer les services d'une convention")
    services = _clean_services(services)
    convention = Convention.objects.select_for_update().get(pk=convention.pk)
    before = sorted(convention.enabled_services.values_list("service", flat=True))
    convention.enabled_services.exclude(service__in=services).delete()
    ConventionService.objects.bulk_create(
        ConventionService(convention=convention, service=s) for s in services if s not in before
    )
    journal.record(
        action="convention.services_changed",
        actor=actor,
        organisation=convention.organisation,
        target=convention,
        payload={"reference": convention.reference, "before": before, "after": services},
    )
    return convention


def _sha256(file) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in iter(lambda: file.read(64 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def attach_signed_document(
    *,
    actor: User | None,
    convention: Convention,
    file,
    signed_on: date | None = None,
) -> Convention:
    """Store the signed convention (a real PDF only); nothing is stored if anything fails."""
    _require_staff(actor, "déposer le document signé d'une convention")
    check_pdf(file)  # raises a French ValidationError before anything is written
    _check_dates(signed_on=(signed_on, "La date de signature"))
    if signed_on is not None and signed_on > clock.today():
        raise ValidationError("La date de signature ne peut pas être dans le futur.")
    sha256 = _sha256(file)
    name = f"convention-{convention.pk}.pdf"
    if not isinstance(file, File):
        file = File(file, name=name)
    with deleted_on_failure() as saved, transaction.atomic():
        locked = Convention.objects.select_for_update().get(pk=convention.pk)
        previous = locked.signed_document.name
        locked.signed_document.save(name, file, save=False)
        stored_name = saved.add(locked.signed_document.name)
        fields = ["signed_document"]
        if signed_on is not None:
            locked.signed_on = signed_on
            fields.append("signed_on")
        locked.save(update_fields=fields)
        journal.record(
            action="convention.document_attached",
            actor=actor,
            organisation=locked.organisation,
            target=locked,
            payload={
                "reference": locked.reference,
                "file": stored_name,
                "sha256": sha256,
                "replaced": previous or None,
                "signed_on": signed_on,
            },
        )
    # The previous version is kept in storage: the journal refers to it.
    return locked


# --- Contributions ------------------------------------------------------------------------------


def _clean_amount(amount) -> Decimal:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError("Le montant HT n'est pas un nombre.", code="bad_amount") from None
    if not value.is_finite() or value <= 0:
        raise ValidationError("Le montant HT doit être positif.", code="bad_amount")
    if value != to_cents(value):
        raise ValidationError("Le montant HT s'exprime au centime près.", code="bad_amount")
    if value >= Decimal("1e10"):
        raise ValidationError("Le montant HT est trop élevé.", code="bad_amount")
    return value


@transaction.atomic
def create_contribution(
    *,
    actor: User | None,
    payer: Organisation,
    year: int,
    amount_ht: Decimal,
    beneficiaries: Iterable[Organisation],
    label: str = "",
) -> Contribution:
    """A yearly contribution paid by `payer` for the beneficiary organisations."""
    _require_staff(actor, "enregistrer une contribution")
    _check_year(year)
    amount = _clean_amount(amount_ht)
    beneficiaries = list({b.pk: b for b in beneficiaries}.values())
    if not beneficiaries:
        raise ValidationError(
            "Indiquez au moins une organisation bénéficiaire.", code="no_beneficiary"
        )
    if Contribution.objects.filter(payer=payer, year=year).exists():
        raise ValidationError(
            f"{payer.name} a déjà une contribution pour {year}.", code="duplicate_contribution"
        )
    contribution = Contribution(
        payer=payer, year=year, amount_ht=amount, label=(label or "").strip()
    )
    contribution.full_clean()
    contribution.save()
    contribution.beneficiaries.set(beneficiaries)
    journal.record(
        action="contribution.created",
        actor=actor,
        organisation=payer,
        target=contribution,
        payload={
            "year": year,
            "amount_ht": amount,
            "label": contribution.label,
            "beneficiaries": sorted(b.pk for b in beneficiaries),
        },
    )
    return contribution


def compute_amounts(amount_ht: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """HT, TVA and TTC, each rounded to the cent (half up); TTC = HT + TVA exactly."""
    ht = to_cents(amount_ht)
    vat = to_cents(ht * VAT_RATE)
    return ht, vat, ht + vat


def _lock_call_numbering(year: int) -> None:
    """Serialise numbering of a year's calls until the end of the transaction.

    SQLite transactions are IMMEDIATE (one writer at a time); PostgreSQL takes an advisory
    lock per year. The unique constraint on the number stays the last safeguard.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_CALL_NUMBERING_LOCK_CLASS, year]
            )


def _next_sequence(year: int) -> int:
    prefix = f"AC-{year}-"
    numbers = ContributionCall.objects.filter(number__startswith=prefix).values_list(
        "number", flat=True
    )
    used = [int(n[len(prefix) :]) for n in numbers if n[len(prefix) :].isdigit()]
    return max(used, default=0) + 1


def issuer() -> Organisation | None:
    """The syndicat that runs the platform and issues the calls."""
    return Organisation.objects.filter(kind=OrganisationKind.SYNDICAT).order_by("pk").first()


def generate_calls(
    *, actor: User | None, year: int, issued_on: date | None = None
) -> list[ContributionCall]:
    """Issue one numbered call (with its PDF) for each contribution of `year` that has none.

    Idempotent: running it again issues calls only for contributions added since.
    """
    _require_staff(actor, "émettre les appels de contribution")
    _check_year(year)
    issued_on = issued_on or clock.today()
    _check_dates(issued_on=(issued_on, "La date d'émission"))
    try:
        with deleted_on_failure() as stored, transaction.atomic():
            _lock_call_numbering(year)
            contributions = list(
                Contribution.objects.select_for_update(of=("self",))
                .filter(year=year, call__isnull=True)
                .select_related("payer")
                .order_by("payer__name", "pk")
            )
            sequence = _next_sequence(year)
            syndicat = issuer()
            calls = []
            for contribution in contributions:
                call = _issue_call(
                    actor=actor,
                    contribution=contribution,
                    number=f"AC-{year}-{sequence:04d}",
                    issued_on=issued_on,
                    syndicat=syndicat,
                )
                stored.add(call.pdf.name)
                calls.append(call)
                sequence += 1
    except IntegrityError as exc:
        raise ValidationError(
            "Les appels de cette année sont en cours d'émission par ailleurs : réessayez.",
            code="concurrent_numbering",
        ) from exc
    return calls


def _issue_call(
    *,
    actor: User | None,
    contribution: Contribution,
    number: str,
    issued_on: date,
    syndicat: Organisation | None,
) -> ContributionCall:
    ht, vat, ttc = compute_amounts(contribution.amount_ht)
    call = ContributionCall(
        contribution=contribution,
        number=number,
        issued_on=issued_on,
        amount_ht=ht,
        vat_amount=vat,
        amount_ttc=ttc,
    )
    pdf = render_call_pdf(call=call, syndicat=syndicat)
    call.pdf.save(f"{number}.pdf", ContentFile(pdf), save=False)
    with transaction.atomic():
        call.save()
    journal.record(
        action="contribution_call.issued",
        actor=actor,
        organisation=contribution.payer,
        object_type="contribution_call",
        object_id=call.pk,
        payload={
            "number": number,
            "contribution": contribution.pk,
            "year": contribution.year,
            "issued_on": issued_on,
            "amount_ht": ht,
            "vat_amount": vat,
            "amount_ttc": ttc,
            "sha256": hashlib.sha256(pdf).hexdigest(),
        },
    )
    return call


def _address_lines(organisation: Organisation) -> list[str]:
    city = " ".join(p for p in (organisation.postcode, organisation.city) if p)
    return [organisation.name, organisation.address, city, f"SIREN {organisation.siren}"]


def render_call_pdf(*, call: ContributionCall, syndicat: Organisation | None) -> bytes:
    """The appel de contribution as a PDF (in memory)."""
    contribution = call.contribution
    payer = contribution.payer
    beneficiaries = list(contribution.beneficiaries.order_by("name"))
    doc = DocumentBuilder(
        title=f"Appel de contribution n° {call.number}",
        author=syndicat.name if syndicat else "e-mégalis",
        subject=f"Contribution {contribution.year} — {payer.name}",
    )
    if syndicat is not None:
        doc.lines(_address_lines(syndicat))
    else:
        doc.lines(["e-mégalis — syndicat mixte"])
    doc.spacer(6)
    doc.paragraph("Destinataire", style="small")
    doc.lines(_address_lines(payer))
    doc.spacer(8)
    doc.title_line(f"Appel de contribution n° {call.number}")
    doc.paragraph(format_date(call.issued_on), bold_label="Date :")
    obj = contribution.label or (
        f"Contribution annuelle {contribution.year} aux services de la plateforme e-mégalis"
    )
    doc.paragraph(obj, bold_label="Objet :")
    doc.paragraph(str(contribution.year), bold_label="Exercice :")
    doc.spacer(4)
    doc.heading("Organisations bénéficiaires")
    doc.paragraph(
        f"La contribution de {payer.name} couvre, à titre mutualisé, l'accès aux services des "
        f"{len(beneficiaries)} organisations suivantes :"
    )
    doc.table(
        [[b.name, b.siren] for b in beneficiaries],
        header=["Organisation", "SIREN"],
        col_widths_mm=[130, 40],
    )
    doc.heading("Montant appelé")
    doc.table(
        [
            ["Montant hors taxes", format_euros(call.amount_ht, "HT")],
            ["Taxe sur la valeur ajoutée", format_euros(call.vat_amount, "TVA (20 %)")],
            ["Montant toutes taxes comprises", format_euros(call.amount_ttc, "TTC")],
        ],
        col_widths_mm=[100, 70],
        align_right_columns=[1],
        bold_last_row=True,
    )
    doc.heading("Modalités de paiement")
    due = call.issued_on + timedelta(days=PAYMENT_DELAY_DAYS)
    doc.paragraph(
        f"Somme à régler par mandat administratif, au plus tard le {format_date(due)} "
        f"({PAYMENT_DELAY_DAYS} jours à compter de la date d'émission), par virement au "
        f"comptable public du syndicat, en rappelant la référence {call.number}."
    )
    doc.paragraph(
        "Contribution fixée par les statuts du syndicat et la convention d'adhésion ; "
        "TVA appliquée au taux de 20 %.",
        style="small",
    )
    return doc.build()


@transaction.atomic
def mark_call_paid(
    *,
    actor: User | None,
    call: ContributionCall,
    paid_on: date,
    payment_reference: str,
) -> ContributionCall:
    """Record the payment of a call; a call is paid once only."""
    _require_staff(actor, "enregistrer un paiement")
    call = (
        ContributionCall.objects.select_for_update()
        .select_related("contribution__payer")
        .get(pk=call.pk)
    )
    if call.paid_on is not None:
        raise ValidationError(
            f"L'appel {call.number} est déjà payé (le {call.paid_on:%d/%m/%Y}).",
            code="already_paid",
        )
    _check_dates(paid_on=(paid_on, "La date de paiement"))
    if paid_on < call.issued_on:
        raise ValidationError(
            "La date de paiement ne peut pas précéder l'émission de l'appel "
            f"({call.issued_on:%d/%m/%Y}).",
            code="paid_before_issue",
        )
    if paid_on > clock.today():
        raise ValidationError("La date de paiement ne peut pas être dans le futur.")
    payment_reference = (payment_reference or "").strip()
    if not payment_reference:
        raise ValidationError("Indiquez la référence du paiement (mandat, virement).")
    if len(payment_reference) > 100:
        raise ValidationError("La référence du paiement ne doit pas dépasser 100 caractères.")
    call.paid_on = paid_on
    call.payment_reference = payment_reference
    call.save(update_fields=["paid_on", "payment_reference"])
    journal.record(
        action="contribution_call.paid",
        actor=actor,
        organisation=call.contribution.payer,
        object_type="contribution_call",
        object_id=call.pk,
        payload={
            "number": call.number,
            "paid_on": paid_on,
            "payment_reference": payment_reference,
            "amount_ttc": call.amount_ttc,
        },
    )
    return call


@transaction.atomic
def add_charge(
    *, actor: User | None, payer: Organisation, year: int, label: str, amount_ht, source: str
) -> Charge:
    """Charge `payer` an amount beside its contribution (HT, TVA at the platform's rate, TTC).
    Called by another service that has checked its own rights; `source` names what the
    charge comes from, once per payer (a second call for the same source is refused)."""
    _check_year(year)
    amount = to_cents(Decimal(amount_ht))
    if amount < 0:
        raise ValidationError("Un montant refacturé ne peut pas être négatif.")
    label = " ".join(str(label or "").split())[:255]
    if Charge.objects.filter(payer=payer, source=source).exists():
        raise ValidationError(
            f"{payer.name} a déjà été facturée pour « {label} ».", code="duplicate_charge"
        )
    ht, vat, ttc = compute_amounts(amount)
    charge = Charge.objects.create(
        payer=payer,
        year=year,
        label=label,
        amount_ht=ht,
        vat_amount=vat,
        amount_ttc=ttc,
        source=source[:100],
    )
    journal.record(
        action="charge.created",
        actor=actor,
        organisation=payer,
        target=charge,
        payload={"year": year, "label": label, "amount_ht": ht, "source": charge.source},
    )
    return charge
