"""The operator's journal pages: list with filters, an entry, the CSV export, and the
background verification of the whole chain."""

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from emegalis.core import csv_export, journal_checks
from emegalis.core.downloads import name_download

from . import journal_screen
from .forms import JournalFilterForm
from .journal_screen import JournalFilters
from .selectors import require_platform_staff

PER_PAGE = 50


def _filters(request) -> tuple[JournalFilterForm, JournalFilters]:
    form = JournalFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, JournalFilters(**form.cleaned_data)
    return form, JournalFilters()


@login_required
def journal_list(request):
    require_platform_staff(request.user)
    form, filters = _filters(request)
    entries = journal_screen.journal_entries(request.user, filters)
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "organisations/journal_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "last_verification": journal_screen.verifications(request.user).first(),
        },
    )


@login_required
def journal_entry(request, pk: int):
    entry = journal_screen.journal_entry(request.user, pk)
    return render(
        request,
        "organisations/journal_entry.html",
        {"entry": entry, "payload": json.dumps(entry.payload, indent=2, ensure_ascii=False)},
    )


class _Echo:
    def write(self, value):
        return value


@login_required
def journal_csv(request):
    require_platform_staff(request.user)
    _, filters = _filters(request)
    entries = journal_screen.journal_entries(request.user, filters)
    writer = csv_export.writer(_Echo(), delimiter=";")

    def rows():
        yield "\ufeff"
        yield writer.writerow(journal_screen.CSV_HEADER)
        for entry in entries.iterator(chunk_size=2000):
            yield writer.writerow(journal_screen.csv_row(entry))

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    name_download(response, "journal.csv")
    return response


@login_required
@require_POST
def journal_verify(request):
    require_platform_staff(request.user)
    verification = journal_checks.request_verification(actor=request.user)
    return redirect("operator_journal_verification", pk=verification.pk)


@login_required
def journal_verification(request, pk: int):
    verification = journal_screen.verification(request.user, pk)
    template = (
        "organisations/_journal_verification.html"
        if request.htmx
        else "organisations/journal_verification.html"
    )
    return render(request, template, {"verification": verification})
