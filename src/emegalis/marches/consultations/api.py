"""API of the procurement room (mounted on /api/v1/marches).

Public (no authentication): search and read published consultations, their lots and DCE file
list — the same search as the pages (same form, same selector). Buyers (personal API key
created on /compte/cles-api/, `Authorization: Bearer <key>`, or a logged-in session): list,
create, update, add lots, upload DCE files and publish the consultations of their
organisation; same rules as the pages (services check the buyer role and the convention)."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import AfterValidator

from emegalis.core import clock
from emegalis.core.api_errors import AUTH, BODY, READ, errors
from emegalis.core.validators import pydantic_single_line
from emegalis.marches import conf, upload_limits
from emegalis.marches.consultations import dce, selectors, services
from emegalis.marches.consultations.forms import SearchForm
from emegalis.marches.consultations.models import Consultation, DceFile, Lot, Nature, Procedure
from emegalis.marches.opening import selectors as opening_selectors
from emegalis.marches.opening import services as opening_services
from emegalis.organisations.api_auth import TokenAuth

router = Router(tags=["marchés"])


BUYER_AUTH = [TokenAuth(), django_auth]


class BuyerOut(Schema):
    id: int
    name: str
    siren: str


class LotOut(Schema):
    number: int
    title: str
    cpv: str
    estimated_value: Decimal | None


class DceFileOut(Schema):
    id: int
    folder: str
    name: str
    size: int
    sha256: str
    url: str

    @staticmethod
    def resolve_url(obj: DceFile) -> str:
        from django.urls import reverse

        return reverse("marches_dce_file", args=[obj.consultation_id, obj.pk])


class ConsultationOut(Schema):
    id: int
    reference: str
    title: str
    object: str
    procedure: str
    procedure_label: str
    nature: str
    cpv_main: str
    cpv_extra: list[str]
    place_of_execution: str
    departement: str
    estimated_value: Decimal | None
    variants_allowed: bool
    signature_required: bool
    electronic_submission: bool
    state: str
    state_label: str
    is_test: bool
    published_at: datetime | None
    questions_deadline: datetime
    bids_deadline: datetime
    buyer: BuyerOut
    url: str

    @staticmethod
    def resolve_procedure_label(obj: Consultation) -> str:
        return obj.get_procedure_display()

    @staticmethod
    def resolve_state_label(obj: Consultation) -> str:
        return obj.get_state_display()

    @staticmethod
    def resolve_buyer(obj: Consultation) -> dict:
        return {
            "id": obj.organisation_id,
            "name": obj.organisation.name,
            "siren": obj.organisation.siren,
        }

    @staticmethod
    def resolve_url(obj: Consultation) -> str:
        from django.urls import reverse

        return reverse("marches_notice", args=[obj.pk])


class ConsultationDetailOut(ConsultationOut):
    lots: list[LotOut]

    @staticmethod
    def resolve_lots(obj: Consultation) -> list[Lot]:
        return list(obj.lots.all())


class PageOut(Schema):
    count: int
    page: int
    pages: int
    results: list[ConsultationOut]


class SearchQuery(Schema):
    q: str = ""
    cpv: str = ""
    procedure: str = ""
    nature: str = ""
    departement: str = ""
    deadline_from: str = ""
    deadline_to: str = ""
    include_closed: bool = False
    sort: Literal["echeance", "-echeance", "-publication"] = "echeance"
    page: int = 1
    per_page: int = 20


ProcedureCode = Literal[tuple(Procedure.values)]  # type: ignore[valid-type]


NatureCode = Literal[tuple(Nature.values)]  # type: ignore[valid-type]


# A reference names files (register, DCE zip) and goes into e-mail subjects: one line only.
Reference = Annotated[str, AfterValidator(pydantic_single_line("La référence"))]


class LotIn(Schema):
    number: int
    title: str
    cpv: str = ""
    estimated_value: Decimal | None = None


class ConsultationIn(Schema):
    reference: Reference
    title: str
    object: str
    procedure: ProcedureCode
    nature: NatureCode
    cpv_main: str
    cpv_extra: list[str] = []
    place_of_execution: str = ""
    departement: str | None = None
    estimated_value: Decimal | None = None
    variants_allowed: bool = False
    signature_required: bool = False
    electronic_submission: bool = True
    prior_information: bool = False
    urgency: bool = False
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    questions_deadline: datetime
    bids_deadline: datetime
    lots: list[LotIn] = []


class ConsultationPatch(Schema):
    reference: Reference | None = None
    title: str | None = None
    object: str | None = None
    procedure: ProcedureCode | None = None
    nature: NatureCode | None = None
    cpv_main: str | None = None
    cpv_extra: list[str] | None = None
    place_of_execution: str | None = None
    departement: str | None = None
    estimated_value: Decimal | None = None
    variants_allowed: bool | None = None
    signature_required: bool | None = None
    electronic_submission: bool | None = None
    prior_information: bool | None = None
    urgency: bool | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    questions_deadline: datetime | None = None
    bids_deadline: datetime | None = None


def _aware(value):
    """Dates without a time zone are Paris time, as on the pages."""
    if isinstance(value, datetime) and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _fields(data: dict) -> dict:
    return {name: _aware(value) for name, value in data.items()}


@router.get("/consultations", response={200: PageOut, **errors(422)}, auth=None)
def search(request, query: Query[SearchQuery]):
    """Published consultations: open ones by default, same criteria as the search page."""
    data = query.dict()
    page_number, per_page = data.pop("page"), min(max(data.pop("per_page"), 1), 100)
    data["include_closed"] = "on" if data["include_closed"] else ""
    form = SearchForm(data={k: v for k, v in data.items() if v})
    if not form.is_valid():
        errors = [f"{name} : {e}" for name, errs in form.errors.items() for e in errs]
        return Status(422, {"detail": "Critères de recherche invalides.", "errors": errors})
    page = selectors.paginate(selectors.search_consultations(form.params()), page_number, per_page)
    return Status(
        200,
        {
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "results": list(page.object_list),
        },
    )


@router.get(
    "/consultations/{pk}", response={200: ConsultationDetailOut, **errors(404, 422)}, auth=None
)
def read(request, pk: int):
    return selectors.get_public_consultation(pk)


@router.get("/consultations/{pk}/lots", response={200: list[LotOut], **errors(404, 422)}, auth=None)
def lots(request, pk: int):
    return list(selectors.get_public_consultation(pk).lots.all())


@router.get(
    "/consultations/{pk}/dce", response={200: list[DceFileOut], **errors(404, 422)}, auth=None
)
def dce_files(request, pk: int):
    return list(selectors.current_dce_files(selectors.get_public_consultation(pk)))


@router.get(
    "/acheteur/consultations",
    response={200: list[ConsultationOut], **errors(*AUTH)},
    auth=BUYER_AUTH,
)
def buyer_list(request):
    return list(selectors.buyer_consultations(request.user).order_by("-created_at"))


@router.get(
    "/acheteur/consultations/{pk}",
    response={200: ConsultationDetailOut, **errors(*READ)},
    auth=BUYER_AUTH,
)
def buyer_read(request, pk: int):
    return selectors.get_buyer_consultation(request.user, pk)


@router.post(
    "/acheteur/consultations",
    response={201: ConsultationDetailOut, **errors(*BODY, *AUTH, 422)},
    auth=BUYER_AUTH,
)
def buyer_create(request, payload: ConsultationIn):
    """Create a draft for the organisation the token (or session) acts for."""
    organisation = request.organisation
    if organisation is None:
        raise ValidationError("Aucune organisation active pour ce compte.")
    data = payload.dict()
    lots_in = data.pop("lots")
    if data.get("departement") is None:
        data.pop("departement")
    consultation = services.create_consultation(
        actor=request.user, organisation=organisation, lots=lots_in, **_fields(data)
    )
    return Status(201, consultation)


@router.patch(
    "/acheteur/consultations/{pk}",
    response={200: ConsultationDetailOut, **errors(*BODY, *READ)},
    auth=BUYER_AUTH,
)
def buyer_update(request, pk: int, payload: ConsultationPatch):
    consultation = selectors.get_buyer_consultation(request.user, pk)
    data = payload.dict(exclude_unset=True)
    return services.update_consultation(
        actor=request.user, consultation=consultation, **_fields(data)
    )


@router.post(
    "/acheteur/consultations/{pk}/lots",
    response={201: LotOut, **errors(*BODY, *READ)},
    auth=BUYER_AUTH,
)
def buyer_add_lot(request, pk: int, payload: LotIn):
    consultation = selectors.get_buyer_consultation(request.user, pk)
    lot = services.add_lot(actor=request.user, consultation=consultation, **payload.dict())
    return Status(201, lot)


DCE_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "folder": {"type": "string", "description": "dossier du DCE"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/acheteur/consultations/{pk}/dce",
    response={201: DceFileOut, **errors(*BODY, *READ)},
    auth=BUYER_AUTH,
    openapi_extra=DCE_UPLOAD_BODY,
)
def buyer_upload(request, pk: int):
    """Upload one DCE file (multipart `file`, optional `folder`): staged until publication or
    the next rectificatif. A file over the cap is refused before its body is spooled."""
    consultation = selectors.get_buyer_consultation(request.user, pk)
    cap = conf.dce_max_bytes()
    too_big = Status(413, {"detail": upload_limits.too_big_message(cap), "errors": []})
    if upload_limits.declared_too_big(request, cap):
        return too_big
    limiter = upload_limits.install_limit(request, cap)
    uploaded = request.FILES.get("file")
    if (limiter is not None and limiter.exceeded) or (uploaded and uploaded.size > cap):
        return too_big
    if uploaded is None:
        raise ValidationError("Joignez le fichier du DCE (champ « file » en multipart).")
    dce_file = dce.add_dce_file(
        actor=request.user,
        consultation=consultation,
        uploaded_file=uploaded,
        folder=request.POST.get("folder", ""),
    )
    return Status(201, dce_file)


class CommissionIn(Schema):
    members: list[str]  # e-mail addresses of users holding the commission role
    threshold: int


class CommissionMemberOut(Schema):
    position: int
    user_label: str
    collected: bool


class CommissionOut(Schema):
    threshold: int
    fingerprint: str
    complete: bool
    members: list[CommissionMemberOut]


def _commission_out(commission) -> dict:
    return {
        "threshold": commission.threshold,
        "fingerprint": commission.fingerprint,
        "complete": commission.is_complete,
        "members": [
            {"position": m.position, "user_label": m.user_label, "collected": m.has_collected}
            for m in commission.members.order_by("position")
        ],
    }


@router.post(
    "/acheteur/consultations/{pk}/commission",
    response={201: CommissionOut, **errors(*BODY, *READ)},
    auth=BUYER_AUTH,
)
def buyer_name_commission(request, pk: int, payload: CommissionIn):
    """Name the opening commission (key ceremony): each member then collects their share,
    once, on /marches/commission/ (2FA). Needed before publication."""
    consultation = selectors.get_buyer_consultation(request.user, pk)
    candidates = {
        u.email.lower(): u
        for u in opening_selectors.commission_candidates(consultation.organisation)
    }
    unknown = [e for e in payload.members if e.strip().lower() not in candidates]
    if unknown:
        raise ValidationError(
            [
                f"{email} n'a pas le rôle « membre de commission d'ouverture » dans "
                f"{consultation.organisation.name}."
                for email in unknown
            ]
        )
    commission = opening_services.create_opening_commission(
        actor=request.user,
        consultation=consultation,
        members=[candidates[e.strip().lower()] for e in payload.members],
        threshold=payload.threshold,
    )
    return Status(201, _commission_out(commission))


@router.post(
    "/acheteur/consultations/{pk}/publier",
    response={200: ConsultationDetailOut, **errors(*READ)},
    auth=BUYER_AUTH,
)
def buyer_publish(request, pk: int):
    consultation = selectors.get_buyer_consultation(request.user, pk)
    return services.publish(actor=request.user, consultation=consultation)


class ClockOut(Schema):
    now: datetime


@router.get("/horloge", response=ClockOut, auth=None)
def server_clock(request):
    """Server time (UTC), against which every deadline is compared."""
    return {"now": clock.now()}
