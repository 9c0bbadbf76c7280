"""Open data pages and files: DECP v2 (public file, buyer's file and verdicts) and OCDS.

The public DECP file is always valid against the official schema: a record that fails a
check is left out of it and listed, with its French errors, on its buyer's page
(/marches/acheteur/donnees-essentielles/) until corrected."""

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from emegalis.core.downloads import name_download
from emegalis.marches.opendata import decp, ocds, selectors


def _json_file(data: dict, filename: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    return name_download(response, filename)


def _bad_filters(exc: ValidationError) -> JsonResponse:
    return JsonResponse(
        {"detail": "Paramètres invalides.", "errors": exc.messages},
        status=400,
        json_dumps_params={"ensure_ascii": False},
    )


def opendata(request):
    """Public page: what the essential data are, where to get them."""
    return render(
        request, "marches/opendata_home.html", {"contracts": selectors.latest_public_contracts(50)}
    )


def decp_json(request):
    """Every publishable contract of the platform (?acheteur=<SIRET>&annee=<AAAA>)."""
    try:
        filters = selectors.parse_filters(request.GET)
    except ValidationError as exc:
        return _bad_filters(exc)
    export = decp.build_export(filters.apply(selectors.public_contracts()))
    return _json_file(export.document, f"decp-e-megalis{filters.suffix}.json")


def ocds_json(request, pk: int):
    """The OCDS release package of a public consultation (404 for a draft)."""
    consultation = selectors.get_ocds_consultation(pk)
    package = ocds.release_package(consultation)
    return _json_file(package, f"{ocds.ocid(consultation)}.json")


@login_required
def buyer_opendata(request):
    """The buyer's contracts with the DECP verdict of each, and their own DECP file."""
    rows = [(c, decp.decp_errors(c)) for c in selectors.buyer_contracts(request.user)]
    return render(
        request,
        "marches/opendata_buyer.html",
        {"rows": rows, "invalid": sum(1 for _, errors in rows if errors)},
    )


@login_required
def buyer_decp_json(request):
    try:
        filters = selectors.parse_filters(request.GET)
    except ValidationError as exc:
        return _bad_filters(exc)
    export = decp.build_export(filters.apply(selectors.buyer_contracts(request.user)))
    return _json_file(export.document, f"decp{filters.suffix}.json")
