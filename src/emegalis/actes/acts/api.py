"""JSON API of the contrôle de légalité (mounted on /api/v1/actes), for the platform's own
front-ends and scripts with a session: the acts of the active organisation, scoped like the
pages (an agent actes sees their organisation's acts only; anything else is a 404). Client
software uses the S²LOW-style API (``legacy_api``)."""

from datetime import date, datetime

from django.core.exceptions import PermissionDenied
from ninja import Router, Schema

from emegalis.actes import access
from emegalis.actes.acts import selectors
from emegalis.actes.models import Transaction
from emegalis.core.api_errors import AUTH, READ, errors

router = Router(tags=["actes"])


class StatusChangeOut(Schema):
    status: int
    label: str
    at: datetime
    message: str


class ActeOut(Schema):
    id: int
    numero_interne: str
    nature: int | None
    objet: str
    decision_date: date | None
    classification: str
    status: int
    status_label: str
    id_acte: str
    date_reception: date | None
    published_on: date | None

    @staticmethod
    def resolve_classification(obj: Transaction) -> str:
        return obj.matiere_code

    @staticmethod
    def resolve_status_label(obj: Transaction) -> str:
        return obj.get_status_display()


class ActeDetailOut(ActeOut):
    history: list[StatusChangeOut]

    @staticmethod
    def resolve_history(obj: Transaction) -> list[dict]:
        return [
            {"status": h.status, "label": h.get_status_display(), "at": h.at, "message": h.message}
            for h in obj.status_changes.all()
        ]


def _organisation(request):
    if (
        not selectors.agent_organisations(request.user)
        .filter(pk=getattr(request.organisation, "pk", None))
        .exists()
    ):
        raise PermissionDenied("Réservé aux agents « actes » de la collectivité.")
    access.require_agent(request.user, request.organisation)
    return request.organisation


@router.get("/", response={200: list[ActeOut], **errors(*AUTH, 422)})
def list_actes(request, status: int | None = None):
    qs = selectors.actes_for(request.user, _organisation(request))
    if status is not None:
        qs = qs.filter(status=status)
    return list(qs[:500])


@router.get("/{acte_id}", response={200: ActeDetailOut, **errors(*READ)})
def get_acte(request, acte_id: int):
    return selectors.get_acte(request.user, _organisation(request), acte_id)
