"""Writes of the groupements service: the groupement, its convention and its signatures
(docs/groupements.md). Each function checks who acts, runs in one transaction and journals."""

import hashlib
import logging
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from emegalis.adhesions.access import may_use
from emegalis.core import clock, journal
from emegalis.core.pdf import format_date, format_euros
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import Organisation, User

from . import convention_pdf, member_contracts, needs_statement, sharing, xlsx
from .lifecycle import MACHINE
from .models import (
    AwardedPrice,
    Cao,
    ConventionVersion,
    CostKey,
    Groupement,
    Item,
    Kind,
    Lot,
    LotAllocation,
    Member,
    MemberContract,
    Missions,
    Need,
    ProcedureCost,
    Signature,
    State,
    Survey,
    SurveyState,
)
from .permissions import require_manager, require_referent

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = (
    "object",
    "kind",
    "start_date",
    "end_date",
    "missions",
    "cao",
    "cost_key",
    "fixed_part_percent",
    "joining_rules",
    "withdrawal_rules",
)


def _check_service_open(organisation: Organisation, start: date, end: date) -> None:
    for day in (max(start, clock.today()), end):
        if not may_use(organisation, Service.GROUPEMENTS, on=day):
            raise ValidationError(
                f"La convention d'adhésion de {organisation.name} n'ouvre pas le service "
                f"« Groupements de commandes » au {day:%d/%m/%Y}.",
                code="service_not_open",
            )


def _clean_record(values: dict) -> dict:
    errors = {}
    obj = " ".join(str(values.get("object") or "").split())
    if not obj:
        errors["object"] = "Indiquez l'objet du groupement."
    elif len(obj) > 200:
        errors["object"] = "L'objet tient en 200 caractères au plus."
    for field, choices, label in (
        ("kind", Kind, "la nature"),
        ("missions", Missions, "les missions confiées"),
        ("cao", Cao, "la commission d'appel d'offres"),
        ("cost_key", CostKey, "la clé de répartition"),
    ):
        if values.get(field) not in choices.values:
            errors[field] = f"Choisissez {label} dans la liste."
    start, end = values.get("start_date"), values.get("end_date")
    if not isinstance(start, date) or not isinstance(end, date):
        errors["start_date"] = "Indiquez les dates de début et de fin."
    elif end < start:
        errors["end_date"] = "La date de fin précède la date de début."
    elif end < clock.today():
        errors["end_date"] = "La date de fin est passée."
    try:
        fixed = Decimal(str(values.get("fixed_part_percent") or 0))
    except ArithmeticError:
        fixed = Decimal(-1)
    if not fixed.is_finite() or not Decimal(0) <= fixed <= Decimal(100):
        errors["fixed_part_percent"] = "La part fixe est un pourcentage entre 0 et 100."
    elif values.get("cost_key") == CostKey.FIXE_VARIABLE and not Decimal(0) < fixed < 100:
        errors["fixed_part_percent"] = (
            "Avec une part fixe et une part variable, la part fixe est strictement entre 0 et "
            "100 %."
        )
    if errors:
        raise ValidationError(errors)
    return {
        **values,
        "object": obj,
        "fixed_part_percent": fixed.quantize(Decimal("0.01")),
        "joining_rules": str(values.get("joining_rules") or "").strip(),
        "withdrawal_rules": str(values.get("withdrawal_rules") or "").strip(),
    }


@transaction.atomic
def create_groupement(*, actor: User, coordinator: Organisation, **record) -> Groupement:
    """A draft groupement coordinated by `coordinator`, which is its first member."""
    require_manager(actor, coordinator)
    values = _clean_record({name: record.get(name) for name in EDITABLE_FIELDS})
    _check_service_open(coordinator, values["start_date"], values["end_date"])
    groupement = Groupement.objects.create(
        coordinator=coordinator, created_by=actor, state=State.BROUILLON, **values
    )
    Member.objects.create(groupement=groupement, organisation=coordinator, joined_on=clock.today())
    journal.record(
        action="groupement.created",
        actor=actor,
        organisation=coordinator,
        target=groupement,
        payload={"object": groupement.object, "kind": groupement.kind},
    )
    return groupement


def _locked(groupement: Groupement) -> Groupement:
    return Groupement.objects.select_for_update().get(pk=groupement.pk)


def _require_coordinator(actor: User, groupement: Groupement) -> None:
    require_manager(actor, groupement.coordinator)


def _new_version(groupement: Groupement, *, actor: User, reason: str) -> ConventionVersion:
    number = (
        groupement.convention_versions.order_by("-number").values_list("number", flat=True).first()
        or 0
    ) + 1
    pdf = convention_pdf.render(groupement, number=number)
    version = ConventionVersion.objects.create(
        groupement=groupement,
        number=number,
        reason=reason,
        pdf=pdf,
        sha256=convention_pdf.sha256(pdf),
    )
    journal.record(
        action="groupement.convention_version",
        actor=actor,
        organisation=groupement.coordinator,
        target=groupement,
        payload={"version": number, "reason": reason, "sha256": version.sha256},
    )
    return version


def latest_version(groupement: Groupement) -> ConventionVersion | None:
    return groupement.convention_versions.order_by("-number").first()


@transaction.atomic
def update_groupement(*, actor: User, groupement: Groupement, **record) -> Groupement:
    """Change the record before constitution; in signature, a new version voids the
    signatures already given."""
    groupement = _locked(groupement)
    _require_coordinator(actor, groupement)
    if groupement.state not in (State.BROUILLON, State.EN_SIGNATURE):
        raise ValidationError(
            "Le groupement est constitué : ses clauses changent par avenant, plus ici.",
            code="not_editable",
        )
    values = _clean_record({name: record.get(name) for name in EDITABLE_FIELDS})
    for member in groupement.members.filter(withdrawn_on__isnull=True):
        _check_service_open(member.organisation, values["start_date"], values["end_date"])
    for name, value in values.items():
        setattr(groupement, name, value)
    groupement.full_clean()
    groupement.save()
    journal.record(
        action="groupement.updated",
        actor=actor,
        organisation=groupement.coordinator,
        target=groupement,
        payload={"object": groupement.object},
    )
    if groupement.state == State.EN_SIGNATURE:
        _new_version(groupement, actor=actor, reason="Modification des clauses")
    return groupement


@transaction.atomic
def add_member(*, actor: User, groupement: Groupement, organisation: Organisation) -> Member:
    """Before constitution, a member joins the draft; a permanent groupement already
    constituted takes a member by avenant (a new version, signed again by every member)."""
    groupement = _locked(groupement)
    _require_coordinator(actor, groupement)
    if groupement.state == State.DISSOUS or (
        groupement.state == State.CONSTITUE and groupement.kind == Kind.PONCTUEL
    ):
        raise ValidationError(
            "Ce groupement n'accueille plus de membre (ponctuel constitué, ou dissous).",
            code="closed_to_members",
        )
    existing = groupement.members.filter(organisation=organisation).first()
    if existing is not None and existing.withdrawn_on is None:
        raise ValidationError(f"{organisation.name} est déjà membre.", code="already_member")
    _check_service_open(organisation, groupement.start_date, groupement.end_date)
    if existing is not None:
        existing.withdrawn_on = None
        existing.joined_on = clock.today()
        existing.save(update_fields=["withdrawn_on", "joined_on"])
        member = existing
    else:
        member = Member.objects.create(
            groupement=groupement, organisation=organisation, joined_on=clock.today()
        )
    journal.record(
        action="groupement.member_added",
        actor=actor,
        organisation=groupement.coordinator,
        target=groupement,
        payload={"member": organisation.pk, "name": organisation.name},
    )
    if groupement.state == State.CONSTITUE:
        MACHINE.check(groupement.state, State.EN_SIGNATURE)
        groupement.state = State.EN_SIGNATURE
        groupement.save(update_fields=["state"])
        _new_version(groupement, actor=actor, reason=f"Avenant : adhésion de {organisation.name}")
    elif groupement.state == State.EN_SIGNATURE:
        _new_version(groupement, actor=actor, reason=f"Adhésion de {organisation.name}")
    return member


@transaction.atomic
def remove_member(*, actor: User, groupement: Groupement, organisation: Organisation) -> None:
    """Before constitution, the coordinator takes a member off the list (the coordinator
    itself stays). After it, a member withdraws and keeps its history."""
    groupement = _locked(groupement)
    _require_coordinator(actor, groupement)
    if organisation.pk == groupement.coordinator_id:
        raise ValidationError(
            "Le coordonnateur est membre du groupement : il ne peut pas en être retiré.",
            code="coordinator_stays",
        )
    member = groupement.members.filter(organisation=organisation, withdrawn_on__isnull=True).first()
    if member is None:
        raise ValidationError(f"{organisation.name} n'est pas membre.", code="not_member")
    if groupement.state == State.DISSOUS:
        MACHINE.check(groupement.state, State.DISSOUS)
    if groupement.state == State.BROUILLON:
        member.delete()
    else:
        member.withdrawn_on = clock.today()
        member.save(update_fields=["withdrawn_on"])
    journal.record(
        action="groupement.member_removed",
        actor=actor,
        organisation=groupement.coordinator,
        target=groupement,
        payload={"member": organisation.pk, "name": organisation.name},
    )
    if groupement.state == State.EN_SIGNATURE:
        _new_version(groupement, actor=actor, reason=f"Retrait de {organisation.name}")
        _constitute_if_signed(groupement, actor=actor)
    elif groupement.state == State.CONSTITUE:
        sync_workspace(groupement)


@transaction.atomic
def submit_for_signature(*, actor: User, groupement: Groupement) -> ConventionVersion:
    """Generate the convention constitutive (version 1) and open it to the members' signatures."""
    groupement = _locked(groupement)
    _require_coordinator(actor, groupement)
    MACHINE.check(groupement.state, State.EN_SIGNATURE)
    if groupement.members.filter(withdrawn_on__isnull=True).count() < 2:
        raise ValidationError(
            "Un groupement réunit au moins deux membres : ajoutez-en avant la signature.",
            code="too_few_members",
        )
    groupement.state = State.EN_SIGNATURE
    groupement.save(update_fields=["state"])
    return _new_version(groupement, actor=actor, reason="Convention constitutive initiale")


def sync_workspace(groupement: Groupement) -> None:
    """The groupement's workspace in the outils collaboratifs, kept by that service: the
    référents and coordinateurs de groupement of every active member (the coordinator's as
    administrators), archived once the groupement is dissolved."""
    from emegalis.collaboratif import services as collaboratif
    from emegalis.organisations.models import RoleAssignment

    from .permissions import MANAGER_ROLES

    active = list(
        groupement.members.filter(withdrawn_on__isnull=True).select_related("organisation")
    )
    people = []
    for member in list(active):
        organisation = member.organisation
        users = {
            a.membership.user
            for a in RoleAssignment.objects.filter(
                role__in=MANAGER_ROLES,
                membership__organisation=organisation,
                membership__is_active=True,
                membership__user__is_active=True,
            ).select_related("membership__user")
        }
        role = "administrateur" if organisation.pk == groupement.coordinator_id else "contributeur"
        people += [(user, organisation, role) for user in sorted(users, key=lambda u: u.pk)]
    collaboratif.sync_service_workspace(
        source=f"groupement:{groupement.pk}",
        organisation=groupement.coordinator,
        name=f"Groupement — {groupement.object}"[:120],
        people=people,
        archived=groupement.state == State.DISSOUS,
    )


def _constitute_if_signed(groupement: Groupement, *, actor: User) -> bool:
    version = latest_version(groupement)
    members = set(groupement.members.filter(withdrawn_on__isnull=True).values_list("pk", flat=True))
    signed = set(version.signatures.values_list("member_id", flat=True)) if version else set()
    if not members or not members <= signed:
        return False
    MACHINE.check(groupement.state, State.CONSTITUE)
    groupement.state = State.CONSTITUE
    groupement.save(update_fields=["state"])
    journal.record(
        action="groupement.constituted",
        actor=actor,
        organisation=groupement.coordinator,
        target=groupement,
        payload={"version": version.number, "sha256": version.sha256},
    )
    sync_workspace(groupement)
    return True


@transaction.atomic
def sign_convention(
    *,
    actor: User,
    groupement: Groupement,
    organisation: Organisation,
    deliberation_date: date,
    deliberation_number: str,
    acte_reference: str = "",
    two_factor_verified: bool,
) -> Signature:
    """The member's référent signs the current version, citing the deliberation that
    approves it (and, where the member uses the contrôle de légalité here, the
    acknowledged act that transmitted it)."""
    from emegalis.actes.acts.selectors import acknowledged_acte

    groupement = _locked(groupement)
    require_referent(actor, organisation)
    if not two_factor_verified:
        raise PermissionDenied("La signature de la convention demande la double authentification.")
    if groupement.state != State.EN_SIGNATURE:
        raise ValidationError("La convention n'est pas en signature.", code="not_in_signature")
    member = groupement.members.filter(organisation=organisation, withdrawn_on__isnull=True).first()
    if member is None:
        raise PermissionDenied("Votre organisation n'est pas membre de ce groupement.")
    version = latest_version(groupement)
    if version.signatures.filter(member=member).exists():
        raise ValidationError(
            f"{organisation.name} a déjà signé la version {version.number}.",
            code="already_signed",
        )
    errors = {}
    number = " ".join(str(deliberation_number or "").split())
    if not number or len(number) > 50:
        errors["deliberation_number"] = (
            "Indiquez le numéro de la délibération (50 caractères au plus)."
        )
    if not isinstance(deliberation_date, date) or deliberation_date > clock.today():
        errors["deliberation_date"] = "La date de la délibération est passée ou d'aujourd'hui."
    reference = str(acte_reference or "").strip()
    if may_use(organisation, Service.ACTES):
        if not reference:
            errors["acte_reference"] = (
                "Votre organisation transmet ses actes par la plateforme : indiquez la "
                "référence de l'acte qui a transmis cette délibération."
            )
        elif acknowledged_acte(organisation, reference) is None:
            errors["acte_reference"] = (
                f"Aucun acte de {organisation.name} portant la référence « {reference} » n'a "
                "reçu l'accusé de réception de la préfecture."
            )
    if errors:
        raise ValidationError(errors)
    signature = Signature.objects.create(
        version=version,
        member=member,
        deliberation_date=deliberation_date,
        deliberation_number=number,
        acte_reference=reference,
        signed_by=actor,
        signed_at=clock.now(),
    )
    journal.record(
        action="groupement.convention_signed",
        actor=actor,
        organisation=organisation,
        target=groupement,
        payload={
            "version": version.number,
            "sha256": version.sha256,
            "deliberation": number,
            "deliberation_date": deliberation_date,
            "acte": reference,
        },
    )
    _constitute_if_signed(groupement, actor=actor)
    return signature


@transaction.atomic
def dissolve(*, actor: User, groupement: Groupement, reason: str) -> Groupement:
    groupement = _locked(groupement)
    _require_coordinator(actor, groupement)
    MACHINE.check(groupement.state, State.DISSOUS)
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValidationError({"reason": "Indiquez le motif de la dissolution."})
    groupement.state = State.DISSOUS
    groupement.save(update_fields=["state"])
    journal.record(
        action="groupement.dissolved",
        actor=actor,
        organisation=groupement.coordinator,
        target=groupement,
        payload={"reason": reason[:500]},
    )
    sync_workspace(groupement)
    return groupement


# --- the needs survey (recensement des besoins) -------------------------------------------

QUANTITY_CEILING = Decimal("1000000000")  # a billion units of anything is a typing error
PRICE_CEILING = Decimal("1000000000")


def parse_quantity(raw, *, where: str) -> Decimal:
    """A quantity as entered (text, number or empty), or a ValidationError naming `where`."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Decimal(0)
    if isinstance(raw, bool):
        raise ValidationError(f"{where} : « {raw} » n'est pas une quantité.", code="nan")
    text = str(raw).strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise ValidationError(
            f"{where} : « {str(raw)[:30]} » n'est pas un nombre.", code="nan"
        ) from None
    if not value.is_finite():
        raise ValidationError(f"{where} : « {str(raw)[:30]} » n'est pas un nombre.", code="nan")
    if value < 0:
        raise ValidationError(f"{where} : une quantité ne peut pas être négative.", code="negative")
    if value >= QUANTITY_CEILING:
        raise ValidationError(
            f"{where} : {value} est hors de proportion (moins d'un milliard).", code="absurd"
        )
    if value != value.quantize(Decimal("0.001")):
        raise ValidationError(f"{where} : trois décimales au plus.", code="too_precise")
    return value.quantize(Decimal("0.001"))


def _parse_price(raw, *, where: str) -> Decimal:
    try:
        value = Decimal(str(raw).strip().replace(",", ".").replace(" ", ""))
    except ArithmeticError:
        raise ValidationError(f"{where} : le prix « {raw} » n'est pas un nombre.") from None
    if not value.is_finite() or value < 0 or value >= PRICE_CEILING:
        raise ValidationError(f"{where} : le prix est un montant positif, en euros HT.")
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError(f"{where} : le prix s'écrit au centime près.")
    return value


def parse_items_text(text: str) -> list[dict]:
    """The lots and items of a survey as the coordinator types them, one item per line:
    « n° de lot ; intitulé du lot ; désignation ; unité ; prix unitaire HT [; min ; max] »."""
    items, errors = [], []
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(";")]
        where = f"Ligne {number}"
        if len(cells) not in (5, 7):
            errors.append(
                f"{where} : 5 ou 7 champs séparés par « ; » sont attendus "
                f"(lot ; intitulé du lot ; désignation ; unité ; prix [; min ; max])."
            )
            continue
        try:
            if not cells[0].isdigit() or not 0 < int(cells[0]) < 1000:
                raise ValidationError(f"{where} : le numéro de lot est un entier de 1 à 999.")
            if not cells[1] or not cells[2] or not cells[3]:
                raise ValidationError(f"{where} : lot, désignation et unité sont requis.")
            if len(cells[1]) > 200 or len(cells[2]) > 200 or len(cells[3]) > 30:
                raise ValidationError(f"{where} : un champ est trop long.")
            minimum = maximum = None
            if len(cells) == 7:
                minimum = parse_quantity(cells[5], where=f"{where}, minimum") if cells[5] else None
                maximum = parse_quantity(cells[6], where=f"{where}, maximum") if cells[6] else None
                if minimum is not None and maximum is not None and maximum < minimum:
                    raise ValidationError(f"{where} : le maximum est inférieur au minimum.")
            items.append(
                {
                    "lot": int(cells[0]),
                    "lot_title": cells[1],
                    "designation": cells[2],
                    "unit": cells[3],
                    "unit_price": _parse_price(cells[4], where=where),
                    "minimum": minimum,
                    "maximum": maximum,
                }
            )
        except ValidationError as error:
            errors.extend(error.messages)
    if not items and not errors:
        errors.append("Indiquez au moins un article à recenser.")
    titles: dict[int, str] = {}
    for item in items:
        if titles.setdefault(item["lot"], item["lot_title"]) != item["lot_title"]:
            errors.append(f"Le lot {item['lot']} porte deux intitulés différents.")
            break
    if errors:
        raise ValidationError({"items": errors})
    return items


@transaction.atomic
def open_survey(
    *, actor: User, groupement: Groupement, title: str, deadline, items_text: str
) -> Survey:
    """Open a needs survey on a constituted groupement: its lots and items, a deadline."""
    groupement = _locked(groupement)
    _require_coordinator(actor, groupement)
    if groupement.state != State.CONSTITUE:
        raise ValidationError(
            "Le recensement s'ouvre une fois la convention signée par tous les membres.",
            code="not_constituted",
        )
    errors = {}
    title = " ".join(str(title or "").split())
    if not title or len(title) > 200:
        errors["title"] = "Indiquez l'intitulé du recensement (200 caractères au plus)."
    if deadline is None or deadline <= clock.now():
        errors["deadline"] = "La date limite de saisie doit être à venir."
    try:
        items = parse_items_text(items_text)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    survey = Survey.objects.create(
        groupement=groupement,
        title=title,
        deadline=deadline,
        state=SurveyState.OUVERT,
        opened_at=clock.now(),
    )
    survey.participants.set(groupement.members.filter(withdrawn_on__isnull=True))
    lots: dict[int, Lot] = {}
    for position, item in enumerate(items, start=1):
        lot = lots.get(item["lot"]) or lots.setdefault(
            item["lot"],
            Lot.objects.create(survey=survey, number=item["lot"], title=item["lot_title"]),
        )
        Item.objects.create(
            lot=lot,
            position=position,
            designation=item["designation"],
            unit=item["unit"],
            unit_price=item["unit_price"],
            minimum=item["minimum"],
            maximum=item["maximum"],
        )
    journal.record(
        action="groupement.survey_opened",
        actor=actor,
        organisation=groupement.coordinator,
        target=survey,
        payload={"groupement": groupement.pk, "items": len(items), "deadline": deadline},
    )
    return survey


def participating_members(survey: Survey):
    """The members that take part in the survey: members when it opened, not withdrawn (a
    member that joins after a procedure is launched does not take part in it)."""
    return survey.participants.filter(withdrawn_on__isnull=True).select_related("organisation")


@transaction.atomic
def record_needs(
    *,
    actor: User,
    survey: Survey,
    organisation: Organisation,
    quantities: dict,
    labels: dict | None = None,
) -> int:
    """Save the member's quantities (item id → value as entered); every value is checked
    before anything is saved, its error named by `labels[item id]` (a cell) or the item.
    Returns the number of items saved."""
    survey = Survey.objects.select_for_update().select_related("groupement").get(pk=survey.pk)
    require_manager(actor, organisation)
    if survey.state != SurveyState.OUVERT or survey.deadline <= clock.now():
        raise ValidationError(
            "Le recensement est clos : les besoins ne changent plus.", code="closed"
        )
    member = participating_members(survey).filter(organisation=organisation).first()
    if member is None:
        raise PermissionDenied("Votre organisation ne participe pas à ce recensement.")
    items = {item.pk: item for item in Item.objects.filter(lot__survey=survey)}
    values, errors = {}, []
    for raw_id, raw in quantities.items():
        try:
            item = items[int(raw_id)]
        except (KeyError, ValueError, TypeError):
            errors.append(f"Article {str(raw_id)[:20]} : inconnu dans ce recensement.")
            continue
        try:
            where = (labels or {}).get(item.pk) or item.designation
            values[item] = parse_quantity(raw, where=where)
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError(errors)
    for item, value in values.items():
        Need.objects.update_or_create(item=item, member=member, defaults={"quantity": value})
    journal.record(
        action="groupement.needs_recorded",
        actor=actor,
        organisation=organisation,
        target=survey,
        payload={str(item.pk): value for item, value in values.items()},
    )
    return len(values)


def record_needs_from_xlsx(
    *, actor: User, survey: Survey, organisation: Organisation, data: bytes
) -> int:
    """The quantities of an uploaded needs sheet (xlsx.parse checks its layout)."""
    item_ids = list(
        Item.objects.filter(lot__survey=survey)
        .order_by("lot__number", "position")
        .values_list("pk", flat=True)
    )
    cells = xlsx.parse(data, item_ids=item_ids)
    return record_needs(
        actor=actor,
        survey=survey,
        organisation=organisation,
        quantities={pk: raw for pk, (_cell, raw) in cells.items()},
        labels={pk: f"Cellule {cell}" for pk, (cell, _raw) in cells.items()},
    )


def snapshot(survey: Survey) -> dict:
    """Everything the survey froze: items, and each member's quantities."""
    needs = Need.objects.filter(item__lot__survey=survey).select_related("member__organisation")
    return {
        "survey": survey.pk,
        "groupement": survey.groupement_id,
        "items": [
            {
                "id": item.pk,
                "lot": item.lot.number,
                "designation": item.designation,
                "unit": item.unit,
                "unit_price": item.unit_price,
            }
            for item in Item.objects.filter(lot__survey=survey).select_related("lot")
        ],
        "needs": sorted(
            (
                [
                    need.item_id,
                    need.member.organisation.siren or need.member.organisation_id,
                    need.quantity,
                ]
                for need in needs
            ),
            key=lambda row: (row[0], str(row[1])),
        ),
    }


@transaction.atomic
def close_survey(*, survey: Survey, actor: User | None = None) -> Survey:
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.state != SurveyState.OUVERT:
        return survey
    text = journal.canonical_json(snapshot(survey))
    survey.snapshot_sha256 = journal.digest(text)
    survey.state = SurveyState.CLOS
    survey.closed_at = clock.now()
    survey.save(update_fields=["snapshot_sha256", "state", "closed_at"])
    journal.record(
        action="groupement.survey_closed",
        actor=actor,
        organisation=survey.groupement.coordinator,
        target=survey,
        payload={"sha256": survey.snapshot_sha256},
    )
    return survey


def close_due_surveys() -> int:
    """The scheduler's job: close every open survey whose deadline has passed."""
    due = Survey.objects.filter(state=SurveyState.OUVERT, deadline__lte=clock.now())
    return sum(1 for survey in due if close_survey(survey=survey).state == SurveyState.CLOS)


# --- one consultation for all, and the allocation after the award --------------------------


def needs_lines(survey: Survey) -> tuple[list[str], list[needs_statement.Line]]:
    """The survey's items with each participating member's quantity, members by name."""
    members = list(participating_members(survey).order_by("organisation__name"))
    names = [m.organisation.name for m in members]
    by_item: dict[int, dict[str, Decimal]] = {}
    for need in Need.objects.filter(item__lot__survey=survey, member__in=members).select_related(
        "member__organisation"
    ):
        by_item.setdefault(need.item_id, {})[need.member.organisation.name] = need.quantity
    lines = [
        needs_statement.Line(
            lot=item.lot.number,
            lot_title=item.lot.title,
            designation=item.designation,
            unit=item.unit,
            unit_price=item.unit_price,
            quantities=by_item.get(item.pk, {}),
        )
        for item in Item.objects.filter(lot__survey=survey).select_related("lot")
    ]
    return names, lines


@transaction.atomic
def create_consultation(
    *, actor: User, survey: Survey, lot_cpv: dict | None = None, **consultation_fields
):
    """The consultation run for all from a closed survey: its lots and estimates from the
    aggregated needs, the members named in its object, the « état des besoins par membre »
    (XLSX and PDF) in its DCE. It is a draft of the coordinator: publication, plis, opening
    and award then follow the salle des marchés."""
    from django.core.files.base import ContentFile

    from emegalis.marches.consultations import dce
    from emegalis.marches.consultations import services as consultations

    survey = (
        Survey.objects.select_for_update()
        .select_related("groupement__coordinator")
        .get(pk=survey.pk)
    )
    groupement = survey.groupement
    _require_coordinator(actor, groupement)
    if survey.state != SurveyState.CLOS:
        raise ValidationError(
            "La consultation se crée depuis un recensement clos.", code="survey_open"
        )
    if survey.consultation_id is not None:
        raise ValidationError(
            "La consultation de ce recensement existe déjà.", code="already_created"
        )
    if groupement.state != State.CONSTITUE:
        raise ValidationError("Le groupement n'est pas constitué.", code="not_constituted")
    names, lines = needs_lines(survey)
    estimates: dict[int, Decimal] = {}
    for line in lines:
        estimates[line.lot] = estimates.get(line.lot, Decimal(0)) + sharing.to_cent(
            line.total * line.unit_price
        )
    if not any(line.total for line in lines):
        raise ValidationError(
            "Aucun membre n'a exprimé de besoin : il n'y a rien à mettre en concurrence.",
            code="no_needs",
        )
    members_text = "; ".join(names)
    fields = dict(consultation_fields)
    fields["object"] = (
        f"{(fields.get('object') or groupement.object).strip()}\n\n"
        f"Groupement de commandes « {groupement.object} » coordonné par "
        f"{groupement.coordinator.name} ({groupement.get_missions_display().lower()}). "
        f"Membres : {members_text}. Les quantités de chaque membre figurent dans l'état des "
        "besoins joint au DCE."
    )
    fields["estimated_value"] = sum(estimates.values(), Decimal(0))
    lot_titles = {line.lot: line.lot_title for line in lines}
    consultation = consultations.create_consultation(
        actor=actor,
        organisation=groupement.coordinator,
        lots=[
            {
                "number": number,
                "title": lot_titles[number],
                "cpv": (lot_cpv or {}).get(number, ""),
                "estimated_value": estimates[number],
            }
            for number in sorted(lot_titles)
        ]
        if len(lot_titles) > 1
        else [],
        **fields,
    )
    title = f"{groupement.object} — {survey.title}"
    for name, data in (
        (
            "etat-des-besoins-par-membre.xlsx",
            needs_statement.xlsx(title=title, members=names, lines=lines),
        ),
        (
            "etat-des-besoins-par-membre.pdf",
            needs_statement.pdf(
                title=title, coordinator=groupement.coordinator.name, members=names, lines=lines
            ),
        ),
    ):
        dce.add_dce_file(
            actor=actor, consultation=consultation, uploaded_file=ContentFile(data, name=name)
        )
    survey.consultation = consultation
    survey.save(update_fields=["consultation"])
    journal.record(
        action="groupement.consultation_created",
        actor=actor,
        organisation=groupement.coordinator,
        target=survey,
        payload={"consultation": consultation.pk, "reference": consultation.reference},
    )
    return consultation


def _awarded_decision(survey: Survey, lot: Lot):
    from emegalis.marches.award.models import AwardDecision, DecisionOutcome

    if survey.consultation_id is None:
        raise ValidationError("Aucune consultation n'a été lancée pour ce recensement.")
    several_lots = survey.lots.count() > 1
    decision = (
        AwardDecision.objects.filter(
            consultation_id=survey.consultation_id, outcome=DecisionOutcome.ATTRIBUE
        )
        .filter(**({"lot__number": lot.number} if several_lots else {"lot__isnull": True}))
        .first()
    )
    if decision is None or decision.amount is None:
        raise ValidationError(
            f"Le lot {lot.number} n'est pas attribué : la répartition attend la décision.",
            code="not_awarded",
        )
    return decision


def member_amounts(lot: Lot, prices: dict[int, Decimal]) -> dict[int, Decimal]:
    """Each member's amount for the lot: its quantities × the unit prices, each line rounded
    to the cent (member id → amount HT)."""
    amounts: dict[int, Decimal] = {}
    for need in Need.objects.filter(item__lot=lot, member__in=lot.survey.participants.all()):
        line = sharing.to_cent(need.quantity * prices[need.item_id])
        amounts[need.member_id] = amounts.get(need.member_id, Decimal(0)) + line
    return amounts


@transaction.atomic
def allocate_lot(*, actor: User, survey: Survey, lot: Lot, unit_prices: dict) -> LotAllocation:
    """Share an awarded lot out: the holder's unit prices per item; every member's amount is
    its quantities × those prices, and the amounts must add up to the awarded amount."""
    survey = Survey.objects.select_for_update().select_related("groupement").get(pk=survey.pk)
    _require_coordinator(actor, survey.groupement)
    if lot.survey_id != survey.pk:
        raise ValidationError("Ce lot n'appartient pas au recensement.")
    if LotAllocation.objects.filter(lot=lot).exists():
        raise ValidationError(f"Le lot {lot.number} est déjà réparti.", code="already_allocated")
    decision = _awarded_decision(survey, lot)
    items = list(lot.items.all())
    prices, errors = {}, []
    for item in items:
        try:
            prices[item.pk] = _parse_price(
                unit_prices.get(item.pk, unit_prices.get(str(item.pk))), where=item.designation
            )
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError({"prices": errors})
    amounts = member_amounts(lot, prices)
    total = sum(amounts.values(), Decimal(0))
    if total != decision.amount:
        raise ValidationError(
            {
                "prices": [
                    f"Avec ces prix, les besoins des membres font {total} € HT, et le lot a été "
                    f"attribué pour {decision.amount} € HT : reprenez les prix unitaires du "
                    "bordereau du titulaire."
                ]
            },
            code="not_reconciled",
        )
    allocation = LotAllocation.objects.create(
        lot=lot,
        decision=decision,
        awarded_amount=decision.amount,
        allocated_at=clock.now(),
        allocated_by=actor,
    )
    AwardedPrice.objects.bulk_create(
        AwardedPrice(allocation=allocation, item_id=pk, unit_price=price)
        for pk, price in prices.items()
    )
    if survey.groupement.missions == Missions.PROCEDURE:
        # Each member signs and notifies its own marché: one per member with a share.
        MemberContract.objects.bulk_create(
            MemberContract(allocation=allocation, member_id=pk, amount=amount)
            for pk, amount in sorted(amounts.items())
            if amount > 0
        )
    journal.record(
        action="groupement.lot_allocated",
        actor=actor,
        organisation=survey.groupement.coordinator,
        target=allocation,
        payload={
            "lot": lot.number,
            "amount": decision.amount,
            "members": {str(k): v for k, v in amounts.items()},
        },
    )
    return allocation


# --- the procedure's costs, shared by the convention's key --------------------------------


def needs_weights(groupement: Groupement, members: list[Member]) -> dict[int, Decimal]:
    """Each member's estimated needs across the groupement's surveys (quantity × estimated
    unit price), the weight of the « besoins » key."""
    weights = {m.pk: Decimal(0) for m in members}
    for need in Need.objects.filter(member__in=members, item__lot__survey__groupement=groupement):
        weights[need.member_id] += need.quantity * need.item.unit_price
    return weights


def cost_shares(groupement: Groupement, amount_ht: Decimal) -> dict[Member, Decimal]:
    members = list(
        groupement.members.filter(withdrawn_on__isnull=True).select_related("organisation")
    )
    by_pk = {m.pk: m for m in members}
    if groupement.cost_key == CostKey.EGAL:
        shares = sharing.split(amount_ht, {m.pk: Decimal(1) for m in members})
    elif groupement.cost_key == CostKey.POPULATION:
        missing = [m.organisation.name for m in members if not m.organisation.population]
        if missing:
            raise ValidationError(
                "La clé « population » demande la population de chaque membre ; elle manque "
                f"pour : {', '.join(missing)}.",
                code="population_missing",
            )
        shares = sharing.split(
            amount_ht, {m.pk: Decimal(m.organisation.population) for m in members}
        )
    else:
        weights = needs_weights(groupement, members)
        if not any(weights.values()):
            raise ValidationError(
                "Aucun besoin n'est encore recensé : la clé « besoins » ne peut pas s'appliquer.",
                code="no_needs",
            )
        if groupement.cost_key == CostKey.FIXE_VARIABLE:
            shares = sharing.split_fixed_and_variable(
                amount_ht, weights, fixed_percent=groupement.fixed_part_percent
            )
        else:
            shares = sharing.split(amount_ht, weights)
    return {by_pk[pk]: amount for pk, amount in shares.items()}


@transaction.atomic
def share_costs(
    *, actor: User, groupement: Groupement, label: str, amount_ht, year: int
) -> ProcedureCost:
    """Enter a cost of the procedure and share it by the key: each member's part is charged
    to it in the adhésions service (HT, TVA, TTC), the parts adding up to the cost."""
    from emegalis.adhesions import services as adhesions

    groupement = _locked(groupement)
    _require_coordinator(actor, groupement)
    if groupement.state not in (State.CONSTITUE, State.DISSOUS):
        raise ValidationError(
            "Les frais se répartissent une fois le groupement constitué.", code="not_constituted"
        )
    errors = {}
    label = " ".join(str(label or "").split())
    if not label or len(label) > 200:
        errors["label"] = "Indiquez l'objet des frais (200 caractères au plus)."
    try:
        amount = _parse_price(amount_ht, where="Montant")
        if amount <= 0:
            raise ValidationError("Montant : les frais sont un montant positif.")
    except ValidationError as error:
        errors["amount_ht"] = error.messages
        amount = None
    if errors:
        raise ValidationError(errors)
    shares = cost_shares(groupement, amount)
    cost = ProcedureCost.objects.create(
        groupement=groupement,
        label=label,
        amount_ht=amount,
        year=year,
        shares={str(m.organisation_id): str(v) for m, v in shares.items()},
        entered_by=actor,
        entered_at=clock.now(),
    )
    for member, share in shares.items():
        adhesions.add_charge(
            actor=actor,
            payer=member.organisation,
            year=year,
            label=f"Groupement « {groupement.object} » — {label}",
            amount_ht=share,
            source=f"groupements.cost:{cost.pk}",
        )
    journal.record(
        action="groupement.costs_shared",
        actor=actor,
        organisation=groupement.coordinator,
        target=cost,
        payload={"amount_ht": amount, "shares": cost.shares, "key": groupement.cost_key},
    )
    return cost


# --- reminders before a survey's deadline -------------------------------------------------

REMINDER_BEFORE = timedelta(days=2)


def _managers_emails(organisation: Organisation) -> list[str]:
    from emegalis.organisations.models import RoleAssignment

    from .permissions import MANAGER_ROLES

    return sorted(
        set(
            RoleAssignment.objects.filter(
                membership__organisation=organisation,
                membership__is_active=True,
                membership__user__is_active=True,
                role__in=MANAGER_ROLES,
            ).values_list("membership__user__email", flat=True)
        )
    )


def remind_due_surveys() -> int:
    """E-mail, once per survey, the agents of each participating member that has entered no
    need yet, two days before the deadline. Returns the number of e-mails sent."""
    sent = 0
    now = clock.now()
    due = Survey.objects.filter(
        state=SurveyState.OUVERT,
        reminded_at__isnull=True,
        deadline__gt=now,
        deadline__lte=now + REMINDER_BEFORE,
    ).select_related("groupement")
    for survey in due:
        with transaction.atomic():
            claimed = Survey.objects.filter(pk=survey.pk, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if not claimed:  # another scheduler took it
                continue
        deadline = timezone.localtime(survey.deadline)
        for member in participating_members(survey):
            if Need.objects.filter(member=member, item__lot__survey=survey).exists():
                continue
            for address in _managers_emails(member.organisation):
                body = (
                    f"Bonjour,\n\nLe recensement des besoins « {survey.title} » du groupement "
                    f"de commandes « {survey.groupement.object} » se clôt le "
                    f"{deadline:%d/%m/%Y à %H:%M}. {member.organisation.name} n'a pas encore "
                    "saisi ses besoins : sans saisie, elle ne sera pas comptée dans la "
                    "consultation.\n\nSaisissez-les sur e-mégalis, rubrique Groupements.\n"
                )
                try:
                    send_mail(
                        f"Recensement « {survey.title} » : clôture le {deadline:%d/%m/%Y}",
                        body,
                        None,
                        [address],
                    )
                    sent += 1
                except Exception:
                    logger.exception("Survey reminder to %s failed", address)
    return sent


# --- each member's own marché (« procédure seule ») -----------------------------------------


def member_lines(contract: MemberContract) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    """The member's lines of the lot: designation, quantity, awarded unit price, amount (each
    line rounded to the cent, as in the allocation)."""
    prices = {p.item_id: p.unit_price for p in contract.allocation.prices.all()}
    needs = (
        Need.objects.filter(item__lot_id=contract.allocation.lot_id, member_id=contract.member_id)
        .exclude(quantity=0)
        .select_related("item")
        .order_by("item__position")
    )
    return [
        (
            need.item.designation,
            need.quantity,
            prices[need.item_id],
            sharing.to_cent(need.quantity * prices[need.item_id]),
        )
        for need in needs
    ]


def _locked_contract(contract: MemberContract) -> MemberContract:
    return (
        MemberContract.objects.select_for_update(of=("self",))
        .select_related(
            "allocation__decision__consultation",
            "allocation__decision__lot",
            "allocation__decision__winner__company",
            "allocation__lot__survey__groupement__coordinator",
            "member__organisation",
        )
        .get(pk=contract.pk)
    )


def default_member_contract_number(contract: MemberContract) -> str:
    lot = contract.allocation.lot
    return f"{clock.today().year}-G{lot.survey_id}-L{lot.number}"[:16]


def _clean_decp(values: dict) -> dict:
    """The DECP fields as JSON (the advance rate as text, to keep its exact value)."""
    cleaned = {k: values[k] for k in member_contracts.DECP_FIELDS if k in values}
    for name in ("types_prix", "techniques", "modalites_execution"):
        cleaned[name] = list(cleaned.get(name) or [])
    for name in ("considerations_sociales", "considerations_environnementales"):
        cleaned[name] = list(cleaned.get(name) or [])
    taux = cleaned.get("taux_avance")
    cleaned["taux_avance"] = str(taux) if cleaned.get("attribution_avance") and taux else None
    return cleaned


@transaction.atomic
def sign_member_contract(
    *,
    actor: User,
    contract: MemberContract,
    number: str,
    two_factor_verified: bool,
    **decp_values,
) -> MemberContract:
    """The member's référent signs its marché: its number and essential data (the same as the
    salle des marchés asks at a notification), checked publishable before anything is kept."""
    from emegalis.marches.award.models import Contract
    from emegalis.marches.award.services import CONTRACT_NUMBER
    from emegalis.marches.opendata import decp

    contract = _locked_contract(contract)
    organisation = contract.member.organisation
    require_referent(actor, organisation, what="le marché")
    if not two_factor_verified:
        raise PermissionDenied("La signature du marché demande la double authentification.")
    if contract.signed_at is not None:
        raise ValidationError("Ce marché est déjà signé.", code="already_signed")
    number = (number or "").strip()
    if not CONTRACT_NUMBER.fullmatch(number):
        raise ValidationError(
            {
                "number": "Le numéro du marché a de 1 à 16 caractères : lettres, chiffres, « - », "
                "« _ », « / » ou « . », sans espace."
            }
        )
    if (
        MemberContract.objects.filter(member__organisation=organisation, number=number)
        .exclude(pk=contract.pk)
        .exists()
        or Contract.objects.filter(buyer=organisation, number=number).exists()
    ):
        raise ValidationError({"number": "Votre organisation a déjà un marché portant ce numéro."})
    values = _clean_decp(decp_values)
    problems = decp.decp_errors(
        member_contracts.as_contract(
            contract, number=number, decp=values, notified_on=clock.today()
        )
    )
    if problems:
        raise ValidationError([f"Données essentielles non publiables : {p}" for p in problems])
    contract.number = number
    contract.decp = values
    contract.signed_at = clock.now()
    contract.signed_by = actor
    contract.save(update_fields=["number", "decp", "signed_at", "signed_by"])
    journal.record(
        action="groupement.member_contract_signed",
        actor=actor,
        organisation=organisation,
        target=contract,
        payload={
            "groupement": contract.allocation.lot.survey.groupement_id,
            "lot": contract.allocation.lot.number,
            "number": number,
            "amount": contract.amount,
            "holder_siret": contract.allocation.decision.winner.company.siret,
        },
    )
    return contract


def member_notification_refusal(contract: MemberContract) -> str:
    """Why this member's marché cannot be notified today ("" when it can)."""
    if contract.notified_on is not None:
        return "Ce marché est déjà notifié."
    if contract.signed_at is None:
        return "Signez d'abord le marché."
    decision = contract.allocation.decision
    if decision.letters_sent_at is None or decision.standstill_ends_on is None:
        return (
            "Le coordonnateur n'a pas encore envoyé les lettres de rejet et d'attribution : le "
            "marché ne peut pas encore être notifié."
        )
    if clock.today() <= decision.standstill_ends_on:
        return (
            "Le délai de suspension court jusqu'au "
            f"{format_date(decision.standstill_ends_on)} inclus : le marché peut être notifié "
            "à partir du lendemain."
        )
    return ""


@transaction.atomic
def notify_member_contract(*, actor: User, contract: MemberContract) -> MemberContract:
    """The member notifies its signed marché to the holder: the letter, with the member's
    lines, goes through the consultation's secure messaging (read receipt kept)."""
    from emegalis.marches.messaging import services as messaging_services
    from emegalis.marches.messaging.models import MessageDirection

    contract = _locked_contract(contract)
    organisation = contract.member.organisation
    require_manager(actor, organisation)
    refusal = member_notification_refusal(contract)
    if refusal:
        raise ValidationError(refusal, code="not_now")
    decision = contract.allocation.decision
    consultation = decision.consultation
    contract.notified_on = clock.today()
    contract.notified_by = actor
    pdf = member_contracts.notification_letter(contract, member_lines(contract))
    lot_text = f" — lot {decision.lot.number}" if decision.lot else ""
    message = messaging_services.send_message(
        actor=actor,
        consultation=consultation,
        company=decision.winner.company,
        direction=MessageDirection.TO_COMPANY,
        subject=(
            f"Notification du marché n° {contract.number} — {organisation.name} — "
            f"{consultation.reference}{lot_text}"
        ),
        body=(
            f"{organisation.name}, membre du groupement de commandes, vous notifie ce jour le "
            f"marché n° {contract.number} ({format_euros(contract.amount)} HT). La lettre de "
            "notification est jointe ; elle fait courir les délais d'exécution."
        ),
        attachment_name=f"notification-{contract.number.replace('/', '-')}.pdf",
        attachment_content=pdf,
        check_permission=False,
    )
    contract.letter = pdf
    contract.letter_sha256 = hashlib.sha256(pdf).hexdigest()
    contract.message = message
    contract.save(
        update_fields=["notified_on", "notified_by", "letter", "letter_sha256", "message"]
    )
    journal.record(
        action="groupement.member_contract_notified",
        actor=actor,
        organisation=organisation,
        target=contract,
        payload={
            "number": contract.number,
            "amount": contract.amount,
            "notified_on": contract.notified_on,
            "holder_siret": decision.winner.company.siret,
            "letter_sha256": contract.letter_sha256,
            "message": message.pk,
        },
    )
    return contract
