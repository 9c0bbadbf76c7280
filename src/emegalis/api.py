"""The platform's REST API (django-ninja), mounted on /api/v1/."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import ValidationError as SchemaValidationError
from ninja.security import django_auth

from emegalis.actes.api import router as actes_router
from emegalis.adhesions.api import router as adhesions_router
from emegalis.marches.api import router as marches_router
from emegalis.marches.api_opendata import router as opendata_router
from emegalis.marches.api_plis import router as plis_router
from emegalis.organisations.api import router as organisations_router
from emegalis.organisations.throttling import ApiKeyThrottled

api = NinjaAPI(
    title="e-mégalis",
    version="1",
    description="API de la plateforme e-mégalis.",
    auth=django_auth,
    urls_namespace="api",
)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": "Ressource introuvable."}, status=404)


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    detail = str(exc) or "Accès refusé."
    return api.create_response(request, {"detail": detail}, status=403)


@api.exception_handler(ValidationError)
def invalid(request, exc):
    return api.create_response(
        request, {"detail": "Données invalides.", "errors": exc.messages}, status=422
    )


@api.exception_handler(ApiKeyThrottled)
def throttled(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=429)


# Pydantic's own messages (English) for the common schema errors, in French.
_SCHEMA_MESSAGES = {
    "missing": "champ obligatoire.",
    "string_type": "une chaîne de caractères est attendue.",
    "int_parsing": "un nombre entier est attendu.",
    "int_type": "un nombre entier est attendu.",
    "int_from_float": "un nombre entier est attendu.",
    "float_parsing": "un nombre est attendu.",
    "decimal_parsing": "un nombre décimal est attendu.",
    "bool_parsing": "vrai ou faux (true/false) est attendu.",
    "list_type": "une liste est attendue.",
    "dict_type": "un objet est attendu.",
    "model_attributes_type": "un objet est attendu.",
    "date_parsing": "une date au format AAAA-MM-JJ est attendue.",
    "date_from_datetime_parsing": "une date au format AAAA-MM-JJ est attendue.",
    "datetime_parsing": "une date et heure au format AAAA-MM-JJTHH:MM est attendue.",
    "datetime_from_date_parsing": "une date et heure au format AAAA-MM-JJTHH:MM est attendue.",
    "datetime_type": "une date et heure au format AAAA-MM-JJTHH:MM est attendue.",
    "json_invalid": "corps JSON illisible.",
}


def schema_error_message(error: dict) -> str:
    """One pydantic error as « champ : raison », in French."""
    loc = [str(part) for part in error.get("loc", ())]
    # ("body", "payload", "reference") → "reference"; ("query", "page") → "page".
    field = ".".join(loc[2:] if loc[:1] == ["body"] and len(loc) > 2 else loc[1:])
    kind = error.get("type", "")
    if kind == "value_error":
        # Our own validators raise ValueError with a French sentence.
        reason = str((error.get("ctx") or {}).get("error") or error.get("msg", ""))
    elif kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        reason = f"valeur non admise (attendu : {expected})."
    else:
        reason = _SCHEMA_MESSAGES.get(kind) or f"valeur invalide ({error.get('msg', kind)})."
    return f"{field} : {reason}" if field else reason


@api.exception_handler(SchemaValidationError)
def schema_invalid(request, exc):
    """Schema errors get the same shape and language as the services' refusals."""
    errors = [schema_error_message(e) for e in exc.errors]
    return api.create_response(
        request, {"detail": "Données invalides.", "errors": errors}, status=422
    )


api.add_router("/", organisations_router)
api.add_router("/", adhesions_router)
api.add_router("/marches", marches_router)
api.add_router("/marches", opendata_router)
api.add_router("/marches", plis_router)
api.add_router("/actes", actes_router)
