"""The attestation: downloaded by its trainee (or the organisation, or the staff), and
checked online by anyone with its code."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from emegalis.core.downloads import name_download

from .. import selectors


@login_required
def download(request, pk):
    registration = selectors.get_registration(request.user, request.organisation, pk)
    certificate = getattr(registration, "certificate", None)
    if certificate is None:
        raise Http404("Aucune attestation pour cette inscription.")
    response = HttpResponse(bytes(certificate.pdf), content_type="application/pdf")
    return name_download(response, f"attestation-{certificate.code}.pdf")


def check(request, code):
    certificate = selectors.get_certificate_by_code(code)
    return render(request, "formations/certificate_check.html", {"certificate": certificate})
