"""Open data API (mounted in marches/api.py, so under /api/v1/marches), public, mirroring the
public files: the DECP document of the platform and a consultation's OCDS package."""

from ninja import Router

from emegalis.core.api_errors import errors
from emegalis.marches.opendata import decp, ocds, selectors

router = Router(tags=["données ouvertes"])


@router.get("/donnees-essentielles", response={200: dict, **errors(422)}, auth=None)
def decp_document(request, acheteur: str = "", annee: str = ""):
    """DECP v2 document of the publishable notified contracts (same as
    /marches/donnees-essentielles/decp.json). Bad filters: 422 with French errors."""
    filters = selectors.parse_filters({"acheteur": acheteur, "annee": annee})
    return decp.build_export(filters.apply(selectors.public_contracts())).document


@router.get("/consultations/{pk}/ocds", response={200: dict, **errors(404, 422)}, auth=None)
def ocds_package(request, pk: int):
    """OCDS release package of a public consultation (404 for a draft or an unknown one)."""
    return ocds.release_package(selectors.get_ocds_consultation(pk))
