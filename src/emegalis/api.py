"""The platform's REST API (django-ninja), mounted on /api/v1/."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI
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


api.add_router("/", organisations_router)
api.add_router("/", adhesions_router)
api.add_router("/marches", marches_router)
api.add_router("/marches", opendata_router)
api.add_router("/marches", plis_router)
api.add_router("/actes", actes_router)
