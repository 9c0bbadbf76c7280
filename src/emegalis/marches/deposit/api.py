"""Deposit of plis by API (companies' tools), mounted under /api/v1/marches/.

Authentication: the platform's personal API keys (organisations.ApiKey) as for the buyers'
API (`Authorization: Bearer <key>`, organisations.api_auth.TokenAuth); the key must act for a
company in which its user holds the company role. Same protocol and same services as the deposit
page (services.py): start, PUT raw bytes at an offset, HEAD/GET the offset, confirm, receipt.
Documented in docs/plis-api.md.

The body of a PUT is read from the request stream and sealed chunk by chunk, exactly like
views.pli_file: no body parameter is declared, so neither django-ninja nor Django's upload
handlers ever read it. Errors are JSON with a French ``detail``."""

import json
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from ninja import Router, Schema
from ninja.errors import HttpError

from emegalis.core import sealing
from emegalis.core.api_errors import BODY, READ, error_response, errors
from emegalis.core.downloads import pdf_attachment
from emegalis.core.forms import error_messages
from emegalis.marches import access
from emegalis.marches.consultations import selectors as consultations_selectors
from emegalis.marches.deposit import selectors, services, upload
from emegalis.marches.deposit.models import Pli, PliFile
from emegalis.organisations.api_auth import TokenAuth
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from emegalis.organisations.selectors import roles_in

router = Router(tags=["dépôt des plis"])


class CompanyKeyAuth(TokenAuth):
    """The buyers' API key authentication, for a company's representative only.

    A missing or unknown key is a 401 (French message); a key acting for anything else than
    a company in which its user holds the company role is a 403.
    """

    def __call__(self, request):
        user = super().__call__(request)
        if not user:
            raise HttpError(401, "Clé d'API absente, inconnue ou révoquée.")
        organisation = request.organisation
        if (
            organisation is None
            or organisation.kind != OrganisationKind.ENTREPRISE
            or Role.ENTREPRISE not in roles_in(user, organisation)
        ):
            raise HttpError(
                403,
                "Cette clé n'agit pas pour une entreprise : le dépôt d'un pli est réservé au "
                "représentant d'une entreprise.",
            )
        if access.company_of(user) != organisation:
            raise HttpError(
                403,
                "Ce compte dépose pour une autre entreprise que celle de la clé : créez la "
                "clé pour l'entreprise qui dépose.",
            )
        return user


COMPANY_AUTH = [CompanyKeyAuth()]


def _error(detail: str, status: int, **extra) -> JsonResponse:
    return error_response(detail, status, **extra)


class PliFileOut(Schema):
    id: int
    kind: str
    lot: int | None
    name: str
    size: int
    offset: int
    sha256: str | None
    url: str


class PliOut(Schema):
    id: int
    consultation: int
    status: str
    status_label: str
    started_at: datetime
    completed_at: datetime | None
    backup_copy_declared: bool
    chunk_size: int
    confirm_url: str
    receipt_url: str | None
    files: list[PliFileOut]


class PliListOut(Schema):
    results: list[PliOut]


class OffsetOut(Schema):
    offset: int
    size: int


def _json_body(schema: dict, required: bool = True) -> dict:
    return {
        "requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}
    }


START_BODY = _json_body(
    {
        "type": "object",
        "required": ["files"],
        "properties": {
            "files": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["kind", "name", "size"],
                    "properties": {
                        "kind": {"type": "string", "description": "candidature ou offre"},
                        "name": {"type": "string"},
                        "size": {"type": "integer", "minimum": 0},
                        "lot": {"type": ["integer", "null"], "description": "numéro de lot"},
                        "document": {"type": "string", "description": "dume, dc1, dc2, autre"},
                    },
                },
            }
        },
    }
)


CONFIRM_BODY = _json_body(
    {"type": "object", "properties": {"backup_copy": {"type": "boolean"}}}, required=False
)


CHUNK_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    "parameters": [
        {
            "in": "header",
            "name": "Upload-Offset",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
            "description": "position du premier octet envoyé dans le fichier",
        }
    ],
}


PDF_RECEIPT = {
    "responses": {
        200: {
            "description": "Accusé de réception signé (PDF)",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


def _detail(exc) -> str:
    return " ".join(error_messages(exc))


def _file_url(pli_file: PliFile) -> str:
    return reverse("api:plis_file", args=[pli_file.pli_id, pli_file.pk])


def _file_out(pli_file: PliFile) -> dict:
    return {
        "id": pli_file.pk,
        "kind": pli_file.kind,
        "lot": pli_file.lot.number if pli_file.lot else None,
        "name": pli_file.name,
        "size": pli_file.size,
        "offset": pli_file.received,
        "sha256": pli_file.sha256 or None,
        "url": _file_url(pli_file),
    }


def _pli_out(pli: Pli) -> dict:
    return {
        "id": pli.pk,
        "consultation": pli.consultation_id,
        "status": pli.status,
        "status_label": pli.get_status_display(),
        "started_at": timezone.localtime(pli.started_at).isoformat(),
        "completed_at": (
            timezone.localtime(pli.completed_at).isoformat() if pli.completed_at else None
        ),
        "backup_copy_declared": pli.backup_copy_declared,
        "chunk_size": sealing.CHUNK_SIZE,
        "confirm_url": reverse("api:plis_confirm", args=[pli.pk]),
        "receipt_url": reverse("api:plis_receipt", args=[pli.pk]) if pli.receipt else None,
        "files": [_file_out(f) for f in sorted(pli.files.all(), key=lambda f: f.pk)],
    }


def _declared(body: bytes) -> list[services.DeclaredFile]:
    """The files announced in a start request, else ValueError with a French message."""
    try:
        payload = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        raise ValueError("Corps JSON illisible.") from None
    files = payload.get("files") if isinstance(payload, dict) else None
    if not isinstance(files, list) or not files:
        raise ValueError("Indiquez la liste « files » des fichiers du pli.")
    declared = []
    for number, item in enumerate(files, start=1):
        if not isinstance(item, dict):
            raise ValueError(f"Fichier n° {number} : objet JSON attendu.")
        kind, name, size, lot = (item.get(k) for k in ("kind", "name", "size", "lot"))
        if not isinstance(kind, str) or not isinstance(name, str) or not name.strip():
            raise ValueError(f"Fichier n° {number} : « kind » et « name » sont requis.")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"Fichier n° {number} : « size » doit être un entier positif.")
        if lot is not None and (not isinstance(lot, int) or isinstance(lot, bool)):
            raise ValueError(f"Fichier n° {number} : « lot » doit être un numéro de lot.")
        document = item.get("document") or ""
        if not isinstance(document, str):
            raise ValueError(f"Fichier n° {number} : « document » vaut dume, dc1, dc2 ou autre.")
        declared.append(
            services.DeclaredFile(kind=kind, name=name, size=size, lot=lot, document=document)
        )
    return declared


@router.post(
    "/entreprise/consultations/{pk}/plis",
    response={201: PliOut, **errors(*BODY, *READ, 409)},
    auth=COMPANY_AUTH,
    url_name="plis_start",
    openapi_extra=START_BODY,
)
def start(request, pk: int):
    """Start a deposit: JSON {"files": [{"kind", "name", "size", "lot"}]} → 201 with the
    file URLs to PUT to."""
    consultation = consultations_selectors.get_public_consultation(pk)
    try:
        declared = _declared(request.body)
    except ValueError as exc:
        return _error(str(exc), 400)
    try:
        pli = services.start_deposit(actor=request.user, consultation=consultation, files=declared)
    except PermissionDenied as exc:
        return _error(_detail(exc), 403)
    except ValidationError as exc:
        status = 413 if getattr(exc, "code", None) == "size" else 400
        if getattr(exc, "code", None) == "closed":
            status = 409
        return _error(_detail(exc), status)
    return JsonResponse(_pli_out(pli), status=201)


@router.get(
    "/entreprise/consultations/{pk}/plis",
    response={200: PliListOut, **errors(*READ)},
    auth=COMPANY_AUTH,
    url_name="plis_list",
)
def own_plis(request, pk: int):
    """The company's deposits for the consultation, complete or in progress."""
    consultation = consultations_selectors.get_public_consultation(pk)
    deposits = selectors.company_deposits(request.user, consultation)
    return JsonResponse({"results": [_pli_out(p) for p in deposits]})


def _own_pli(request, pli_pk: int) -> Pli | None:
    try:
        return selectors.get_company_pli(request.user, pli_pk)
    except Http404:
        return None


@router.get(
    "/entreprise/plis/{pli_pk}",
    response={200: PliOut, **errors(*READ)},
    auth=COMPANY_AUTH,
    url_name="plis_detail",
)
def detail(request, pli_pk: int):
    pli = _own_pli(request, pli_pk)
    if pli is None:
        return _error("Pli introuvable.", 404)
    return JsonResponse(_pli_out(pli))


@router.delete(
    "/entreprise/plis/{pli_pk}",
    response={204: None, **errors(*READ, 409)},
    auth=COMPANY_AUTH,
    url_name="plis_abandon",
)
def abandon(request, pli_pk: int):
    """Abandon a deposit still in progress (deleted with its stored chunks)."""
    try:
        services.abandon_deposit(actor=request.user, pli_pk=pli_pk)
    except PermissionDenied:
        return _error("Pli introuvable.", 404)
    except ValidationError as exc:
        return _error(_detail(exc), 409)
    return HttpResponse(status=204)


@router.api_operation(
    ["GET", "HEAD"],
    "/entreprise/plis/{pli_pk}/fichiers/{file_pk}",
    response={200: OffsetOut, **errors(*READ)},
    auth=COMPANY_AUTH,
    url_name="plis_file",
)
def pli_file_offset(request, pli_pk: int, file_pk: int):
    """GET/HEAD: the server's offset (also in the Upload-Offset header)."""
    return pli_file(request, pli_pk, file_pk)


@router.put(
    "/entreprise/plis/{pli_pk}/fichiers/{file_pk}",
    response={200: OffsetOut, **errors(*BODY, *READ, 409)},
    auth=COMPANY_AUTH,
    url_name="plis_file",
    openapi_extra=CHUNK_BODY,
)
def pli_file(request, pli_pk: int, file_pk: int):
    """GET/HEAD: the server's offset. PUT: raw bytes from ``Upload-Offset`` (deposit/upload.py)."""
    return upload.answer(request, pli_pk=pli_pk, file_pk=file_pk)


@router.post(
    "/entreprise/plis/{pli_pk}/confirmer",
    response={200: PliOut, **errors(*BODY, *READ, 409)},
    auth=COMPANY_AUTH,
    url_name="plis_confirm",
    openapi_extra=CONFIRM_BODY,
)
def confirm(request, pli_pk: int):
    """Confirm a deposit whose files are whole; JSON {"backup_copy": bool} (optional)."""
    try:
        payload = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error("Corps JSON illisible.", 400)
    if not isinstance(payload, dict) or not isinstance(payload.get("backup_copy", False), bool):
        return _error("« backup_copy » doit être un booléen.", 400)
    try:
        pli = services.complete_deposit(
            actor=request.user,
            pli_pk=pli_pk,
            backup_copy_declared=payload.get("backup_copy", False),
        )
    except PermissionDenied:
        return _error("Pli introuvable.", 404)
    except ValidationError as exc:
        return _error(_detail(exc), 409)
    return JsonResponse(_pli_out(pli))


@router.get(
    "/entreprise/plis/{pli_pk}/accuse.pdf",
    response={200: None, **errors(*READ, 409)},
    auth=COMPANY_AUTH,
    url_name="plis_receipt",
    openapi_extra=PDF_RECEIPT,
)
def receipt(request, pli_pk: int):
    """The signed receipt (PDF) of a complete deposit."""
    pli = _own_pli(request, pli_pk)
    if pli is None:
        return _error("Pli introuvable.", 404)
    if not pli.receipt:
        return _error("Pas encore d'accusé de réception : le dépôt n'est pas terminé.", 409)
    return pdf_attachment(pli.receipt, f"accuse-reception-{pli.pk}.pdf")
