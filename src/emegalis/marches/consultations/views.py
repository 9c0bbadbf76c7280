"""Pages of the procurement room. Thin: selectors read, services write, forms validate."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from emegalis.collaboratif import selectors as collaboratif_selectors
from emegalis.core import clock, csv_export, page_sections
from emegalis.core.downloads import attachment, name_download
from emegalis.core.forms import add_service_errors, error_messages
from emegalis.core.pdf import DocumentBuilder, format_date
from emegalis.marches import access, conf, delays, upload_limits
from emegalis.marches.consultations import alerts, cpv, selectors, services, workstation
from emegalis.marches.consultations import dce as dce_writes
from emegalis.marches.consultations.dce_zip import stream_zip
from emegalis.marches.consultations.forms import (
    AlertForm,
    AnswerForm,
    CommissionForm,
    CompanyProfileForm,
    CompanySignupForm,
    ConsultationForm,
    DceUploadForm,
    DepositTestForm,
    LotForm,
    QuestionForm,
    RectificatifForm,
    SearchForm,
    StateForm,
)
from emegalis.marches.consultations.models import Lot, Retrait, State
from emegalis.marches.deposit import selectors as deposit_selectors
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.opening import selectors as opening_selectors
from emegalis.marches.opening import services as opening_services
from emegalis.organisations import selectors as organisation_selectors
from emegalis.organisations.services import register_company


def search(request):
    """Open consultations, searchable without an account."""
    form = SearchForm(request.GET or None)
    page = None
    if form.is_bound and not form.is_valid():
        results = None
    else:
        params = form.params() if form.is_bound else selectors.SearchParams()
        results = selectors.search_consultations(params)
        page = selectors.paginate(results, request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "marches/search.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "alert_form": AlertForm(),
            "has_criteria": bool(form.is_bound and form.is_valid() and form.params().to_json()),
        },
    )


def notice(request, pk: int):
    """The notice (avis) of a consultation: its stable public page."""
    consultation = selectors.get_visible_consultation(request.user, pk)
    now = clock.now()
    can_ask = selectors.questions_open(consultation)
    return render(
        request,
        "marches/notice.html",
        {
            "consultation": consultation,
            "lots": consultation.lots.all(),
            "files": selectors.current_dce_files(consultation),
            "versions": list(consultation.dce_versions.all()),
            "answers": selectors.public_answers(consultation),
            "my_questions": selectors.my_questions(request.user, consultation),
            "can_ask": can_ask,
            "question_form": QuestionForm(),
            "is_buyer": access.is_buyer(request.user, consultation.organisation),
            "has_downloaded": selectors.has_downloaded(request.user, consultation),
            "deadline_passed": now >= consultation.bids_deadline,
            "deposit_refusal": deposit_services.deposit_refusal(consultation),
            "my_last_pli": deposit_selectors.last_complete_pli(request.user, consultation),
            # Added by apps above marches (a groupement's members and their needs).
            "extra_sections": page_sections.render("marches.notice", request, consultation),
        },
    )


def dce(request, pk: int):
    """The DCE page: whole zip or file by file, identified or anonymous."""
    consultation = selectors.get_public_consultation(pk)
    return render(
        request,
        "marches/dce.html",
        {
            "consultation": consultation,
            "files": selectors.current_dce_files(consultation),
            "version": selectors.latest_version(consultation),
            "company": access.company_of(request.user, request.organisation),
        },
    )


def _downloader(request):
    if request.user.is_authenticated:
        return request.user, access.company_of(request.user, request.organisation) or (
            request.organisation
        )
    return None, None


def dce_zip(request, pk: int):
    consultation = selectors.get_public_consultation(pk)
    files = list(selectors.current_dce_files(consultation).order_by("folder", "name", "pk"))
    user, organisation = _downloader(request)
    try:
        services.record_retrait(
            consultation=consultation, user=user, organisation=organisation, kind=Retrait.Kind.ZIP
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(error_messages(exc)))
        return redirect("marches_notice", pk=pk)
    version = selectors.latest_version(consultation)
    response = StreamingHttpResponse(stream_zip(files), content_type="application/zip")
    name_download(response, f"DCE-{consultation.reference}-v{version.number}.zip")
    response["X-Content-Type-Options"] = "nosniff"
    return response


def dce_file(request, pk: int, file_pk: int):
    consultation = selectors.get_public_consultation(pk)
    dce_file = selectors.get_current_dce_file(consultation, file_pk)
    user, organisation = _downloader(request)
    services.record_retrait(
        consultation=consultation,
        user=user,
        organisation=organisation,
        kind=Retrait.Kind.FILE,
        dce_file=dce_file,
    )
    return attachment(dce_file.file, dce_file.name)


@require_POST
def ask(request, pk: int):
    consultation = selectors.get_public_consultation(pk)
    if not request.user.is_authenticated:
        return redirect(
            f"{reverse('login')}?{urlencode({'next': reverse('marches_notice', args=[pk])})}"
        )
    form = QuestionForm(request.POST)
    if form.is_valid():
        try:
            services.ask_question(
                actor=request.user,
                organisation=access.company_of(request.user, request.organisation)
                or request.organisation,
                consultation=consultation,
                text=form.cleaned_data["text"],
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(error_messages(exc)))
        else:
            messages.success(
                request,
                "Votre question est transmise à l'acheteur. La réponse sera publiée sur cette "
                "page, sans votre nom, et envoyée par courriel à toutes les entreprises "
                "identifiées.",
            )
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect(f"{reverse('marches_notice', args=[pk])}#questions")


@login_required
def buyer_home(request):
    organisation = request.organisation
    return render(
        request,
        "marches/buyer_home.html",
        {
            "consultations": selectors.buyer_consultations(request.user).order_by("-created_at"),
            "may_create": access.may_publish(request.user, organisation),
            "is_buyer": access.is_buyer(request.user, organisation),
        },
    )


@login_required
def buyer_create(request):
    organisation = request.organisation
    if organisation is None:
        raise PermissionDenied("Choisissez l'organisation pour laquelle vous agissez.")
    access.require_buyer(request.user, organisation)
    form = ConsultationForm(
        request.POST or None,
        initial={
            "departement": organisation.departement,
            "electronic_submission": True,
            "contact_name": request.user.get_full_name(),
            "contact_email": request.user.email,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            consultation = services.create_consultation(
                actor=request.user, organisation=organisation, **form.service_fields()
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"La consultation {consultation.reference} est enregistrée en brouillon. "
                "Ajoutez ses lots et son DCE, puis publiez-la.",
            )
            return redirect("marches_buyer_detail", pk=consultation.pk)
    return render(request, "marches/buyer_form.html", {"form": form, "consultation": None})


@login_required
def buyer_edit(request, pk: int):
    consultation = selectors.get_buyer_consultation(request.user, pk)
    if consultation.state != State.BROUILLON:
        messages.error(request, "Une consultation publiée se modifie par un rectificatif.")
        return redirect("marches_buyer_detail", pk=pk)
    form = ConsultationForm(
        request.POST or None, initial=ConsultationForm.initial_from(consultation)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_consultation(
                actor=request.user, consultation=consultation, **form.service_fields()
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Les modifications sont enregistrées.")
            return redirect("marches_buyer_detail", pk=pk)
    return render(request, "marches/buyer_form.html", {"form": form, "consultation": consultation})


def _buyer_detail_context(request, consultation, **forms):
    warning = ""
    if consultation.state == State.BROUILLON:
        warning = delays.mapa_warning(
            procedure=consultation.procedure,
            publication=clock.now(),
            bids_deadline=consultation.bids_deadline,
        )
    questions = selectors.questions_for_buyer(request.user, consultation)
    return {
        "consultation": consultation,
        "lots": consultation.lots.all(),
        "staged": selectors.staged_dce_files(consultation),
        "current": selectors.current_dce_files(consultation),
        "versions": list(consultation.dce_versions.all()),
        "questions": questions,
        "lot_form": forms.get("lot_form")
        or LotForm(initial={"number": consultation.lots.count() + 1}),
        "upload_form": forms.get("upload_form") or DceUploadForm(),
        "rectificatif_form": forms.get("rectificatif_form") or RectificatifForm(),
        "state_form": forms.get("state_form") or StateForm(),
        "answer_form": AnswerForm(),
        "mapa_warning": warning,
        "max_size": conf.human_size(conf.dce_max_bytes()),
        "retraits_count": consultation.retraits.count(),
        "commission": getattr(consultation, "opening_commission", None),
        "commission_form": forms.get("commission_form")
        or CommissionForm(
            candidates=opening_selectors.commission_candidates(consultation.organisation)
        ),
        "commission_open": not opening_services.commission_naming_refusal(consultation),
        "commission_dissolvable": not opening_services.dissolution_refusal(consultation),
        "opening_session": getattr(consultation, "opening_session", None),
        "team_workspace": collaboratif_selectors.service_workspace(
            request.user, f"consultation:{consultation.pk}"
        ),
    }


@login_required
@require_POST
def team_workspace(request, pk: int):
    consultation = selectors.get_buyer_consultation(request.user, pk)
    try:
        workspace = services.open_team_workspace(actor=request.user, consultation=consultation)
    except (ValidationError, PermissionDenied) as exc:
        for message in error_messages(exc):
            messages.error(request, message)
        return redirect("marches_buyer_detail", pk=consultation.pk)
    return redirect("collaboratif_workspace", pk=workspace.pk)


@login_required
def buyer_detail(request, pk: int):
    consultation = selectors.get_buyer_consultation(request.user, pk)
    return render(
        request, "marches/buyer_detail.html", _buyer_detail_context(request, consultation)
    )


def _back(pk: int, anchor: str = ""):
    return redirect(reverse("marches_buyer_detail", args=[pk]) + (f"#{anchor}" if anchor else ""))


@login_required
@require_POST
def lot_add(request, pk: int):
    consultation = selectors.get_buyer_consultation(request.user, pk)
    form = LotForm(request.POST)
    if form.is_valid():
        try:
            services.add_lot(actor=request.user, consultation=consultation, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Lot {form.cleaned_data['number']} ajouté.")
            return _back(pk, "lots")
    return render(
        request,
        "marches/buyer_detail.html",
        _buyer_detail_context(request, consultation, lot_form=form),
        status=400,
    )


@login_required
@require_POST
def lot_delete(request, pk: int, lot_pk: int):
    consultation = selectors.get_buyer_consultation(request.user, pk)
    lot = Lot.objects.filter(consultation=consultation, pk=lot_pk).first()
    if lot is None:
        messages.error(request, "Lot introuvable.")
    else:
        try:
            services.remove_lot(actor=request.user, lot=lot)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(error_messages(exc)))
        else:
            messages.success(request, f"Lot {lot.number} supprimé.")
    return _back(pk, "lots")


@csrf_exempt
@login_required
def dce_upload(request, pk: int):
    """Upload one DCE file. Too-large requests are refused before their body is read; the
    body is then parsed to a temporary file on disk in chunks (never whole in memory)."""
    consultation = selectors.get_buyer_consultation(request.user, pk)
    if request.method != "POST":
        return _back(pk, "dce")
    cap = conf.dce_max_bytes()
    too_big = upload_limits.too_big_message(cap)
    if upload_limits.declared_too_big(request, cap):
        messages.error(request, too_big)
        response = _back(pk, "dce")
        response["Connection"] = "close"
        return response
    limiter = upload_limits.install_limit(request, cap)
    return _dce_upload_protected(request, consultation, limiter, too_big)


@csrf_protect
def _dce_upload_protected(request, consultation, limiter, too_big):
    pk = consultation.pk
    form = DceUploadForm(request.POST, request.FILES)
    if limiter is not None and limiter.exceeded:
        messages.error(request, too_big)
        return _back(pk, "dce")
    if form.is_valid():
        try:
            dce_file = dce_writes.add_dce_file(
                actor=request.user,
                consultation=consultation,
                uploaded_file=form.cleaned_data["file"],
                folder=form.cleaned_data["folder"],
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc, field="file")
        else:
            when = (
                "à la publication"
                if consultation.state == State.BROUILLON
                else "au prochain rectificatif"
            )
            messages.success(
                request, f"« {dce_file.path} » est déposé ; il rejoindra le DCE {when}."
            )
            return _back(pk, "dce")
    return render(
        request,
        "marches/buyer_detail.html",
        _buyer_detail_context(request, consultation, upload_form=form),
        status=400,
    )


@login_required
@require_POST
def dce_remove(request, pk: int, file_pk: int):
    consultation = selectors.get_buyer_consultation(request.user, pk)
    dce_file = consultation.dce_files.filter(pk=file_pk).first()
    if dce_file is None:
        messages.error(request, "Fichier introuvable.")
        return _back(pk, "dce")
    try:
        if request.POST.get("cancel"):
            dce_writes.cancel_file_removal(actor=request.user, dce_file=dce_file)
        else:
            dce_writes.remove_dce_file(actor=request.user, dce_file=dce_file)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(error_messages(exc)))
    else:
        messages.success(request, f"« {dce_file.path} » : modification enregistrée.")
    return _back(pk, "dce")


@login_required
def dce_buyer_file(request, pk: int, file_pk: int):
    """The buyer checks any file of their DCE (staged or published); not a retrait."""
    consultation = selectors.get_buyer_consultation(request.user, pk)
    dce_file = consultation.dce_files.filter(pk=file_pk).first()
    if dce_file is None:
        from django.http import Http404

        raise Http404("Fichier introuvable.")
    return attachment(dce_file.file, dce_file.name)


@login_required
@require_POST
def commission_dissolve(request, pk: int):
    """The buyer undoes the key ceremony (before any pli) to name a new commission."""
    consultation = selectors.get_buyer_consultation(request.user, pk)
    try:
        opening_services.dissolve_opening_commission(
            actor=request.user, consultation=consultation, reason=request.POST.get("reason", "")
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "Refusé : " + " ".join(error_messages(exc)))
    else:
        messages.success(
            request, "Commission dissoute : désignez la nouvelle commission d'ouverture."
        )
    return _back(pk, "commission")


@login_required
@require_POST
def commission_create(request, pk: int):
    """The buyer names the commission; the platform creates the opening key and its shares."""
    consultation = selectors.get_buyer_consultation(request.user, pk)
    form = CommissionForm(
        request.POST, candidates=opening_selectors.commission_candidates(consultation.organisation)
    )
    if form.is_valid():
        try:
            commission = opening_services.create_opening_commission(
                actor=request.user,
                consultation=consultation,
                members=form.cleaned_data["members"],
                threshold=form.cleaned_data["threshold"],
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Clés d'ouverture créées : {commission.threshold} parts sur "
                f"{commission.members.count()} seront nécessaires. Chaque membre est prévenu "
                "par courriel et retire sa part une seule fois.",
            )
            return _back(pk, "commission")
    consultation.refresh_from_db()
    return render(
        request,
        "marches/buyer_detail.html",
        _buyer_detail_context(request, consultation, commission_form=form),
        status=400,
    )


@login_required
@require_POST
def publish(request, pk: int):
    consultation = selectors.get_buyer_consultation(request.user, pk)
    try:
        services.publish(actor=request.user, consultation=consultation)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "Publication refusée : " + " ".join(error_messages(exc)))
    else:
        messages.success(request, "La consultation est publiée : son avis est en ligne.")
    return _back(pk)


@login_required
@require_POST
def rectificatif(request, pk: int):
    consultation = selectors.get_buyer_consultation(request.user, pk)
    form = RectificatifForm(request.POST)
    if form.is_valid():
        try:
            version = services.publish_rectificatif(
                actor=request.user, consultation=consultation, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Rectificatif publié (version {version.number} du DCE) ; les entreprises "
                "identifiées qui ont retiré le dossier sont prévenues par courriel.",
            )
            return _back(pk, "dce")
    return render(
        request,
        "marches/buyer_detail.html",
        _buyer_detail_context(request, consultation, rectificatif_form=form),
        status=400,
    )


@login_required
@require_POST
def change_state(request, pk: int):
    consultation = selectors.get_buyer_consultation(request.user, pk)
    form = StateForm(request.POST)
    if form.is_valid():
        try:
            services.change_state(
                actor=request.user,
                consultation=consultation,
                to=form.cleaned_data["to"],
                reason=form.cleaned_data["reason"],
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "Changement refusé : " + " ".join(error_messages(exc)))
        else:
            consultation.refresh_from_db()
            messages.success(
                request, f"La consultation est désormais « {consultation.get_state_display()} »."
            )
    else:
        messages.error(request, "Choisissez un état.")
    return _back(pk)


@login_required
@require_POST
def answer(request, pk: int, question_pk: int):
    question = selectors.get_buyer_question(request.user, pk, question_pk)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            services.answer_question(
                actor=request.user, question=question, answer=form.cleaned_data["answer"]
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(error_messages(exc)))
        else:
            messages.success(
                request,
                "Réponse publiée sur l'avis et envoyée aux entreprises identifiées.",
            )
    else:
        messages.error(request, "Écrivez la réponse.")
    return _back(pk, "questions")


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M:%S")


@login_required
def registre(request, pk: int):
    data = selectors.registre(request.user, pk)
    return render(request, "marches/registre.html", {"registre": data})


REGISTRE_HEADER = [
    "Date et heure (Paris)",
    "Entreprise",
    "SIRET",
    "Utilisateur",
    "Version du DCE",
    "Téléchargement",
]


def _registre_rows(data):
    for r in data.identified:
        what = (
            "DCE complet (zip)"
            if r.kind == Retrait.Kind.ZIP
            else f"Fichier : {r.file.path if r.file else '—'}"
        )
        yield [
            _when(r.downloaded_at),
            r.organisation_label,
            r.organisation_siret,
            r.user_label,
            str(r.version.number),
            what,
        ]


@login_required
def registre_csv(request, pk: int):
    data = selectors.registre(request.user, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name_download(response, f"registre-retraits-{data.consultation.reference}.csv")
    response.write("\ufeff")  # BOM: spreadsheet software then reads UTF-8 correctly
    writer = csv_export.writer(response, delimiter=";")
    writer.writerow(REGISTRE_HEADER)
    for row in _registre_rows(data):
        writer.writerow(row)
    writer.writerow([])
    writer.writerow(["Retraits anonymes", str(data.anonymous_count)])
    for number, count in sorted(data.anonymous_by_version.items()):
        writer.writerow([f"Retraits anonymes, version {number}", str(count)])
    return response


@login_required
def registre_pdf(request, pk: int):
    data = selectors.registre(request.user, pk)
    consultation = data.consultation
    doc = DocumentBuilder(
        title=f"Registre des retraits — {consultation.reference}",
        subject=consultation.title,
    )
    doc.title_line("Registre des retraits du DCE")
    doc.paragraph(consultation.organisation.name, bold_label="Acheteur :")
    doc.paragraph(f"{consultation.reference} — {consultation.title}", bold_label="Consultation :")
    doc.paragraph(format_date(timezone.localdate(clock.now())), bold_label="Édité le :")
    doc.spacer(4)
    doc.heading(f"Retraits identifiés ({len(data.identified)})")
    rows = [[row[0], row[1], row[2], row[3], row[4], row[5]] for row in _registre_rows(data)]
    if rows:
        doc.table(
            [[r[0], f"{r[1]}\n{r[2]}".strip(), r[3], r[4], r[5]] for r in rows],
            header=["Date", "Entreprise", "Utilisateur", "Version", "Téléchargement"],
            col_widths_mm=[30, 40, 50, 15, 35],
        )
    else:
        doc.paragraph("Aucun retrait identifié.")
    doc.heading(f"Retraits anonymes : {data.anonymous_count}")
    for number, count in sorted(data.anonymous_by_version.items()):
        doc.paragraph(f"Version {number} : {count}")
    response = HttpResponse(doc.build(), content_type="application/pdf")
    name_download(response, f"registre-retraits-{consultation.reference}.pdf")
    return response


@require_GET
def cpv_search(request):
    """Suggestions of the CPV picker: codes by number or by words, accents ignored."""
    query = request.GET.get("q", "")[:100]
    results = [{"code": code, "label": text} for code, text in cpv.search(query)]
    return JsonResponse({"results": results})


def company_signup(request):
    if request.user.is_authenticated:
        return redirect("marches_company")
    form = CompanySignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = register_company(
                siret=data["siret"],
                company_name=data["company_name"],
                email=data["email"],
                password=data["password"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                terms_version=settings.TERMS_VERSION,
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            return render(
                request,
                "marches/company_signup_sent.html",
                {"membership": membership, "email": membership.user.email},
            )
    return render(
        request,
        "marches/company_signup.html",
        {"form": form, "terms_version": settings.TERMS_VERSION},
    )


@login_required
def company_home(request):
    company = access.company_of(request.user, request.organisation)
    return render(
        request,
        "marches/company_home.html",
        {
            "company": company,
            "pending": access.pending_company_memberships(request.user),
            "downloads": selectors.downloads_of(request.user),
            "alerts": selectors.alerts_of(request.user),
            "deposits": deposit_selectors.deposits_across_consultations(request.user, company)[:50],
            "questions": selectors.questions_of(request.user)[:50],
            "may_manage_members": company is not None
            and organisation_selectors.may_manage_members(request.user, company),
        },
    )


@login_required
def company_profile(request):
    company = access.company_of(request.user, request.organisation)
    if company is None:
        raise PermissionDenied("Votre compte n'est rattaché à aucune entreprise active.")
    form = CompanyProfileForm(
        request.POST or None,
        initial={f: getattr(company, f) for f in CompanyProfileForm.base_fields},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_company_profile(
                actor=request.user, company=company, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Le profil de l'entreprise est enregistré.")
            return redirect("marches_company")
    return render(request, "marches/company_profile.html", {"form": form, "company": company})


@login_required
@require_POST
def alert_create(request):
    search_form = SearchForm(request.POST)
    alert_form = AlertForm(request.POST)
    if search_form.is_valid() and alert_form.is_valid():
        try:
            alerts.save_search(
                user=request.user, name=alert_form.cleaned_data["name"], params=search_form.params()
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(error_messages(exc)))
        else:
            messages.success(
                request,
                "Alerte enregistrée : vous recevrez chaque jour par courriel les nouvelles "
                "consultations correspondantes.",
            )
            return redirect("marches_company")
    else:
        errors = [e for f in (search_form, alert_form) for errs in f.errors.values() for e in errs]
        messages.error(request, "Alerte non enregistrée : " + " ".join(errors))
    return redirect("marches_search")


@login_required
@require_POST
def alert_delete(request, alert_pk: int):
    alert = selectors.get_alert(request.user, alert_pk)
    alerts.delete_search(user=request.user, alert=alert)
    messages.success(request, f"Alerte « {alert.name} » supprimée.")
    return redirect("marches_company")


def workstation_test(request):
    """Check the workstation (browser, upload, download) and simulate a deposit."""
    form = DepositTestForm(request.POST or None, request.FILES or None)
    receipt = None
    if request.method == "POST" and form.is_valid():
        try:
            receipt = workstation.simulate_deposit(uploaded_files=form.cleaned_data["files"])
        except ValidationError as exc:
            add_service_errors(form, exc, field="files")
        else:
            receipt = {"files": receipt, "at": clock.now()}
    return render(
        request,
        "marches/workstation_test.html",
        {
            "form": form,
            "receipt": receipt,
            "consultation": selectors.test_consultation(),
            "max_size": conf.human_size(conf.dce_max_bytes()),
        },
    )
