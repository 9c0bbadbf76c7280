"""API of the adhésions: an organisation's conventions, contributions and enabled services.

Same scoping as the pages: the organisation must be visible to the user (404 otherwise);
a call is shown only to the payer's members and platform staff.
"""

from datetime import date
from decimal import Decimal

from ninja import Query, Router, Schema

from emegalis.core import clock
from emegalis.core.api_errors import READ, errors
from emegalis.organisations.selectors import get_organisation

from . import access, selectors

router = Router(tags=["adhésions"])


class StatusChangeOut(Schema):
    status: str
    status_label: str
    effective_on: date
    note: str


class ConventionOut(Schema):
    id: int
    organisation_id: int
    kind: str
    kind_label: str
    reference: str
    start_date: date
    end_date: date | None
    deliberation_reference: str
    signed_on: date | None
    has_signed_document: bool
    current_status: str
    status_history: list[StatusChangeOut]
    services: list[str]


class OrganisationRef(Schema):
    id: int
    name: str
    siren: str


class CallOut(Schema):
    id: int
    number: str
    issued_on: date
    amount_ht: Decimal
    vat_amount: Decimal
    amount_ttc: Decimal
    paid_on: date | None
    is_paid: bool


class ContributionOut(Schema):
    id: int
    year: int
    label: str
    payer: OrganisationRef
    amount_ht: Decimal
    beneficiaries: list[OrganisationRef]
    has_call: bool
    call: CallOut | None


class ServicesOut(Schema):
    organisation_id: int
    on: date
    services: list[str]


class ServicesQuery(Schema):
    on: date | None = None


def _organisation_ref(organisation) -> dict:
    return {"id": organisation.pk, "name": organisation.name, "siren": organisation.siren}


@router.get("/organisations/{pk}/conventions", response={200: list[ConventionOut], **errors(*READ)})
def list_conventions(request, pk: int):
    _, conventions = selectors.conventions_of(request.user, pk)
    return [
        {
            "id": c.pk,
            "organisation_id": c.organisation_id,
            "kind": c.kind,
            "kind_label": c.get_kind_display(),
            "reference": c.reference,
            "start_date": c.start_date,
            "end_date": c.end_date,
            "deliberation_reference": c.deliberation_reference,
            "signed_on": c.signed_on,
            "has_signed_document": bool(c.signed_document),
            "current_status": c.current_status,
            "status_history": [
                {
                    "status": s.status,
                    "status_label": s.get_status_display(),
                    "effective_on": s.effective_on,
                    "note": s.note,
                }
                for s in c.status_changes.all()
            ],
            "services": sorted(s.service for s in c.enabled_services.all()),
        }
        for c in conventions
    ]


@router.get(
    "/organisations/{pk}/contributions", response={200: list[ContributionOut], **errors(*READ)}
)
def list_contributions(request, pk: int):
    _, rows = selectors.contributions_of(request.user, pk)
    result = []
    for row in rows:
        contribution, call = row.contribution, row.call
        result.append(
            {
                "id": contribution.pk,
                "year": contribution.year,
                "label": contribution.label,
                "payer": _organisation_ref(contribution.payer),
                "amount_ht": contribution.amount_ht,
                "beneficiaries": [
                    _organisation_ref(b)
                    for b in sorted(contribution.beneficiaries.all(), key=lambda o: o.name)
                ],
                "has_call": row.has_call,
                "call": None
                if call is None
                else {
                    "id": call.pk,
                    "number": call.number,
                    "issued_on": call.issued_on,
                    "amount_ht": call.amount_ht,
                    "vat_amount": call.vat_amount,
                    "amount_ttc": call.amount_ttc,
                    "paid_on": call.paid_on,
                    "is_paid": call.is_paid,
                },
            }
        )
    return result


@router.get("/organisations/{pk}/services", response={200: ServicesOut, **errors(*READ)})
def list_services(request, pk: int, query: Query[ServicesQuery]):
    """The services the organisation may use on a date (`on=YYYY-MM-DD`, today if absent)."""
    organisation = get_organisation(request.user, pk)
    on = query.on or clock.today()
    return {
        "organisation_id": organisation.pk,
        "on": on,
        "services": sorted(access.enabled_services(organisation, on)),
    }
