"""The platform's REST API (django-ninja), mounted on /api/v1/."""

from ninja import NinjaAPI
from ninja.security import django_auth

from emegalis.actes.acts.api import router as actes_router
from emegalis.adhesions.api import router as adhesions_router
from emegalis.collaboratif.api import router as collaboratif_router
from emegalis.core.api_errors import install_handlers
from emegalis.formations.api import router as formations_router
from emegalis.groupements.api import router as groupements_router
from emegalis.marches.consultations.api import router as marches_router
from emegalis.marches.deposit.api import router as plis_router
from emegalis.marches.opendata.api import router as opendata_router
from emegalis.organisations.api import router as organisations_router
from emegalis.organisations.throttling import ApiKeyThrottled

api = NinjaAPI(
    title="e-mégalis",
    version="1",
    description=(
        "API de la plateforme e-mégalis. Toute erreur répond "
        '`{"detail": "message", "errors": ["précisions"]}` (schéma ErrorOut).'
    ),
    auth=django_auth,
    urls_namespace="api",
)


install_handlers(api)


@api.exception_handler(ApiKeyThrottled)
def throttled(request, exc):
    return api.create_response(request, {"detail": str(exc), "errors": []}, status=429)


api.add_router("/", organisations_router)
api.add_router("/", adhesions_router)
api.add_router("/marches", marches_router)
api.add_router("/marches", opendata_router)
api.add_router("/marches", plis_router)
api.add_router("/actes", actes_router)
api.add_router("/", groupements_router)
api.add_router("/", collaboratif_router)
api.add_router("/", formations_router)
