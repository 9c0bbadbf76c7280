"""Pages of the contrôle de légalité. Thin: selectors read, services write, forms validate."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from emegalis.actes import access, conf, documents
from emegalis.actes import protocol as p
from emegalis.actes.acts import selectors, services
from emegalis.actes.acts.forms import SERVICE_FIELD_MAP, ActeForm, PublishForm, ReplyForm
from emegalis.actes.acts.stamp import StampError, stamp_acte_file
from emegalis.actes.courriers import services as courriers_services
from emegalis.actes.protocol import TransactionType
from emegalis.actes.returns import services as returns_services
from emegalis.core import clock
from emegalis.core.downloads import attachment, name_download
from emegalis.core.forms import error_messages
from emegalis.organisations.models import Organisation

S = p.ActStatus


def _agent_org(request):
    """The organisation the user acts for, if they are one of its agents actes."""
    organisation = request.organisation
    access.require_agent(request.user, organisation)
    return organisation


def _apply_errors(form, exc) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            target = SERVICE_FIELD_MAP.get(name, name)
            for error in errors:
                form.add_error(target if target in form.fields else None, error)
    elif isinstance(exc, ValidationError):
        for m in exc.messages:
            form.add_error(None, m)
    else:
        form.add_error(None, str(exc))


def _pdf_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    name_download(response, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def home(request):
    organisation = _agent_org(request)
    return render(
        request,
        "actes/home.html",
        {
            "organisation": organisation,
            "actes": selectors.actes_for(request.user, organisation)[:200],
            "documents": selectors.prefecture_documents(request.user, organisation)[:50],
            "classification": services.current_classification(organisation),
            "classification_problem": services.classification_problem(organisation),
        },
    )


@login_required
def create(request):
    organisation = _agent_org(request)
    version = services.current_classification(organisation)
    classification = version.parsed() if version else None
    cap = conf.archive_max_bytes()
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > cap + 1024 * 1024:
            messages.error(
                request,
                f"Envoi refusé : une transmission ne peut dépasser {cap // (1024 * 1024)} Mio.",
            )
            response = redirect("actes_create")
            response["Connection"] = "close"
            return response
        form = ActeForm(request.POST, request.FILES, classification=classification)
        if form.is_valid():
            d = form.cleaned_data
            annexes = [
                documents.Upload.of(d[f"annexe_{i}"], d[f"type_pj_{i}"])
                for i in range(1, 6)
                if d.get(f"annexe_{i}")
            ]
            data = services.ActeInput(
                nature=d["nature"],
                numero_interne=d["numero_interne"].strip(),
                decision_date=d["decision_date"],
                objet=d["objet"],
                matieres=form.matieres(),
                document=documents.Upload.of(d["document"], d["type_acte"], d.get("signature")),
                annexes=annexes,
            )
            try:
                acte = services.create_acte(
                    actor=request.user, organisation=organisation, data=data
                )
            except (ValidationError, PermissionDenied) as exc:
                _apply_errors(form, exc)
            else:
                messages.success(
                    request, f"L'acte {acte.numero_interne} est déposé et part à la préfecture."
                )
                return redirect("actes_detail", pk=acte.pk)
        status = 400
    else:
        form = ActeForm(classification=classification, initial={"decision_date": clock.today()})
        status = 200
    return render(
        request,
        "actes/create.html",
        {
            "form": form,
            "classification": version,
            "classification_problem": services.classification_problem(organisation),
            "max_mib": cap // (1024 * 1024),
        },
        status=status,
    )


@login_required
def detail(request, pk):
    organisation = _agent_org(request)
    acte = selectors.get_acte(request.user, organisation, pk)
    linked = list(
        acte.linked.select_related("reply_to").prefetch_related("documents", "status_changes")
    )
    letters = [t for t in linked if t.direction == "in"]
    for letter in letters:
        letter.reply_list = [t for t in linked if t.reply_to_id == letter.pk]
        letter.can_reply = not courriers_services.reply_refusal(letter)
    cancellations = [t for t in linked if t.type == p.TransactionType.ANNULATION]
    return render(
        request,
        "actes/detail.html",
        {
            "acte": acte,
            "documents": acte.documents.all(),
            "history": acte.status_changes.all(),
            "letters": letters,
            "cancellations": cancellations,
            "unexpected": selectors.unexpected_for_acte(acte),
            "reply_form": ReplyForm(),
            "publish_form": PublishForm(initial={"published_on": clock.today()}),
            "can_cancel": not services.cancellation_refusal(acte),
            "has_stamp": bool(acte.id_acte)
            and acte.status in (S.ACQUITTEMENT_RECU, S.VALIDE, S.REFUSE),
        },
    )


@login_required
@require_POST
def reply(request, pk, letter_pk):
    organisation = _agent_org(request)
    acte = selectors.get_acte(request.user, organisation, pk)
    letter = get_object_or_404(acte.linked, pk=letter_pk, direction="in")
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            courriers_services.reply_to_letter(
                actor=request.user,
                letter=letter,
                send=form.cleaned_data["send"] == 4,
                documents=[documents.Upload.of(form.cleaned_data["document"])],
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(error_messages(exc)))
        else:
            messages.success(request, "Votre réponse part à la préfecture.")
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("actes_detail", pk=acte.pk)


@login_required
@require_POST
def cancel(request, pk):
    organisation = _agent_org(request)
    acte = selectors.get_acte(request.user, organisation, pk)
    try:
        services.cancel_acte(actor=request.user, acte=acte)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(error_messages(exc)))
    else:
        messages.success(request, "La demande d'annulation part à la préfecture.")
    return redirect("actes_detail", pk=acte.pk)


@login_required
@require_POST
def confirm(request, pk):
    organisation = _agent_org(request)
    acte = selectors.get_acte(request.user, organisation, pk)
    try:
        services.confirm_acte(actor=request.user, acte=acte)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(error_messages(exc)))
    else:
        messages.success(request, "Envoi confirmé.")
    return redirect("actes_detail", pk=acte.pk)


@login_required
@require_POST
def publish(request, pk):
    organisation = _agent_org(request)
    acte = selectors.get_acte(request.user, organisation, pk)
    form = PublishForm(request.POST)
    if form.is_valid():
        try:
            services.publish_acte(
                actor=request.user, acte=acte, published_on=form.cleaned_data["published_on"]
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(error_messages(exc)))
        else:
            messages.success(request, "L'acte figure au registre des publications.")
    else:
        messages.error(request, "Date de publication invalide.")
    return redirect("actes_detail", pk=acte.pk)


@login_required
@require_POST
def mark_read(request, pk):
    organisation = _agent_org(request)
    tx = selectors.get_transaction(request.user, organisation, pk)
    try:
        courriers_services.mark_read(actor=request.user, tx=tx)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(error_messages(exc)))
    return redirect("actes_detail", pk=tx.acte_id or tx.pk)


@login_required
def document(request, pk):
    organisation = _agent_org(request)
    doc = selectors.get_document(request.user, organisation, pk)
    return attachment(doc.file, doc.wire_name or doc.original_name)


def stamped_response(acte, published_on=None) -> HttpResponse:
    main = selectors.main_document(acte)
    if main is None or main.extension != "pdf" or not acte.id_acte:
        return HttpResponse(
            "Le PDF tamponné n'existe qu'une fois l'accusé de réception reçu.",
            status=409,
            content_type="text/plain; charset=utf-8",
        )
    try:
        with main.file.open("rb") as fh:
            data = stamp_acte_file(fh, acte, published_on)
    except StampError as exc:
        return HttpResponse(str(exc), status=422, content_type="text/plain; charset=utf-8")
    return _pdf_response(data, f"{acte.id_acte}-tamponne.pdf")


@login_required
def stamped(request, pk):
    organisation = _agent_org(request)
    acte = selectors.get_acte(request.user, organisation, pk)
    return stamped_response(acte)


@login_required
def ar_xml(request, pk):
    organisation = _agent_org(request)
    acte = selectors.get_acte(request.user, organisation, pk)
    if not acte.ar_xml:
        return HttpResponse("Aucun accusé de réception.", status=404, content_type="text/plain")
    response = HttpResponse(bytes(acte.ar_xml), content_type="application/xml")
    name_download(response, f"ARActe-{acte.id_acte}.xml")
    return response


@login_required
def classification(request):
    organisation = _agent_org(request)
    if request.method == "POST":
        try:
            services.request_classification(actor=request.user, organisation=organisation)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(error_messages(exc)))
        else:
            messages.success(request, "Demande de classification envoyée à la préfecture.")
        return redirect("actes_classification")
    versions = organisation.actes_classifications.all()
    current = versions.first()
    return render(
        request,
        "actes/classification.html",
        {
            "versions": versions,
            "current": current,
            "parsed": current.parsed() if current else None,
            "problem": services.classification_problem(organisation),
            "requests": selectors.transactions_for(request.user, organisation).filter(
                type=TransactionType.DEMANDE_CLASSIFICATION
            )[:10],
        },
    )


@login_required
def unexpected(request):
    if not request.user.is_platform_staff:
        raise PermissionDenied("Réservé aux gestionnaires de la plateforme.")
    if request.method == "POST":
        message = get_object_or_404(
            selectors.unexpected_messages(request.user), pk=request.POST.get("pk")
        )
        returns_services.resolve_incoming(actor=request.user, message=message)
        messages.success(request, "Message classé.")
        return redirect("actes_unexpected")
    return render(
        request,
        "actes/unexpected.html",
        {"items": selectors.unexpected_messages(request.user)[:200]},
    )


def public_registers(request):
    """The public entry to the registres des actes: every authority that publishes its acts."""
    return render(
        request,
        "actes/public_registers.html",
        {"organisations": selectors.organisations_publishing_actes()},
    )


def register(request, org_pk):
    organisation = get_object_or_404(Organisation, pk=org_pk)
    return render(
        request,
        "actes/register.html",
        {"organisation": organisation, "actes": selectors.published_actes(organisation)},
    )


def register_pdf(request, org_pk, pk):
    organisation = get_object_or_404(Organisation, pk=org_pk)
    acte = get_object_or_404(selectors.published_actes(organisation), pk=pk)
    return stamped_response(acte)
