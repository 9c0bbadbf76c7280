"""API of the groupements: the groupements of the caller's organisation, a survey (read and
write its own needs) and the allocation. Same scoping as the pages: a groupement of which the
organisation is not a member is a 404; a member reads its own needs and the totals only."""

from datetime import date, datetime
from decimal import Decimal

from ninja import Router, Schema
from ninja.security import django_auth

from emegalis.adhesions.access import require_service
from emegalis.core.api_errors import BODY, READ, errors
from emegalis.core.services_catalog import Service
from emegalis.organisations.api_auth import TokenAuth

from . import selectors, services

router = Router(tags=["groupements de commandes"], auth=[TokenAuth(), django_auth])


class MemberOut(Schema):
    organisation_id: int
    name: str
    joined_on: date
    withdrawn_on: date | None


class GroupementOut(Schema):
    id: int
    object: str
    kind: str
    state: str
    state_label: str
    start_date: date
    end_date: date
    coordinator_id: int
    missions: str
    cao: str
    cost_key: str
    members: list[MemberOut]
    convention_version: int | None
    surveys: list[int]


class ItemOut(Schema):
    id: int
    lot: int
    lot_title: str
    designation: str
    unit: str
    unit_price: Decimal
    minimum: Decimal | None
    maximum: Decimal | None
    total: Decimal
    own: Decimal | None
    by_member: dict[int, Decimal]


class SurveyOut(Schema):
    id: int
    groupement_id: int
    title: str
    state: str
    deadline: datetime
    snapshot_sha256: str
    consultation_id: int | None
    items: list[ItemOut]


class NeedsIn(Schema):
    quantities: dict[int, str]


class NeedsOut(Schema):
    saved: int


class ContractOut(Schema):
    organisation: int
    number: str
    amount: Decimal
    state: str
    signed_at: datetime | None
    notified_on: date | None


class ShareOut(Schema):
    lot: int
    awarded_amount: Decimal
    holder_siret: str
    amounts: dict[int, Decimal]  # organisation id → amount HT
    # « procédure seule »: each member's own marché; otherwise the coordinator's, for all.
    contracts: list[ContractOut]


def _organisation(request):
    organisation = getattr(request, "organisation", None)
    require_service(organisation, Service.GROUPEMENTS)
    return organisation


def _groupement_out(groupement) -> dict:
    version = services.latest_version(groupement)
    return {
        "id": groupement.pk,
        "object": groupement.object,
        "kind": groupement.kind,
        "state": groupement.state,
        "state_label": groupement.get_state_display(),
        "start_date": groupement.start_date,
        "end_date": groupement.end_date,
        "coordinator_id": groupement.coordinator_id,
        "missions": groupement.missions,
        "cao": groupement.cao,
        "cost_key": groupement.cost_key,
        "members": [
            {
                "organisation_id": m.organisation_id,
                "name": m.organisation.name,
                "joined_on": m.joined_on,
                "withdrawn_on": m.withdrawn_on,
            }
            for m in selectors.members_of(groupement)
        ],
        "convention_version": version.number if version else None,
        "surveys": list(groupement.surveys.values_list("pk", flat=True)),
    }


@router.get("/groupements", response={200: list[GroupementOut], **errors(401, 403)})
def list_groupements(request):
    organisation = _organisation(request)
    return [_groupement_out(g) for g in selectors.groupements_for(request.user, organisation)]


@router.get("/groupements/{pk}", response={200: GroupementOut, **errors(*READ)})
def groupement(request, pk: int):
    organisation = _organisation(request)
    return _groupement_out(selectors.get_groupement(request.user, organisation, pk))


def _survey_out(request, organisation, survey) -> dict:
    rows, _members = selectors.survey_table(request.user, organisation, survey)
    organisation_of = dict(survey.participants.values_list("pk", "organisation_id"))
    return {
        "id": survey.pk,
        "groupement_id": survey.groupement_id,
        "title": survey.title,
        "state": survey.state,
        "deadline": survey.deadline,
        "snapshot_sha256": survey.snapshot_sha256,
        "consultation_id": survey.consultation_id,
        "items": [
            {
                "id": row.item.pk,
                "lot": row.item.lot.number,
                "lot_title": row.item.lot.title,
                "designation": row.item.designation,
                "unit": row.item.unit,
                "unit_price": row.item.unit_price,
                "minimum": row.item.minimum,
                "maximum": row.item.maximum,
                "total": row.total,
                "own": row.own,
                "by_member": {
                    organisation_of.get(member_pk, member_pk): quantity
                    for member_pk, quantity in row.by_member.items()
                },
            }
            for row in rows
        ],
    }


@router.get("/groupements/recensements/{pk}", response={200: SurveyOut, **errors(*READ)})
def survey(request, pk: int):
    organisation = _organisation(request)
    found = selectors.get_survey(request.user, organisation, pk)
    return _survey_out(request, organisation, found)


@router.put(
    "/groupements/recensements/{pk}/besoins",
    response={200: NeedsOut, **errors(*READ, *BODY, 400)},
)
def put_needs(request, pk: int, payload: NeedsIn):
    """The organisation's quantities (item id → quantity as text, « 12,5 » accepted); every
    value is checked before anything is saved."""
    organisation = _organisation(request)
    found = selectors.get_survey(request.user, organisation, pk)
    saved = services.record_needs(
        actor=request.user, survey=found, organisation=organisation, quantities=payload.quantities
    )
    return {"saved": saved}


def _contracts_out(share) -> list[dict]:
    if share.contract is not None:
        c = share.contract
        return [
            {
                "organisation": c.buyer_id,
                "number": c.number,
                "amount": c.amount,
                "state": "Notifié par le coordonnateur pour tous",
                "signed_at": None,
                "notified_on": c.notified_on,
            }
        ]
    return [
        {
            "organisation": c.member.organisation_id,
            "number": c.number,
            "amount": c.amount,
            "state": c.state_label,
            "signed_at": c.signed_at,
            "notified_on": c.notified_on,
        }
        for c in share.member_contracts.values()
    ]


@router.get(
    "/groupements/recensements/{pk}/repartition", response={200: list[ShareOut], **errors(*READ)}
)
def allocation(request, pk: int):
    organisation = _organisation(request)
    found = selectors.get_survey(request.user, organisation, pk)
    return [
        {
            "lot": share.lot.number,
            "awarded_amount": share.awarded_amount,
            "holder_siret": share.holder.siret,
            "amounts": {member.organisation_id: amount for member, amount in share.amounts},
            "contracts": _contracts_out(share),
        }
        for share in selectors.allocations(request.user, organisation, found)
    ]


@router.get("/groupements/recensements/{pk}/decp", response={200: dict, **errors(*READ)})
def survey_decp(request, pk: int):
    """The DECP v2 records of the groupement's notified marchés (one per member when each
    signs its own, docs/groupements.md)."""
    from . import opendata

    organisation = _organisation(request)
    return opendata.decp_document(selectors.get_survey(request.user, organisation, pk))


@router.get("/groupements/recensements/{pk}/ocds", response={200: dict, **errors(*READ)})
def survey_ocds(request, pk: int):
    """The consultation's OCDS release package, every member a party in the buyer role."""
    from django.http import Http404

    from . import opendata

    organisation = _organisation(request)
    found = selectors.get_survey(request.user, organisation, pk)
    if found.consultation_id is None:
        raise Http404("Aucune consultation pour ce recensement.")
    return opendata.ocds_package(found)
