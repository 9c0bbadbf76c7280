"""Open data endpoints of the API (DECP v2, OCDS), mounted under /api/v1/marches/."""

from ninja import Router

router = Router(tags=["données ouvertes"])
