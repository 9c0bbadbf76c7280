"""Pages of the adhésions: an organisation's conventions and contributions, the operator's
member registry and contribution calls. Thin: selectors read, services write."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from emegalis.core import clock
from emegalis.core.downloads import pdf_attachment
from emegalis.core.forms import add_service_errors
from emegalis.core.services_catalog import Service

from . import selectors, services
from .forms import (
    ContributionCreateForm,
    ConventionCreateForm,
    ConventionServicesForm,
    ConventionStatusForm,
    GenerateCallsForm,
    MarkPaidForm,
    MemberFilterForm,
    SignedDocumentForm,
    YearFilterForm,
)
from .models import ConventionStatus


def staff_required(view):
    """Platform staff only: anyone else gets 403 (anonymous users go to the login page)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        selectors.require_platform_staff(request.user)
        return view(request, *args, **kwargs)

    return wrapped


# --- Organisation pages ---------------------------------------------------------------------------


@login_required
@require_GET
def organisation_conventions(request, pk: int):
    organisation, conventions = selectors.conventions_of(request.user, pk)
    return render(
        request,
        "adhesions/organisation_conventions.html",
        {
            "organisation": organisation,
            "conventions": conventions,
            "today": clock.today(),
        },
    )


@login_required
@require_GET
def convention_document(request, pk: int):
    convention = selectors.get_convention(request.user, pk)
    if not convention.signed_document:
        raise Http404("Aucun document signé pour cette convention.")
    return pdf_attachment(convention.signed_document, f"convention-{convention.reference}.pdf")


@login_required
@require_GET
def organisation_contributions(request, pk: int):
    organisation, rows = selectors.contributions_of(request.user, pk)
    return render(
        request,
        "adhesions/organisation_contributions.html",
        {
            "organisation": organisation,
            "rows": rows,
            "charges": selectors.charges_of(request.user, organisation),
        },
    )


@login_required
@require_GET
def contribution_call_pdf(request, pk: int):
    call = selectors.get_call(request.user, pk)
    return pdf_attachment(call.pdf, f"appel-contribution-{call.number}.pdf")


# --- Operator: members ----------------------------------------------------------------------------


@staff_required
@require_GET
def operator_members(request):
    form = MemberFilterForm(request.GET or None, epcis=selectors.epcis(request.user))
    # Invalid filters are dropped (the form says why); the valid ones still apply.
    data = {}
    if form.is_bound:
        form.is_valid()  # fills cleaned_data with the valid fields, errors with the others
        data = form.cleaned_data
    epci = data.get("epci")
    filters = selectors.MemberFilters(
        kind=data.get("type") or "",
        parent=epci.pk if epci else None,
        status=data.get("statut") or "",
        service=data.get("service") or "",
    )
    organisations = selectors.operator_members(request.user, filters)
    page = Paginator(organisations, 50).get_page(request.GET.get("page"))
    enabled = {code: selectors.organisations_enabling(code) for code in Service.values}
    rows = [
        {
            "organisation": o,
            "status_label": ConventionStatus(o.latest_status).label if o.latest_status else "",
            "services": [Service(code).label for code in Service.values if o.pk in enabled[code]],
        }
        for o in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "adhesions/operator_members.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "count": page.paginator.count,
            "query": query.urlencode(),
        },
    )


@staff_required
@require_GET
def operator_member_detail(request, pk: int):
    detail = selectors.operator_member_detail(request.user, pk)
    return render(
        request,
        "adhesions/operator_member_detail.html",
        {
            "detail": detail,
            "organisation": detail.organisation,
            "enabled_labels": [
                Service(code).label for code in Service.values if code in detail.enabled_services
            ],
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def operator_convention_create(request, pk: int):
    organisation = selectors.get_organisation_for_operator(request.user, pk)
    posted = request.method == "POST"
    form = ConventionCreateForm(request.POST if posted else None)
    if posted and form.is_valid():
        try:
            convention = services.create_convention(
                actor=request.user, organisation=organisation, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Convention {convention.reference} enregistrée au statut « prospect ».",
            )
            return redirect("operator_member_detail", pk=organisation.pk)
    return render(
        request,
        "adhesions/operator_convention_create.html",
        {"organisation": organisation, "form": form},
        status=400 if posted else 200,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def operator_convention_services(request, pk: int):
    convention = selectors.get_convention_for_operator(request.user, pk)
    posted = request.method == "POST"
    form = ConventionServicesForm(
        request.POST if posted else None, initial={"services": convention.services}
    )
    if posted and form.is_valid():
        try:
            services.set_convention_services(
                actor=request.user, convention=convention, services=form.cleaned_data["services"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, f"Services de la convention {convention.reference} mis à jour."
            )
            return redirect("operator_member_detail", pk=convention.organisation_id)
    return render(
        request,
        "adhesions/operator_convention_services.html",
        {"convention": convention, "form": form},
        status=400 if posted else 200,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def operator_convention_status(request, pk: int):
    convention = selectors.get_convention_for_operator(request.user, pk)
    allowed = services.allowed_next_statuses(convention)
    posted = request.method == "POST"
    form = ConventionStatusForm(request.POST if posted else None, allowed=allowed)
    if posted and form.is_valid():
        try:
            change = services.change_convention_status(
                actor=request.user,
                convention=convention,
                status=form.cleaned_data["status"],
                effective_on=form.cleaned_data["effective_on"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Convention {convention.reference} : statut « {change.get_status_display()} » "
                f"à compter du {change.effective_on:%d/%m/%Y}.",
            )
            return redirect("operator_member_detail", pk=convention.organisation_id)
    return render(
        request,
        "adhesions/operator_convention_status.html",
        {"convention": convention, "form": form, "allowed": allowed},
        status=400 if posted else 200,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def operator_convention_document(request, pk: int):
    convention = selectors.get_convention_for_operator(request.user, pk)
    posted = request.method == "POST"
    form = SignedDocumentForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        try:
            services.attach_signed_document(
                actor=request.user,
                convention=convention,
                file=form.cleaned_data["document"],
                signed_on=form.cleaned_data["signed_on"],
            )
        except ValidationError as error:
            add_service_errors(form, error, "document")
        else:
            messages.success(
                request, f"Document signé de la convention {convention.reference} enregistré."
            )
            return redirect("operator_member_detail", pk=convention.organisation_id)
    return render(
        request,
        "adhesions/operator_convention_document.html",
        {"convention": convention, "form": form},
        status=400 if posted else 200,
    )


# --- Operator: contributions ----------------------------------------------------------------------


def _render_contributions(
    request, *, year: int, unpaid_only: bool, generate_form=None, pay_forms=None, status=200
):
    calls = selectors.calls_of_year(request.user, year, unpaid_only=unpaid_only)
    pay_forms = pay_forms or {}
    rows = [
        {
            "call": call,
            "form": pay_forms.get(call.pk)
            or MarkPaidForm(initial={"paid_on": clock.today()}, prefix=f"appel-{call.pk}"),
        }
        for call in calls
    ]
    return render(
        request,
        "adhesions/operator_contributions.html",
        {
            "year": year,
            "unpaid_only": unpaid_only,
            "rows": rows,
            "pending": selectors.contributions_without_call(request.user, year),
            "generate_form": generate_form or GenerateCallsForm(initial={"year": year}),
            "filter_form": YearFilterForm(initial={"annee": year, "impayes": unpaid_only}),
        },
        status=status,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def operator_contribution_create(request, pk: int):
    payer = selectors.get_organisation_for_operator(request.user, pk)
    candidates = selectors.beneficiary_candidates(request.user, payer)
    posted = request.method == "POST"
    form = ContributionCreateForm(
        request.POST if posted else None,
        candidates=candidates,
        initial={"year": clock.today().year, "beneficiaries": list(candidates)},
    )
    if posted and form.is_valid():
        try:
            contribution = services.create_contribution(
                actor=request.user, payer=payer, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Contribution {contribution.year} de {payer.name} enregistrée ; l'appel sera "
                "émis avec ceux de l'année.",
            )
            return redirect("operator_member_detail", pk=payer.pk)
    return render(
        request,
        "adhesions/operator_contribution_create.html",
        {"organisation": payer, "form": form},
        status=400 if posted else 200,
    )


@staff_required
@require_GET
def operator_contributions(request):
    form = YearFilterForm(request.GET)
    year, unpaid_only = clock.today().year, False
    if form.is_valid():
        year = form.cleaned_data["annee"] or year
        unpaid_only = form.cleaned_data["impayes"]
    else:
        messages.error(request, "Année invalide : les appels de l'année en cours sont affichés.")
    return _render_contributions(request, year=year, unpaid_only=unpaid_only)


@staff_required
@require_POST
def operator_generate_calls(request):
    form = GenerateCallsForm(request.POST)
    if form.is_valid():
        year = form.cleaned_data["year"]
        try:
            calls = services.generate_calls(
                actor=request.user, year=year, issued_on=form.cleaned_data["issued_on"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if calls:
                messages.success(
                    request,
                    f"{len(calls)} appel(s) de contribution émis pour {year} "
                    f"({calls[0].number} à {calls[-1].number}).",
                )
            else:
                messages.info(request, f"Aucun nouvel appel à émettre pour {year}.")
            return redirect(f"{reverse('operator_contributions')}?annee={year}")
    year = clock.today().year
    if "year" in form.cleaned_data:
        year = form.cleaned_data["year"]
    return _render_contributions(
        request, year=year, unpaid_only=False, generate_form=form, status=400
    )


@staff_required
@require_POST
def operator_mark_call_paid(request, pk: int):
    call = selectors.get_call_for_operator(request.user, pk)
    form = MarkPaidForm(request.POST, prefix=f"appel-{call.pk}")
    year = call.contribution.year
    if form.is_valid():
        try:
            services.mark_call_paid(
                actor=request.user,
                call=call,
                paid_on=form.cleaned_data["paid_on"],
                payment_reference=form.cleaned_data["payment_reference"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Appel {call.number} marqué payé.")
            return redirect(f"{reverse('operator_contributions')}?annee={year}")
    return _render_contributions(
        request, year=year, unpaid_only=False, pay_forms={call.pk: form}, status=400
    )
