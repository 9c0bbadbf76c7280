"""The client API of a tiers de télétransmission, S²LOW-style (brief §11): the paths,
parameters and ``OK``/``KO`` text answers that Pastell, web-delib and other client software
already call, so that they switch to e-mégalis by changing a base URL.

Who calls (API key, nounce, client certificate): ``auth.py``; the caller must be an agent actes
of the organisation it acts for, whose convention opens « actes ». Text answers: ``answers.py``
(ISO-8859-1, first line ``OK`` or ``KO``). The table of endpoints and S²LOW's answers:
``docs/actes-api.md``."""

from datetime import date, datetime
from urllib.parse import quote

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse

from emegalis.actes import documents, outgoing
from emegalis.actes import protocol as p
from emegalis.actes.acts import selectors as acts_selectors
from emegalis.actes.acts import services as acts_services
from emegalis.actes.acts.stamp import StampError, stamp_acte_file
from emegalis.actes.courriers import services as courriers_services
from emegalis.actes.models import Document, Transaction
from emegalis.actes.protocol import TransactionType
from emegalis.core.downloads import name_download, stored_file_response
from emegalis.core.forms import error_messages
from emegalis.core.pdf import DocumentBuilder
from emegalis.organisations import certificates
from emegalis.organisations import selectors as organisations_selectors
from emegalis.organisations import services as organisations_services

from .answers import ko, ko_line, ok_id, text
from .archives import letter_archive
from .auth import api_view, return_url

S = p.ActStatus


def default_typology(nature: int | None) -> str:
    """The nature's default typology, given to a document sent without one (the act and its
    annexes alike, as Pastell does for replies): see docs/actes-api.md for what S²LOW does."""
    known = p.NATURES.get(nature or 0)
    return known.default_typology if known else ""


INVALID = "Numéro de transaction invalide."


def _repair(value: str) -> str:
    """Fields are decoded as ISO-8859-1 (see ``api_view``): a value that is valid UTF-8 was
    sent in UTF-8, anything else in ISO-8859-1, as Pastell sends the subject."""
    try:
        return value.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _param(request, name: str) -> str:
    value = (request.POST.get(name) if request.method == "POST" else None) or request.GET.get(
        name, ""
    )
    return _repair(value)


def _tx(request, value) -> Transaction | None:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return acts_selectors.transactions_for(request.user, request.organisation).filter(pk=pk).first()


def _by_unique_id(request, unique_id: str) -> Transaction | None:
    return (
        acts_selectors.transactions_for(request.user, request.organisation)
        .filter(type=TransactionType.TRANSMISSION_ACTE, id_acte=unique_id.strip())
        .first()
    )


def _tx_of(request, name: str) -> Transaction | None:
    """The transaction named by ``name`` or, as S²LOW prefers it, by ``unique_id``."""
    unique_id = request.GET.get("unique_id", "")
    return _by_unique_id(request, unique_id) if unique_id else _tx(request, request.GET.get(name))


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
        return ko_line(" | ".join(parts))
    return ko_line(" ".join(error_messages(exc)))


def _files(request, name: str) -> list:
    files = request.FILES.getlist(name) or request.FILES.getlist(name.removesuffix("[]"))
    for f in files:
        f.name = _repair(f.name or "")
    return files


def _values(request, name: str) -> list[str]:
    values = request.POST.getlist(name) or request.POST.getlist(name.removesuffix("[]"))
    return [_repair(v).strip() for v in values]


def _upload(f, typologie: str, signature=None) -> documents.Upload:
    if signature is not None:
        signature.name = _repair(signature.name or "")
    return documents.Upload.of(f, typologie, signature)


@api_view
def create(request):
    if request.method != "POST":
        return ko_line("Méthode POST attendue.")
    try:
        nature = int(_param(request, "nature_code"))
    except ValueError:
        return ko_line("nature_code : code nature d'acte manquant ou invalide (1 à 6).")
    matieres = []
    for i in range(1, 6):
        value = _param(request, f"classif{i}").strip()
        if not value:
            break
        if not value.isdigit():
            return ko_line(f"classif{i} : code matière invalide « {value} ».")
        matieres.append(int(value))
    decision = _date(_param(request, "decision_date"))
    if decision is None:
        return ko_line("decision_date : date de décision manquante ou invalide (AAAA-MM-JJ).")
    main = request.FILES.get("acte_pdf_file")
    if main is None:
        return ko_line("Aucun fichier acte n'a été posté.")
    main.name = _repair(main.name or "")
    type_acte = _param(request, "type_acte").strip() or default_typology(nature)
    attachments = _files(request, "acte_attachments[]")
    types = _values(request, "type_pj[]")
    if len(types) > len(attachments):
        return ko_line(
            f"type_pj[] : {len(types)} typologie(s) pour {len(attachments)} annexe(s) ; "
            "une typologie par annexe, dans l'ordre des annexes."
        )
    types += [""] * (len(attachments) - len(types))
    signatures = _files(request, "acte_attachments_sign[]")
    annexes = [
        _upload(f, t or type_acte, signatures[i] if i < len(signatures) else None)
        for i, (f, t) in enumerate(zip(attachments, types, strict=True))
    ]
    data = acts_services.ActeInput(
        nature=nature,
        numero_interne=_param(request, "number").strip(),
        decision_date=decision,
        objet=_param(request, "subject"),
        matieres=matieres,
        document=_upload(main, type_acte, request.FILES.get("acte_pdf_file_sign")),
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
    return ok_id(acte.pk)


@api_view
def get_status(request):
    tx = _tx_of(request, "transaction")
    if tx is None:
        return ko(INVALID)
    lines = ["OK", tx.status]
    if tx.status == S.ERREUR and tx.error_message:
        lines.append(tx.error_message)
    elif tx.ar_xml:
        lines.append(bytes(tx.ar_xml).decode("iso-8859-1"))
    return text(*lines)


_MIMETYPES = {
    "pdf": "application/pdf",
    "xml": "application/xml",
    "jpg": "image/jpeg",
    "png": "image/png",
}


def _mimetype(doc: Document) -> str:
    # The type the file was checked to be (S²LOW sniffs it), not what the client declared.
    return _MIMETYPES.get(doc.extension) or doc.content_type or "application/octet-stream"


@api_view
def files_list(request):
    """S²LOW's order: the XML message, the main document, then the annexes (clients stamp
    index 1). Its id is the transaction's, negated (``actes_download_file.php?file=-id``)."""
    tx = _tx_of(request, "transaction")
    if tx is None:
        return ko(INVALID)
    if tx.direction == "out" and tx.status in (S.POSTE, S.EN_ATTENTE_TRANSMISSION, S.TRANSMIS):
        return ko("Pas d'acquittement recu")
    files = []
    message = outgoing.travelled_message(tx)
    if message is not None:
        name, xml = message
        files.append(
            {
                "id": -tx.pk,
                "name": name,
                "posted_filename": "",
                "mimetype": "text/xml",
                "size": len(xml),
                "sign": "",
                "code_pj": "",
            }
        )
    for d in tx.documents.exclude(kind=Document.Kind.SIGNATURE).order_by("rank", "pk"):
        files.append(
            {
                "id": d.pk,
                "name": d.wire_name or d.original_name,
                "posted_filename": d.original_name,
                "mimetype": _mimetype(d),
                "size": d.size,
                "sign": "",
                "code_pj": d.typologie,
            }
        )
    return JsonResponse(files, safe=False)


def _message_download(request, pk: int) -> HttpResponse:
    tx = _tx(request, pk)
    message = outgoing.travelled_message(tx) if tx else None
    if message is None:
        return ko("Fichier introuvable.")
    name, xml = message
    return name_download(HttpResponse(xml, content_type="text/xml"), name)


def _stamped(request, doc: Document) -> HttpResponse:
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
            data = stamp_acte_file(fh, acte, published)
    except StampError as exc:
        return ko(str(exc))
    return HttpResponse(data, content_type="application/pdf")


@api_view
def download_file(request):
    """``file=<id>`` (``tampon=true`` stamps a PDF) or ``env=<transaction>``: the archive of
    that transaction, as ``actes_transac_get_document.php`` redirects to for a letter."""
    if request.GET.get("env"):
        return _envelope_download(request)
    try:
        pk = int(request.GET.get("file", ""))
    except ValueError:
        return ko("Paramètre manquant.")
    if pk < 0:
        return _message_download(request, -pk)
    try:
        doc = acts_selectors.get_document(request.user, request.organisation, pk)
    except Exception:  # noqa: BLE001 — any bad id is « introuvable »
        return ko("Fichier introuvable.")
    name = doc.wire_name or doc.original_name
    if request.GET.get("tampon", "") in ("true", "1", "on"):
        response = _stamped(request, doc)
        if response.status_code != 200 or response["Content-Type"] != "application/pdf":
            return response
    else:
        try:
            handle = doc.file.open("rb")
        except OSError:
            return ko("Fichier introuvable.")
        response = stored_file_response(handle, name, content_type=_mimetype(doc))
    return name_download(response, doc.original_name or name)


def _envelope_download(request) -> HttpResponse:
    tx = _tx(request, request.GET.get("env"))
    if tx is None:
        return ko("Paramètre manquant.")
    if tx.direction == "out":
        envelope = tx.envelopes.order_by("-pk").first()
        if envelope is None:
            return ko("Le fichier archive n'est pas/plus disponible.")
        handle = envelope.archive.open("rb")
        response = stored_file_response(
            handle, envelope.archive_name, content_type="application/x-gzip"
        )
        return name_download(response, envelope.archive_name)
    data, name = letter_archive(tx)
    return name_download(HttpResponse(data, content_type="application/x-gzip"), name)


@api_view
def get_tampon(request):
    """Deprecated in S²LOW (files list + download), kept: a redirect to the stamped PDF."""
    tx = _tx_of(request, "transaction")
    doc = tx.documents.filter(kind=Document.Kind.MAIN).first() if tx else None
    if doc is None:
        return ko(INVALID)
    if not tx.ar_xml:
        return ko("Pas d'acquittement recu")
    query = f"file={doc.pk}&tampon=true"
    if request.GET.get("date_affichage"):
        query += "&date_affichage=" + quote(request.GET["date_affichage"])
    return HttpResponseRedirect(f"actes_download_file.php?{query}")


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
        return ko(INVALID)
    try:
        cancel_tx = acts_services.cancel_acte(actor=request.user, acte=tx)
    except (ValidationError, PermissionDenied) as exc:
        return _service_error(exc)
    return ok_id(cancel_tx.pk)


@api_view
def classification_request(request):
    try:
        tx = acts_services.request_classification(
            actor=request.user, organisation=request.organisation
        )
    except (ValidationError, PermissionDenied) as exc:
        return _service_error(exc)
    return ok_id(tx.pk)


@api_view
def classification_fetch(request):
    version = acts_services.current_classification(request.organisation)
    if version is None:
        return ko("Aucune classification reçue pour cette collectivité.")
    return HttpResponse(bytes(version.raw_xml), content_type="application/xml")


@api_view
def get_document(request):
    """For an act: one line ``type-status-id`` per letter of the prefecture. For a letter: a
    redirect to its archive (``actes_download_file.php?env=…``), which clients untar."""
    tx = _tx_of(request, "id")
    if tx is None:
        return ko(INVALID)
    if tx.type != TransactionType.TRANSMISSION_ACTE:
        return HttpResponseRedirect(f"actes_download_file.php?env={tx.pk}")
    letters = tx.linked.filter(direction="in").order_by("pk")
    # No « OK » line: clients split every line into type-status-id.
    return text(*(f"{t.type}-{t.status}-{t.pk}" for t in letters), "")


@api_view
def reponse_create(request):
    if request.method != "POST":
        return ko_line("Méthode POST attendue.")
    letter = _tx(request, _param(request, "id"))
    if letter is None or letter.direction != "in":
        return ko_line("Courrier de la préfecture introuvable.")
    type_envoie = _param(request, "type_envoie")
    if type_envoie not in ("3", "4"):
        return ko_line("type_envoie : 3 (refus/rejet) ou 4 (envoi/réponse) attendu.")
    default = default_typology(letter.acte.nature if letter.acte else None)
    files = []
    main = request.FILES.get("acte_pdf_file")
    if main is not None:
        main.name = _repair(main.name or "")
        files.append(_upload(main, _param(request, "type_acte").strip() or default))
    types = _values(request, "type_pj[]")
    for i, f in enumerate(_files(request, "acte_attachments[]")):
        files.append(_upload(f, (types[i] if i < len(types) else "") or default))
    try:
        tx = courriers_services.reply_to_letter(
            actor=request.user, letter=letter, send=type_envoie == "4", documents=files
        )
    except (ValidationError, PermissionDenied) as exc:
        return _service_error(exc)
    return ok_id(tx.pk)


def _confirm(request, tx: Transaction | None) -> str:
    """Confirm one act « en attente d'être postée » (17 → 1); the error message, or ``""``."""
    if tx is None:
        return "Erreur d'initialisation de la transaction."
    if tx.status != S.EN_ATTENTE_POSTEE:
        return "La transaction n'est pas dans le statut « En attente d'être posté »"
    try:
        acts_services.confirm_acte(actor=request.user, acte=tx)
    except (ValidationError, PermissionDenied) as exc:
        return " ".join(error_messages(exc))
    return ""


@api_view(browser=True)
def post_confirm(request):
    """S²LOW redirects the browser to ``url_return`` with ``%%ERROR%%`` = 0 or 1 and
    ``%%MESSAGE%%`` = the error; without ``url_return``, the answer is text."""
    raw = request.GET.get("id", "")
    if raw:
        error = _confirm(request, _tx(request, raw))
    else:
        error = "Pas d'identifiant de transaction spécifié"
    target = return_url(request, error=error)
    if target:
        return HttpResponseRedirect(target)
    return ko(error) if error else text("OK", "Envoi confirmé.")


@api_view(browser=True)
def post_confirm_multi(request):
    """``id[]=…&id[]=…``: every act of the caller still « en attente d'être postée » is
    confirmed, the others are skipped, as S²LOW does; then back to ``url_return`` (S²LOW leaves
    its placeholders there: there is no single outcome)."""
    ids = request.GET.getlist("id[]") or request.GET.getlist("id")
    outcomes = [(raw, _confirm(request, _tx(request, raw))) for raw in ids]
    target = request.GET.get("url_return", "")
    if target.startswith(("http://", "https://")):
        return HttpResponseRedirect(target)
    if not ids:
        return ko("Pas d'identifiant de transaction spécifié")
    return text("OK", *(f"{pk}-{'ignoré' if error else 'confirmé'}" for pk, error in outcomes))


@api_view
def bordereau(request):
    tx = _tx(request, request.GET.get("trans_id"))
    if tx is None or tx.type != TransactionType.TRANSMISSION_ACTE:
        return ko(INVALID)
    doc = DocumentBuilder(title=f"Bordereau de transmission — acte {tx.numero_interne}")
    doc.title_line("Bordereau de transmission")
    doc.paragraph(tx.organisation.name, bold_label="Collectivité :")
    doc.paragraph(tx.numero_interne, bold_label="Numéro :")
    doc.paragraph(tx.objet, bold_label="Objet :")
    doc.paragraph(tx.get_status_display(), bold_label="Statut :")
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


def _int(request, name: str, default: int = 0) -> int | None:
    value = request.GET.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        return None


def _by_status(request, status_id: int):
    return acts_selectors.actes_for(request.user, request.organisation).filter(status=status_id)


@api_view
def api_number(request):
    status_id = _int(request, "status_id")
    if status_id is None:
        return JsonResponse({"error": "status_id doit être un nombre."}, status=400)
    return JsonResponse(
        {
            "status_id": status_id,
            "authority_id": request.organisation.pk,
            "nb_transactions": _by_status(request, status_id).count(),
        }
    )


@api_view
def api_list(request):
    status_id, offset, limit = (
        _int(request, "status_id"),
        _int(request, "offset"),
        _int(request, "limit", 100),
    )
    if None in (status_id, offset, limit):
        return JsonResponse({"error": "status_id, offset et limit sont des nombres."}, status=400)
    offset, limit = max(0, offset), min(1000, max(1, limit))
    qs = _by_status(request, status_id)
    for name, lookup in (
        ("min_date", "created_at__date__gte"),
        ("max_date", "created_at__date__lte"),
    ):
        value = request.GET.get(name, "")
        if value:
            day = _date(value)
            if day is None:
                return JsonResponse({"error": f"{name} : date AAAA-MM-JJ attendue."}, status=400)
            qs = qs.filter(**{lookup: day})
    transactions = [
        {
            "id": t.pk,
            "subject": t.objet,
            "number": t.numero_interne,
            "date": t.decision_date.isoformat() if t.decision_date else None,
            "nature_descr": t.get_nature_display() if t.nature else "",
            "classification": t.matiere_code,
            "type": str(t.type),
        }
        for t in qs.order_by("-pk")[offset : offset + limit]
    ]
    return JsonResponse(
        {
            "status_id": status_id,
            "authority_id": request.organisation.pk,
            "offset": offset,
            "limit": limit,
            "transactions": transactions,
        }
    )


@api_view
def api_documents(request):
    """The prefecture's letters not yet marked read, oldest first, with S²LOW's fields."""
    letters = (
        acts_selectors.prefecture_documents(request.user, request.organisation)
        .filter(read_at__isnull=True, type__in=(2, 3, 4, 5))
        .order_by("pk")
    )
    return JsonResponse(
        [
            {
                "id": t.pk,
                "type": str(t.type),
                "related_transaction_id": t.acte_id,
                "number": t.acte.numero_interne if t.acte else t.numero_interne,
                "unique_id": t.acte.id_acte if t.acte else "",
                "last_status_id": t.status,
            }
            for t in letters[:1000]
        ],
        safe=False,
    )


@api_view
def api_mark_read(request):
    tx = _tx(request, request.GET.get("transaction_id") or request.POST.get("transaction_id"))
    if tx is not None:
        try:
            courriers_services.mark_read(actor=request.user, tx=tx)
        except (ValidationError, PermissionDenied) as exc:
            return JsonResponse({"result": "ko", "message": " ".join(error_messages(exc))})
    # S²LOW answers ok whatever the id (its UPDATE simply matches nothing).
    return JsonResponse({"result": "ok"})


@api_view
def test_connexion(request):
    return text("OK")


@api_view
def get_nounce(request):
    caller = request.caller
    if caller.key is None or not caller.secret:
        response = ko("La fonction n'est utilisable qu'avec un login+mot de passe HTTP", 401)
        response["WWW-Authenticate"] = 'Basic realm="API S2low"'
        return response
    return JsonResponse(
        {"nounce": organisations_services.issue_nounce(key=caller.key, secret=caller.secret)}
    )


@api_view
def info_connexion(request):
    user, org = request.user, request.organisation
    info = {
        "user_info": {
            "id": user.pk,
            "login": user.email,
            "email": user.email,
            "name": user.last_name,
            "givenname": user.first_name,
            "role": "USER",
            "status": 1,
            "authority_id": org.pk,
        },
        "authority_info": {
            "id": org.pk,
            "authority_type_id": org.insee_nature,
            "status": 1,
            "name": org.name,
            "email": org.email,
            "address": org.address,
            "postal_code": org.postcode,
            "city": org.city,
            "telephone": "",
            "department": org.departement,
            "district": str(org.arrondissement or ""),
            "authority_group_id": org.parent_id,
        },
    }
    return JsonResponse(info, json_dumps_params={"indent": 4})


@api_view
def list_login(request):
    """The logins of the accounts bound to the presented certificate, one per line; without a
    certificate, the caller's own."""
    fingerprint = certificates.verified_fingerprint(request)
    if fingerprint:
        logins = sorted(
            {c.user.email for c in organisations_selectors.live_certificates(fingerprint)}
        )
    else:
        logins = [request.user.email]
    return text(*logins, "")
