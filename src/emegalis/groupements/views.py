"""Pages of the groupements service: thin views over services and selectors."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from emegalis.adhesions.decorators import service_required
from emegalis.adhesions.selectors import organisations_enabling
from emegalis.collaboratif import selectors as collaboratif_selectors
from emegalis.core import clock
from emegalis.core.downloads import name_download
from emegalis.core.forms import add_service_errors, error_messages
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import Organisation
from emegalis.organisations.roles import Role
from emegalis.organisations.selectors import has_confirmed_totp, roles_in

from . import selectors, services, xlsx
from .forms import (
    AddMemberForm,
    AllocationForm,
    ConsultationForm,
    CostForm,
    DissolveForm,
    GroupementForm,
    MemberContractForm,
    NeedsUploadForm,
    SignForm,
    SurveyForm,
)
from .models import State, SurveyState
from .permissions import may_manage

groupements_view = [login_required, service_required(Service.GROUPEMENTS)]


def _view(function):
    for decorator in reversed(groupements_view):
        function = decorator(function)
    return function


def _flash_refusal(request, exc) -> None:
    for message in error_messages(exc):
        messages.error(request, message)


@_view
def groupement_list(request):
    organisation = request.organisation
    return render(
        request,
        "groupements/list.html",
        {
            "groupements": selectors.groupements_for(request.user, organisation),
            "may_create": may_manage(request.user, organisation),
        },
    )


def _record(form) -> dict:
    data = dict(form.cleaned_data)
    data["fixed_part_percent"] = data.get("fixed_part_percent") or 0
    return data


@_view
def groupement_create(request):
    if not may_manage(request.user, request.organisation):
        raise PermissionDenied(
            "Seuls le référent et les coordinateurs de groupement créent un groupement."
        )
    form = GroupementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            groupement = services.create_groupement(
                actor=request.user, coordinator=request.organisation, **_record(form)
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Groupement créé : ajoutez ses membres.")
            return redirect("groupement_detail", pk=groupement.pk)
    return render(request, "groupements/form.html", {"form": form, "groupement": None})


@_view
def groupement_edit(request, pk):
    groupement = selectors.get_groupement(request.user, request.organisation, pk)
    if not selectors.is_coordinator(request.user, request.organisation, groupement):
        raise PermissionDenied("Seul le coordonnateur modifie le groupement.")
    initial = {name: getattr(groupement, name) for name in services.EDITABLE_FIELDS}
    form = GroupementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_groupement(actor=request.user, groupement=groupement, **_record(form))
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Groupement modifié.")
            return redirect("groupement_detail", pk=groupement.pk)
    return render(request, "groupements/form.html", {"form": form, "groupement": groupement})


def _member_candidates(groupement):
    enabled = organisations_enabling(Service.GROUPEMENTS)
    current = groupement.members.filter(withdrawn_on__isnull=True).values("organisation")
    return Organisation.objects.filter(pk__in=enabled).exclude(pk__in=current).order_by("name")


@_view
def groupement_detail(request, pk):
    organisation = request.organisation
    groupement = selectors.get_groupement(request.user, organisation, pk)
    coordinator = selectors.is_coordinator(request.user, organisation, groupement)
    version = services.latest_version(groupement)
    signed = (
        {s.member_id: s for s in version.signatures.select_related("signed_by")} if version else {}
    )
    members = list(selectors.members_of(groupement))
    own = next(
        (m for m in members if m.organisation_id == organisation.pk and not m.withdrawn_on), None
    )
    may_sign = (
        groupement.state == State.EN_SIGNATURE
        and own is not None
        and own.pk not in signed
        and Role.REFERENT in roles_in(request.user, organisation)
    )
    return render(
        request,
        "groupements/detail.html",
        {
            "groupement": groupement,
            "coordinator": coordinator,
            "members": [(m, signed.get(m.pk)) for m in members],
            "version": version,
            "versions": groupement.convention_versions.order_by("-number"),
            "surveys": groupement.surveys.all(),
            "may_sign": may_sign,
            "sign_form": SignForm() if may_sign else None,
            "add_form": AddMemberForm(candidates=_member_candidates(groupement))
            if coordinator and groupement.state != State.DISSOUS
            else None,
            "dissolve_form": DissolveForm()
            if coordinator and groupement.state != State.DISSOUS
            else None,
            "states": State,
            "workspace": collaboratif_selectors.service_workspace(
                request.user, f"groupement:{groupement.pk}"
            ),
        },
    )


@_view
@require_POST
def member_add(request, pk):
    groupement = selectors.get_groupement(request.user, request.organisation, pk)
    form = AddMemberForm(request.POST, candidates=_member_candidates(groupement))
    if not form.is_valid():
        messages.error(request, "Choisissez une organisation dont la convention ouvre le service.")
    else:
        try:
            services.add_member(
                actor=request.user,
                groupement=groupement,
                organisation=form.cleaned_data["organisation"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _flash_refusal(request, exc)
        else:
            messages.success(request, f"{form.cleaned_data['organisation'].name} ajoutée.")
    return redirect("groupement_detail", pk=groupement.pk)


@_view
@require_POST
def member_remove(request, pk, org_pk):
    groupement = selectors.get_groupement(request.user, request.organisation, pk)
    member = selectors.members_of(groupement).filter(organisation_id=org_pk).first()
    if member is None:
        messages.error(request, "Ce membre n'est pas dans le groupement.")
    else:
        try:
            services.remove_member(
                actor=request.user, groupement=groupement, organisation=member.organisation
            )
        except (ValidationError, PermissionDenied) as exc:
            _flash_refusal(request, exc)
        else:
            messages.success(request, f"{member.organisation.name} retirée du groupement.")
    return redirect("groupement_detail", pk=groupement.pk)


@_view
@require_POST
def submit_for_signature(request, pk):
    groupement = selectors.get_groupement(request.user, request.organisation, pk)
    try:
        version = services.submit_for_signature(actor=request.user, groupement=groupement)
    except (ValidationError, PermissionDenied) as exc:
        _flash_refusal(request, exc)
    else:
        messages.success(
            request, f"Convention constitutive version {version.number} soumise à la signature."
        )
    return redirect("groupement_detail", pk=groupement.pk)


@_view
def sign(request, pk):
    groupement = selectors.get_groupement(request.user, request.organisation, pk)
    detail = reverse("groupement_detail", args=[groupement.pk])
    if request.method != "POST":
        return redirect(detail)
    if not request.user.is_verified():
        return _two_factor_redirect(request, detail)
    form = SignForm(request.POST)
    if form.is_valid():
        try:
            services.sign_convention(
                actor=request.user,
                groupement=groupement,
                organisation=request.organisation,
                two_factor_verified=True,
                **form.cleaned_data,
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Convention signée pour votre organisation.")
            return redirect(detail)
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label} : {error}" if label else error)
    return redirect(detail)


@_view
@require_POST
def dissolve(request, pk):
    groupement = selectors.get_groupement(request.user, request.organisation, pk)
    form = DissolveForm(request.POST)
    try:
        services.dissolve(
            actor=request.user,
            groupement=groupement,
            reason=form.data.get("reason", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        _flash_refusal(request, exc)
    else:
        messages.success(request, "Groupement dissous.")
    return redirect("groupement_detail", pk=groupement.pk)


@_view
def convention_pdf(request, pk):
    version = selectors.get_version(request.user, request.organisation, pk)
    response = HttpResponse(bytes(version.pdf), content_type="application/pdf")
    return name_download(
        response, f"convention-groupement-{version.groupement_id}-v{version.number}.pdf"
    )


@_view
def survey_create(request, pk):
    groupement = selectors.get_groupement(request.user, request.organisation, pk)
    if not selectors.is_coordinator(request.user, request.organisation, groupement):
        raise PermissionDenied("Seul le coordonnateur ouvre un recensement des besoins.")
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            survey = services.open_survey(
                actor=request.user, groupement=groupement, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, "Recensement ouvert : les membres peuvent saisir leurs besoins."
            )
            return redirect("groupement_survey", pk=survey.pk)
    return render(request, "groupements/survey_form.html", {"form": form, "groupement": groupement})


def _own_member(survey, organisation):
    return services.participating_members(survey).filter(organisation=organisation).first()


@_view
def survey_detail(request, pk):
    organisation = request.organisation
    survey = selectors.get_survey(request.user, organisation, pk)
    rows, members = selectors.survey_table(request.user, organisation, survey)
    participating = _own_member(survey, organisation) is not None
    editable = survey.state == SurveyState.OUVERT and participating
    errors = []
    if request.method == "POST" and editable:
        quantities = {row.item.pk: request.POST.get(f"q-{row.item.pk}", "") for row in rows}
        try:
            services.record_needs(
                actor=request.user, survey=survey, organisation=organisation, quantities=quantities
            )
        except (ValidationError, PermissionDenied) as exc:
            errors = error_messages(exc)
        else:
            messages.success(request, "Besoins enregistrés.")
            return redirect("groupement_survey", pk=survey.pk)
    return render(
        request,
        "groupements/survey.html",
        {
            "survey": survey,
            "groupement": survey.groupement,
            "rows": rows,
            "members": members,
            "coordinator": selectors.is_coordinator(request.user, organisation, survey.groupement),
            "editable": editable,
            "participating": participating,
            "errors": errors,
            "entered": request.POST if errors else None,
            "upload_form": NeedsUploadForm() if editable else None,
            "shares": selectors.allocations(request.user, organisation, survey),
        },
    )


@_view
def survey_sheet(request, pk):
    organisation = request.organisation
    survey = selectors.get_survey(request.user, organisation, pk)
    rows, _ = selectors.survey_table(request.user, organisation, survey)
    data = xlsx.build(
        title=survey.title,
        member=organisation.name,
        rows=[
            (
                r.item.pk,
                r.item.lot.number,
                r.item.designation,
                r.item.unit,
                r.item.unit_price,
                r.own or 0,
            )
            for r in rows
        ],
    )
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return name_download(response, f"besoins-recensement-{survey.pk}.xlsx")


@_view
@require_POST
def survey_upload(request, pk):
    organisation = request.organisation
    survey = selectors.get_survey(request.user, organisation, pk)
    form = NeedsUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choisissez la feuille de besoins (.xlsx) à déposer.")
        return redirect("groupement_survey", pk=survey.pk)
    upload = form.cleaned_data["sheet"]
    if upload.size > xlsx.MAX_BYTES:
        messages.error(request, "Le fichier dépasse 5 Mo : ce n'est pas la feuille de besoins.")
        return redirect("groupement_survey", pk=survey.pk)
    try:
        saved = services.record_needs_from_xlsx(
            actor=request.user, survey=survey, organisation=organisation, data=upload.read()
        )
    except (ValidationError, PermissionDenied) as exc:
        _flash_refusal(request, exc)
    else:
        messages.success(request, f"Feuille importée : {saved} articles enregistrés.")
    return redirect("groupement_survey", pk=survey.pk)


@_view
@require_POST
def survey_close(request, pk):
    survey = selectors.get_survey(request.user, request.organisation, pk)
    if not selectors.is_coordinator(request.user, request.organisation, survey.groupement):
        raise PermissionDenied("Seul le coordonnateur clôt le recensement.")
    services.close_survey(survey=survey, actor=request.user)
    messages.success(request, "Recensement clos ; son instantané est scellé dans le journal.")
    return redirect("groupement_survey", pk=survey.pk)


@_view
def consultation_create(request, pk):
    survey = selectors.get_survey(request.user, request.organisation, pk)
    if not selectors.is_coordinator(request.user, request.organisation, survey.groupement):
        raise PermissionDenied("Seul le coordonnateur lance la consultation du groupement.")
    form = ConsultationForm(
        request.POST or None,
        initial={"title": survey.groupement.object, "object": survey.groupement.object},
    )
    if request.method == "POST" and form.is_valid():
        try:
            consultation = services.create_consultation(
                actor=request.user, survey=survey, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Consultation {consultation.reference} créée en brouillon, avec l'état des "
                "besoins par membre dans son DCE : complétez-la puis publiez-la.",
            )
            return redirect("groupement_survey", pk=survey.pk)
    return render(request, "groupements/consultation_form.html", {"form": form, "survey": survey})


@_view
def lot_allocate(request, pk, lot_pk):
    survey = selectors.get_survey(request.user, request.organisation, pk)
    if not selectors.is_coordinator(request.user, request.organisation, survey.groupement):
        raise PermissionDenied("Seul le coordonnateur répartit le marché entre les membres.")
    lot = selectors.get_lot(survey, lot_pk)
    form = AllocationForm(request.POST or None, items=list(lot.items.all()))
    if request.method == "POST" and form.is_valid():
        try:
            services.allocate_lot(
                actor=request.user, survey=survey, lot=lot, unit_prices=form.prices()
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Lot {lot.number} réparti entre les membres.")
            return redirect("groupement_survey", pk=survey.pk)
    return render(
        request, "groupements/allocation_form.html", {"form": form, "survey": survey, "lot": lot}
    )


@_view
def costs(request, pk):
    groupement = selectors.get_groupement(request.user, request.organisation, pk)
    coordinator = selectors.is_coordinator(request.user, request.organisation, groupement)
    form = CostForm(request.POST or None, initial={"year": clock.today().year})
    if request.method == "POST":
        if not coordinator:
            raise PermissionDenied("Seul le coordonnateur répartit les frais de procédure.")
        if form.is_valid():
            try:
                services.share_costs(actor=request.user, groupement=groupement, **form.cleaned_data)
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, "Frais répartis : chaque membre les retrouve dans ses contributions."
                )
                return redirect("groupement_costs", pk=groupement.pk)
    return render(
        request,
        "groupements/costs.html",
        {
            "groupement": groupement,
            "coordinator": coordinator,
            "form": form if coordinator else None,
            "costs": selectors.costs_of(request.user, request.organisation, groupement),
        },
    )


def _two_factor_redirect(request, back: str):
    """A signature is an explicit act bound to the second factor: pass it, then sign."""
    target = "two_factor_verify" if has_confirmed_totp(request.user) else "two_factor_setup"
    messages.info(request, "Pour signer, confirmez votre identité par la double authentification.")
    return redirect(f"{reverse(target)}?{urlencode({'next': back})}")


def _member_contract_page(request, contract, form=None):
    organisation = request.organisation
    own = organisation.pk == contract.member.organisation_id
    roles = roles_in(request.user, organisation)
    may_sign = own and Role.REFERENT in roles and contract.signed_at is None
    if may_sign and form is None:
        form = MemberContractForm.for_contract(
            contract, number=services.default_member_contract_number(contract)
        )
    return render(
        request,
        "groupements/member_contract.html",
        {
            "contract": contract,
            "survey": contract.allocation.lot.survey,
            "groupement": contract.allocation.lot.survey.groupement,
            "decision": contract.allocation.decision,
            "lines": services.member_lines(contract),
            "own": own,
            "form": form if may_sign else None,
            "notify_refusal": services.member_notification_refusal(contract),
            "may_notify": own and contract.signed_at is not None and not contract.notified_on,
        },
    )


@_view
def member_contract(request, pk):
    contract = selectors.get_member_contract(request.user, request.organisation, pk)
    return _member_contract_page(request, contract)


@_view
@require_POST
def member_contract_sign(request, pk):
    contract = selectors.get_member_contract(request.user, request.organisation, pk)
    back = reverse("groupement_member_contract", args=[contract.pk])
    if not request.user.is_verified():
        return _two_factor_redirect(request, back)
    form = MemberContractForm.for_contract(contract, number="", data=request.POST)
    if form.is_valid():
        try:
            services.sign_member_contract(
                actor=request.user, contract=contract, two_factor_verified=True, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Marché n° {form.cleaned_data['number']} signé.")
            return redirect(back)
    return _member_contract_page(request, contract, form)


@_view
@require_POST
def member_contract_notify(request, pk):
    contract = selectors.get_member_contract(request.user, request.organisation, pk)
    try:
        services.notify_member_contract(actor=request.user, contract=contract)
    except (ValidationError, PermissionDenied) as exc:
        _flash_refusal(request, exc)
    else:
        messages.success(
            request,
            f"Marché n° {contract.number} notifié au titulaire par la messagerie sécurisée.",
        )
    return redirect("groupement_member_contract", pk=contract.pk)


@_view
def member_contract_letter(request, pk):
    contract = selectors.get_member_contract(request.user, request.organisation, pk)
    if contract.letter is None:
        raise Http404("Ce marché n'a pas encore été notifié.")
    response = HttpResponse(bytes(contract.letter), content_type="application/pdf")
    return name_download(response, f"notification-{contract.number.replace('/', '-')}.pdf")
