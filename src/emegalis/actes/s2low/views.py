"""The client API of a tiers de télétransmission, S²LOW-style (brief §11): the paths,
parameters and ``OK``/``KO`` text answers that Pastell, web-delib and other client software
already call, so that they switch to e-mégalis by changing a base URL.

Authentication: HTTP Basic with the user's e-mail and one of the user's API keys (the
account's « Clés d'API », /compte/cles-api/, shared with the marchés API), or the same pair as
``login``/``password`` parameters. Each key acts for one organisation; the user must be an
agent actes of it, and its convention must open « actes ».
In production behind a TLS proxy, the client certificate is checked by the proxy: see
``docs/actes-api.md``. Text answers are ISO-8859-1, first line ``OK`` or ``KO``."""

import base64
import binascii
from datetime import date, datetime
from functools import wraps
from urllib.parse import quote

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from emegalis.actes import access, documents
from emegalis.actes import protocol as p
from emegalis.actes.acts import selectors as acts_selectors
from emegalis.actes.acts import services as acts_services
from emegalis.actes.acts.stamp import StampError, stamp_pdf
from emegalis.actes.courriers import services as courriers_services
from emegalis.actes.models import Document, Transaction
from emegalis.actes.protocol import TransactionType
from emegalis.core.downloads import name_download, stored_file_response
from emegalis.core.forms import error_messages
from emegalis.core.pdf import DocumentBuilder
from emegalis.organisations import throttling

S = p.ActStatus


def text(*lines, status: int = 200) -> HttpResponse:
    body = "\n".join(str(line) for line in lines)
    return HttpResponse(
        body.encode("iso-8859-1", "replace"),
        status=status,
        content_type="text/plain; charset=ISO-8859-1",
    )


def ko(message: str, status: int = 200) -> HttpResponse:
    # S²LOW answers KO with HTTP 200; authentication failures get 401/403.
    return text("KO", message, status=status)


def _credentials(request) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        login, _, password = decoded.partition(":")
        return login, password
    data = request.POST if request.method == "POST" else request.GET
    return data.get("login", ""), data.get("password", "")


def api_view(view):
    """CSRF-exempt, authenticated by API key, scoped to the key's organisation."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        login, password = _credentials(request)
        try:
            found = (
                throttling.authenticate_api_key(request, password, login=login)
                if login and password
                else None
            )
        except throttling.ApiKeyThrottled as exc:
            return ko(str(exc), status=429)
        if found is None:
            response = ko("Authentification requise (identifiant et clé d'API).", status=401)
            response["WWW-Authenticate"] = 'Basic realm="e-megalis actes", charset="UTF-8"'
            return response
        request.user, request.organisation = found
        try:
            access.require_agent(request.user, request.organisation)
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return ko(str(exc) or "Accès refusé.", status=403)

    return wrapped


def _param(request, name: str) -> str:
    return (request.POST.get(name) if request.method == "POST" else None) or request.GET.get(
        name, ""
    )


def _tx(request, value) -> Transaction | None:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return acts_selectors.transactions_for(request.user, request.organisation).filter(pk=pk).first()


def _date(value: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except (ValueError, AttributeError):
            continue
    return None


def _service_error(exc: ValidationError | PermissionDenied) -> HttpResponse:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        parts = [
            f"{k}: {m}" if k != "__all__" else m for k, v in exc.message_dict.items() for m in v
        ]
        return ko(" | ".join(parts))
    return ko(" ".join(error_messages(exc)))


def _list(request, name: str) -> list:
    return request.FILES.getlist(name) or request.FILES.getlist(name.removesuffix("[]"))


def _values(request, name: str) -> list[str]:
    return request.POST.getlist(name) or request.POST.getlist(name.removesuffix("[]"))


@api_view
def create(request):
    if request.method != "POST":
        return ko("Méthode POST attendue.")
    try:
        nature = int(_param(request, "nature_code"))
    except ValueError:
        return ko("nature_code : code nature d'acte manquant ou invalide (1 à 6).")
    matieres = []
    for i in range(1, 6):
        value = _param(request, f"classif{i}").strip()
        if not value:
            break
        if not value.isdigit():
            return ko(f"classif{i} : code matière invalide « {value} ».")
        matieres.append(int(value))
    decision = _date(_param(request, "decision_date"))
    if decision is None:
        return ko("decision_date : date de décision manquante ou invalide (AAAA-MM-JJ).")
    main = request.FILES.get("acte_pdf_file")
    if main is None:
        return ko("acte_pdf_file : aucun fichier d'acte.")
    type_acte = _param(request, "type_acte")
    if not type_acte:
        return ko("type_acte : typologie du document principal obligatoire.")
    attachments = _list(request, "acte_attachments[]")
    types = _values(request, "type_pj[]")
    if len(types) != len(attachments):
        return ko(
            f"type_pj[] : une typologie par annexe est obligatoire ({len(attachments)} annexe(s), "
            f"{len(types)} typologie(s))."
        )
    signatures = _list(request, "acte_attachments_sign[]")
    main_signature = request.FILES.get("acte_pdf_file_sign")
    annexes = [
        documents.Upload.of(f, t, signatures[i] if i < len(signatures) else None)
        for i, (f, t) in enumerate(zip(attachments, types, strict=True))
    ]
    data = acts_services.ActeInput(
        nature=nature,
        numero_interne=_param(request, "number").strip(),
        decision_date=decision,
        objet=_param(request, "subject"),
        matieres=matieres,
        document=documents.Upload.of(main, type_acte, main_signature),
        annexes=annexes,
    )
    waiting = _param(request, "en_attente") in ("1", "on", "true") or _param(
        request, "must_signed"
    ) in ("1", "on", "true")
    try:
        acte = acts_services.create_acte(
            actor=request.user, organisation=request.organisation, data=data, confirm=not waiting
        )
    except (ValidationError, PermissionDenied) as exc:
        return _service_error(exc)
    return text("OK", acte.pk)


def _status_text(tx: Transaction) -> HttpResponse:
    lines = ["OK", tx.status]
    if tx.status == S.ERREUR and tx.error_message:
        lines.append(tx.error_message)
    elif tx.ar_xml:
        lines.append(bytes(tx.ar_xml).decode("iso-8859-1"))
    return text(*lines)


@api_view
def get_status(request):
    unique_id = request.GET.get("unique_id", "")
    if unique_id:
        tx = (
            acts_selectors.transactions_for(request.user, request.organisation)
            .filter(type=TransactionType.TRANSMISSION_ACTE, id_acte=unique_id)
            .first()
        )
    else:
        tx = _tx(request, request.GET.get("transaction"))
    if tx is None:
        return ko("Transaction introuvable.")
    return _status_text(tx)


@api_view
def files_list(request):
    tx = _tx(request, request.GET.get("transaction"))
    if tx is None:
        return ko("Transaction introuvable.")
    files = [
        {
            "id": d.pk,
            "name": d.wire_name,
            "posted_filename": d.original_name,
            "mimetype": d.content_type or _mimetype(d.extension),
            "size": d.size,
            "sign": "",
            "code_pj": d.typologie,
        }
        for d in tx.documents.order_by("rank", "pk")
    ]
    return JsonResponse(files, safe=False)


def _mimetype(ext: str) -> str:
    return {
        "pdf": "application/pdf",
        "xml": "application/xml",
        "jpg": "image/jpeg",
        "png": "image/png",
    }.get(ext, "application/octet-stream")


@api_view
def download_file(request):
    try:
        pk = int(request.GET.get("file", ""))
        doc = acts_selectors.get_document(request.user, request.organisation, pk)
    except Exception:  # noqa: BLE001 — any bad id is « introuvable »
        return ko("Fichier introuvable.")
    name = doc.wire_name or doc.original_name
    if request.GET.get("tampon", "") in ("true", "1", "on"):
        acte = (
            doc.transaction
            if doc.transaction.type == TransactionType.TRANSMISSION_ACTE
            else doc.transaction.acte
        )
        if doc.extension != "pdf" or acte is None or not acte.id_acte:
            return ko("Pas de tampon possible : PDF d'un acte acquitté attendu.")
        published = _date(request.GET.get("date_affichage", "")) or acte.published_on
        problem = acts_services.publication_date_problem(acte, published) if published else None
        if problem:
            return ko(f"date_affichage : {problem}")
        try:
            with doc.file.open("rb") as fh:
                data = stamp_pdf(
                    fh,
                    sent_on=timezone.localdate(acte.sent_at) if acte.sent_at else None,
                    received_on=acte.date_reception,
                    published_on=published,
                    id_acte=acte.id_acte,
                )
        except StampError as exc:
            return ko(str(exc))
        response = HttpResponse(data, content_type="application/pdf")
    else:
        try:
            handle = doc.file.open("rb")
        except OSError:
            return ko("Fichier introuvable.")
        response = stored_file_response(handle, name, content_type=_mimetype(doc.extension))
    return name_download(response, name)


@api_view
def get_tampon(request):
    tx = _tx(request, request.GET.get("transaction"))
    doc = tx.documents.filter(kind=Document.Kind.MAIN).first() if tx else None
    if doc is None:
        return ko("Transaction introuvable.")
    query = f"file={doc.pk}&tampon=true"
    if request.GET.get("date_affichage"):
        query += "&date_affichage=" + quote(request.GET["date_affichage"])
    return HttpResponseRedirect(f"/modules/actes/actes_download_file.php?{query}")


@api_view
def get_ar_acte(request):
    tx = _tx(request, request.GET.get("id"))
    if tx is None or not tx.ar_xml:
        return ko("Accusé de réception introuvable.")
    return HttpResponse(bytes(tx.ar_xml), content_type="application/xml; charset=ISO-8859-1")


@api_view
def cancel(request):
    tx = _tx(request, _param(request, "id"))
    if tx is None or tx.type != TransactionType.TRANSMISSION_ACTE:
        return ko("Acte introuvable.")
    try:
        cancel_tx = acts_services.cancel_acte(actor=request.user, acte=tx)
    except (ValidationError, PermissionDenied) as exc:
        return _service_error(exc)
    return text("OK", cancel_tx.pk)


@api_view
def classification_request(request):
    try:
        tx = acts_services.request_classification(
            actor=request.user, organisation=request.organisation
        )
    except (ValidationError, PermissionDenied) as exc:
        return _service_error(exc)
    return text("OK", tx.pk)


@api_view
def classification_fetch(request):
    version = acts_services.current_classification(request.organisation)
    if version is None:
        return ko("Aucune classification reçue pour cette collectivité.")
    return HttpResponse(bytes(version.raw_xml), content_type="application/xml")


@api_view
def get_document(request):
    tx = _tx(request, request.GET.get("id"))
    if tx is None:
        return ko("Transaction introuvable.")
    acte = tx if tx.type == TransactionType.TRANSMISSION_ACTE else tx.acte
    lines = [
        f"{t.type}-{t.status}-{t.pk}" for t in acte.linked.filter(direction="in").order_by("pk")
    ]
    return text("OK", *lines)


@api_view
def reponse_create(request):
    if request.method != "POST":
        return ko("Méthode POST attendue.")
    letter = _tx(request, _param(request, "id"))
    if letter is None or letter.direction != "in":
        return ko("Courrier de la préfecture introuvable.")
    type_envoie = _param(request, "type_envoie")
    if type_envoie not in ("3", "4"):
        return ko("type_envoie : 3 (refus/rejet) ou 4 (envoi/réponse) attendu.")
    files = []
    main = request.FILES.get("acte_pdf_file")
    if main is not None:
        files.append(documents.Upload.of(main, _param(request, "type_acte")))
    types = _values(request, "type_pj[]")
    for i, f in enumerate(_list(request, "acte_attachments[]")):
        files.append(documents.Upload.of(f, types[i] if i < len(types) else ""))
    try:
        tx = courriers_services.reply_to_letter(
            actor=request.user, letter=letter, send=type_envoie == "4", documents=files
        )
    except (ValidationError, PermissionDenied) as exc:
        return _service_error(exc)
    return text("OK", tx.pk)


@api_view
def post_confirm(request):
    tx = _tx(request, request.GET.get("id"))
    target = request.GET.get("url_return", "")
    error, message = "", ""
    if tx is None:
        error = "Transaction introuvable."
    else:
        try:
            acts_services.confirm_acte(actor=request.user, acte=tx)
            message = "Envoi confirmé."
        except (ValidationError, PermissionDenied) as exc:
            error = " ".join(error_messages(exc))
    if target.startswith(("http://", "https://")):
        url = target.replace("%%ERROR%%", quote(error)).replace("%%MESSAGE%%", quote(message))
        return HttpResponseRedirect(url)
    return ko(error) if error else text("OK", message)


@api_view
def bordereau(request):
    tx = _tx(request, request.GET.get("trans_id"))
    if tx is None or tx.type != TransactionType.TRANSMISSION_ACTE:
        return ko("Acte introuvable.")
    doc = DocumentBuilder(title=f"Bordereau de transmission — acte {tx.numero_interne}")
    doc.title_line("Bordereau de transmission")
    doc.paragraph(tx.organisation.name, bold_label="Collectivité :")
    doc.paragraph(tx.numero_interne, bold_label="Numéro :")
    doc.paragraph(tx.objet, bold_label="Objet :")
    doc.paragraph(f"{tx.status} — {tx.get_status_display()}", bold_label="Statut :")
    if tx.id_acte:
        doc.paragraph(tx.id_acte, bold_label="Identifiant unique :")
    if tx.date_reception:
        doc.paragraph(f"{tx.date_reception:%d/%m/%Y}", bold_label="Reçu en préfecture le :")
    response = HttpResponse(doc.build(), content_type="application/pdf")
    name_download(response, f"bordereau-{tx.pk}.pdf")
    return response


@api_view
def api_statuses(request):
    return JsonResponse([{"id": int(s), "name": s.label} for s in S], safe=False)


def _acte_json(tx: Transaction) -> dict:
    return {
        "id": tx.pk,
        "type": tx.type,
        "number": tx.numero_interne,
        "subject": tx.objet,
        "nature_code": tx.nature,
        "classification": tx.matiere_code,
        "decision_date": tx.decision_date.isoformat() if tx.decision_date else None,
        "submission_date": tx.created_at.isoformat(),
        "status_id": tx.status,
        "unique_id": tx.id_acte,
    }


def _filtered(request):
    qs = acts_selectors.actes_for(request.user, request.organisation)
    if request.GET.get("status_id", "").lstrip("-").isdigit():
        qs = qs.filter(status=int(request.GET["status_id"]))
    for name, lookup in (
        ("min_date", "decision_date__gte"),
        ("max_date", "decision_date__lte"),
        ("min_submission_date", "created_at__date__gte"),
        ("max_submission_date", "created_at__date__lte"),
    ):
        value = _date(request.GET.get(name, ""))
        if value:
            qs = qs.filter(**{lookup: value})
    return qs


@api_view
def api_number(request):
    return JsonResponse({"number": _filtered(request).count()})


@api_view
def api_list(request):
    try:
        offset = max(0, int(request.GET.get("offset", 0)))
        limit = min(1000, max(1, int(request.GET.get("limit", 100))))
    except ValueError:
        return JsonResponse({"status": "error", "message": "offset/limit invalides"}, status=400)
    return JsonResponse(
        [_acte_json(t) for t in _filtered(request)[offset : offset + limit]], safe=False
    )


@api_view
def api_documents(request):
    items = [
        {
            "id": t.pk,
            "type": t.type,
            "status_id": t.status,
            "related_transaction_id": t.acte_id,
            "unique_id": t.acte.id_acte if t.acte else "",
            "date": t.created_at.isoformat(),
            "read": t.read_at is not None,
            "message": t.message_label,
        }
        for t in acts_selectors.prefecture_documents(request.user, request.organisation)[:500]
    ]
    return JsonResponse(items, safe=False)


@api_view
def api_mark_read(request):
    tx = _tx(request, request.GET.get("transaction_id") or request.POST.get("transaction_id"))
    if tx is None:
        return JsonResponse({"result": "ko", "message": "Transaction introuvable."})
    try:
        courriers_services.mark_read(actor=request.user, tx=tx)
    except (ValidationError, PermissionDenied) as exc:
        return JsonResponse({"result": "ko", "message": " ".join(error_messages(exc))})
    return JsonResponse({"result": "ok"})


@api_view
def test_connexion(request):
    return text("OK", f"Connecté : {request.user.email} pour {request.organisation.name}")


@api_view
def list_login(request):
    return JsonResponse([{"login": request.user.email, "id": request.user.pk}], safe=False)
