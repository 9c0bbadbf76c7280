"""The prefecture counterpart's behaviour, written with the @CTES codec only.

Receiving (:func:`receive_archive`): the archive is read with the codec's limits, every XML is
validated against the XSD; an act gets an ``ARActe`` (or an ``AnomalieActe`` when it breaks a
rule), an envelope that cannot be accepted gets an ``AnomalieEnveloppe``; ARs of letters,
replies and cancellations are recorded; a ``DemandeClassification`` is answered at once.
Every answer is a return archive pushed to the platform by a task once committed.

Agent actions: send a letter (2-1, 3-1, 4-1, 5-1), acknowledge a reply (3-5, 4-5) or a
cancellation (6-2).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import tarfile
import tempfile
from datetime import date
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import connection, transaction

from emegalis.actes import protocol as p
from emegalis.core import clock, journal
from emegalis.core.pdf import check_pdf
from emegalis.organisations.models import Organisation, OrganisationKind, User
from emegalis.organisations.roles import Role
from emegalis.organisations.selectors import roles_in

from .models import (
    Cancellation,
    Letter,
    OutgoingReturn,
    ReceivedAct,
    ReceivedArchive,
    ReceivedFile,
    Reply,
    ReturnCounter,
)

logger = logging.getLogger(__name__)
CLASSIFICATION_FILE = Path(__file__).parent / "data" / "classification-exemple-2017-12-08.xml"
LETTER_CODES = {
    "2-1": "Courrier simple",
    "3-1": "Demande de pièces complémentaires",
    "4-1": "Lettre d'observations",
    "5-1": "Déféré au tribunal administratif",
}
REPLY_ACKS = {"3-3": "3-5", "3-4": "3-5", "4-3": "4-5", "4-4": "4-5"}
# Anomaly codes are [unconfirmed] beyond 005 (brief §3): ours are shown with their detail.
ANO_SCHEMA = "002"
ANO_CONTENT = "003"


def application() -> str:
    return getattr(settings, "PREFECTURE_APPLICATION", "") or "TACT"


def archive_limits() -> p.ArchiveLimits:
    cap = int(getattr(settings, "ACTES_ARCHIVE_MAX_BYTES", 150 * 1024 * 1024))
    return p.ArchiveLimits(max_archive_bytes=cap, max_total_bytes=cap * 4 // 3)


def classification_bytes() -> bytes:
    return CLASSIFICATION_FILE.read_bytes()


def classification() -> p.Classification:
    if not hasattr(classification, "_cache"):
        classification._cache = p.parse_classification(classification_bytes())
    return classification._cache


# --- Who may act ---------------------------------------------------------------------------


def agent_prefecture(user: User, organisation: Organisation | None) -> Organisation:
    """The prefecture the user acts for, or PermissionDenied."""
    if (
        organisation is None
        or not user.is_authenticated
        or organisation.kind != OrganisationKind.PREFECTURE
        or Role.AGENT_PREFECTURE not in roles_in(user, organisation)
        or not organisation.departement
    ):
        raise PermissionDenied("Réservé aux agents de préfecture.")
    return organisation


# --- Building returns ----------------------------------------------------------------------


def _serial(service: str, siren: str, day: date) -> int:
    table = ReturnCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (service, siren, day, value) VALUES (%s, %s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (service, siren, day) DO UPDATE SET value = {table}.value + 1 "
            "RETURNING value",
            [service, siren, day],
        )
        return cursor.fetchone()[0]


def _service(departement: str) -> p.ServicePrefecture:
    return p.ServicePrefecture(kind="PREF", departement=departement)


def _queue(name: str, code: str, siren: str, data: bytes) -> OutgoingReturn:
    out = OutgoingReturn(name=name, code=code, siren=siren, size=len(data))
    out.archive.save(name, ContentFile(data), save=False)
    out.save()
    pk = out.pk
    from .tasks import push_return

    transaction.on_commit(lambda: push_return.enqueue(pk))
    return out


def queue_return(
    *,
    departement: str,
    siren: str,
    message_name: str,
    message: p.Message,
    files: dict[str, bytes | BinaryIO] | None = None,
) -> OutgoingReturn:
    """One return archive (EnveloppeMISILLCL + one message + its files), queued for pushing."""
    day = clock.today()
    service = p.service_code(departement=departement)
    serial = _serial(service, siren, day)
    env_name = p.return_envelope_name(
        application=application(), service=service, siren=siren, day=day, serial=serial
    )
    envelope = p.EnveloppeMISILLCL(
        emetteur=_service(departement), formulaires=(message_name,), destinataire_siren=siren
    )
    data = p.build_archive((env_name, envelope), {message_name: message}, files or {})
    return _queue(env_name.removesuffix(".xml") + ".tar.gz", message.CODE, siren, data)


def _anomaly_archive(env_name: str, anomaly: p.AnomalieEnveloppe) -> tuple[str, bytes]:
    """The codec writes archives of outgoing and return envelopes only: an anomaly archive
    (one ``ANO_`` XML) is a plain tar.gz written here."""
    name = p.anomaly_envelope_name(env_name)
    xml = p.build_anomalie_enveloppe(anomaly)
    buf = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        info = tarfile.TarInfo(name)
        info.size = len(xml)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(xml))
    return name.removesuffix(".xml") + ".tar.gz", buf.getvalue()


def _donnees(acte: p.Acte) -> p.DonneesActe:
    values = {
        f: getattr(acte, f)
        for f in (
            "date_decision",
            "numero_interne",
            "code_nature",
            "matieres",
            "objet",
            "classification_date",
            "document",
            "annexes",
            "precedent_id_acte",
            "document_papier",
        )
    }
    return p.DonneesActe(**values)


# --- Receiving -----------------------------------------------------------------------------


def receive_archive(*, source: BinaryIO, name: str) -> ReceivedArchive:
    """Receive one archive; refuse (ValidationError) what cannot even be read."""
    with tempfile.TemporaryFile() as spool:
        digest, size = hashlib.sha256(), 0
        limits = archive_limits()
        while chunk := source.read(1024 * 1024):
            size += len(chunk)
            if size > limits.max_archive_bytes:
                raise ValidationError("Archive trop volumineuse : refusée.")
            digest.update(chunk)
            spool.write(chunk)
        sha = digest.hexdigest()
        known = ReceivedArchive.objects.filter(sha256=sha).first()
        if known is not None:  # the same archive sent again: already answered
            return known
        spool.seek(0)
        try:
            archive = p.read_archive(spool, limits)
            envelope_name = archive.envelope_name
            envelope = archive.envelope
        except p.ProtocolError as exc:
            raise ValidationError(f"Archive refusée : {exc.message}") from None
        spool.seek(0)
        with transaction.atomic():
            record = ReceivedArchive(
                name=name[:255], sha256=sha, size=size, received_at=clock.now()
            )
            record.archive.save(f"{sha[:16]}.tar.gz", File(spool), save=False)
            record.save()
            if not isinstance(envelope, p.EnveloppeCLMISILL):
                raise ValidationError("L'archive ne contient pas d'enveloppe EnveloppeCLMISILL.")
            record.outcome, record.detail = _process(archive, envelope_name, envelope, record)
            record.save(update_fields=["outcome", "detail"])
            journal.record(
                action="prefecture.archive.received",
                target=record,
                payload={"name": name[:200], "outcome": record.outcome},
            )
    return record


def _reject_envelope(
    env_name: str, envelope: p.EnveloppeCLMISILL, detail: str, nature: str = ANO_SCHEMA
) -> str:
    anomaly = p.AnomalieEnveloppe(
        date=clock.today(), nature=nature, detail=detail[:500], enveloppe_recue=envelope
    )
    try:
        archive_name, data = _anomaly_archive(env_name, anomaly)
    except p.ProtocolError:
        # Not even an anomaly can echo it: the archive is refused outright (HTTP 400).
        raise ValidationError(f"Enveloppe refusée : {detail}") from None
    _queue(archive_name, "ANO", envelope.emetteur.siren, data)
    return "AnomalieEnveloppe"


def _process(archive: p.Archive, env_name: str, envelope, record) -> tuple[str, str]:
    try:
        p.parse_envelope_name(env_name)
        p.validate(archive.files[env_name])
        messages = archive.messages
        for msg_name in messages:
            p.check_message_name(msg_name)
    except p.ProtocolError as exc:
        return _reject_envelope(env_name, envelope, exc.message), exc.message
    idcl = envelope.emetteur
    if not Organisation.objects.filter(siren=idcl.siren).exists():
        # The one documented anomaly code (brief §3): SIREN not registered at the prefecture.
        detail = "PREF-VERIF-02"
        return _reject_envelope(env_name, envelope, detail, nature="005"), detail
    outcomes = []
    for msg_name, message in messages.items():
        xml = archive.files[msg_name]
        outcomes.append(_process_message(archive, idcl, msg_name, xml, message, record))
    return ", ".join(o for o, _ in outcomes), "; ".join(d for _, d in outcomes if d)


def _process_message(archive, idcl: p.IDCL, msg_name, xml, message, record) -> tuple[str, str]:
    code = message.CODE
    if code == "1-1":
        return _receive_acte(archive, idcl, msg_name, xml, message, record)
    if code == "7-1":
        ours = classification()
        stem = p.TransactionStem(idcl.departement, idcl.siren)
        if message.date_classification == ours.date_classification:
            answer: p.Message = p.ReponseClassificationSansChangement(
                date_classification=ours.date_classification
            )
        else:
            answer = p.RetourClassification(classification=ours)
        queue_return(
            departement=idcl.departement,
            siren=idcl.siren,
            message_name=stem.message_name(answer.CODE),
            message=answer,
        )
        return answer.root, ""
    try:
        p.validate(xml)
    except p.ProtocolError as exc:
        return "refusé", exc.message
    act = ReceivedAct.objects.filter(id_acte=getattr(message, "id_acte", "")).first()
    if act is None:
        return "ignoré", f"Acte {getattr(message, 'id_acte', '?')} inconnu"
    if code in ("3-2", "4-2"):
        letter = act.letters.filter(
            code=code[0] + "-1", date_courrier=message.date_courrier_pref
        ).first()
        if letter and not letter.ar_received_at:
            letter.ar_received_at = clock.now()
            letter.save(update_fields=["ar_received_at"])
        return message.root, ""
    if code in ("2-2", "3-3", "3-4", "4-3", "4-4"):
        letter = act.letters.filter(
            code=code[0] + "-1", date_courrier=message.date_courrier_pref
        ).first()
        if letter is None:
            return "ignoré", "Aucun courrier ne correspond à cette réponse"
        reply = Reply.objects.create(letter=letter, code=code, received_at=clock.now())
        names = [d.nom_fichier for d in getattr(message, "documents", ())]
        if hasattr(message, "document"):
            names.append(message.document.nom_fichier)
        for n in names:
            data = archive.files.get(n, b"")
            f = ReceivedFile(reply=reply, name=n, size=len(data))
            f.file.save(n, ContentFile(data), save=False)
            f.save()
        return message.root, ""
    if code == "6-1":
        if not act.cancellations.filter(acknowledged_at__isnull=True).exists():
            Cancellation.objects.create(act=act, received_at=clock.now())
        return "Annulation", ""
    return "ignoré", f"Message {code} inattendu"


def _receive_acte(archive, idcl, msg_name, xml, acte: p.Acte, record) -> tuple[str, str]:
    ours = classification()
    problem = ""
    try:
        p.validate(xml)
        p.check_numero_interne(acte.numero_interne)
        if (
            p.TransactionStem(
                idcl.departement,
                idcl.siren,
                acte.date_decision,
                acte.numero_interne,
                acte.code_nature,
            ).message_name("1-1")
            != msg_name
        ):
            raise p.NamingError(f"Le nom du message « {msg_name} » ne correspond pas à l'acte.")
        ours.matiere_path(acte.matieres)
        for f in (acte.document, *acte.annexes):
            m = p.check_document_name(f.nom_fichier, require_typologie=True)
            ours.check_typology(acte.code_nature, m["typologie"])
            if f.nom_fichier not in archive.files:
                raise p.ArchiveError(f"La pièce « {f.nom_fichier} » manque dans l'archive.")
        if acte.annexes_incoherentes:
            raise p.ProtocolError("Le nombre d'annexes annoncé ne correspond pas à la liste.")
        if acte.document.nom_fichier.lower().endswith(".pdf"):
            try:
                check_pdf(io.BytesIO(archive.files[acte.document.nom_fichier]))
            except ValidationError as exc:
                raise p.ProtocolError(exc.messages[0]) from None
        if (
            ReceivedAct.objects.filter(siren=idcl.siren, numero_interne=acte.numero_interne)
            .exclude(id_acte="")
            .exists()
        ):
            raise p.ProtocolError(f"Le numéro {acte.numero_interne} a déjà été transmis.")
    except p.ProtocolError as exc:
        problem = exc.message
    today = clock.today()
    act = ReceivedAct.objects.create(
        archive=record,
        siren=idcl.siren,
        departement=idcl.departement,
        arrondissement=idcl.arrondissement,
        authority_nature=idcl.nature,
        numero_interne=acte.numero_interne[:15],
        code_nature=acte.code_nature,
        objet=acte.objet,
        date_decision=acte.date_decision,
        matieres=list(acte.matieres),
        classification_date=acte.classification_date,
        acte_xml=xml,
        anomaly=problem,
    )
    if problem:
        answer: p.Message = p.AnomalieActe(
            date=today,
            nature=ANO_CONTENT,
            detail=problem[:500],
            acte_recu=_donnees(acte),
            classification_date_en_cours=ours.date_classification,
        )
        try:
            name = p.TransactionStem(
                idcl.departement,
                idcl.siren,
                acte.date_decision,
                acte.numero_interne,
                acte.code_nature,
            ).message_name("1-3")
            with transaction.atomic():
                queue_return(
                    departement=idcl.departement,
                    siren=idcl.siren,
                    message_name=name,
                    message=answer,
                )
        except p.ProtocolError as exc:
            return "refusé", f"{problem} (anomalie impossible à émettre : {exc.message})"
        return "AnomalieActe", problem
    act.id_acte = p.make_id_acte(
        departement=idcl.departement,
        siren=idcl.siren,
        decision_date=acte.date_decision,
        numero_interne=acte.numero_interne,
        code_nature=acte.code_nature,
    )
    act.date_reception = today
    act.save(update_fields=["id_acte", "date_reception"])
    for f in (acte.document, *acte.annexes):
        data = archive.files[f.nom_fichier]
        rf = ReceivedFile(act=act, name=f.nom_fichier, size=len(data))
        rf.file.save(f.nom_fichier, ContentFile(data), save=False)
        rf.save()
    answer = p.ARActe(
        id_acte=act.id_acte,
        date_reception=today,
        acte_recu=_donnees(acte),
        classification_date_en_cours=ours.date_classification,
    )
    queue_return(
        departement=idcl.departement,
        siren=idcl.siren,
        message_name=p.TransactionStem.for_acte(act.id_acte).message_name("1-2"),
        message=answer,
    )
    return "ARActe", act.id_acte


# --- Agent actions -------------------------------------------------------------------------


def send_letter(
    *,
    actor: User,
    prefecture: Organisation,
    act: ReceivedAct,
    code: str,
    details: str,
    document,
    document_name: str,
) -> Letter:
    """Send a letter about an acknowledged act (with its PDF)."""
    agent_prefecture(actor, prefecture)
    if act.departement != prefecture.departement:
        raise PermissionDenied("Cet acte ne relève pas de votre préfecture.")
    if code not in LETTER_CODES:
        raise ValidationError({"code": ["Type de courrier inconnu."]})
    if not act.id_acte or act.cancelled_at:
        raise ValidationError("Seul un acte acquitté et non annulé peut recevoir un courrier.")
    details = (details or "").strip()
    if code in ("3-1", "4-1", "5-1") and not details:
        raise ValidationError({"details": ["Précisez la demande, le motif ou la nature."]})
    try:
        check_pdf(document)
    except ValidationError as exc:
        raise ValidationError({"document": exc.messages}) from None
    data = b"".join(iter(lambda: document.read(1024 * 1024), b""))
    today = clock.today()
    with transaction.atomic():
        if act.letters.filter(code=code, date_courrier=today).exists():
            raise ValidationError(
                "Un courrier de ce type a déjà été envoyé aujourd'hui pour cet acte."
            )
        stem = p.TransactionStem.for_acte(act.id_acte)
        doc_name = stem.document_name(code, 1, "pdf")
        keys = {"id_acte": act.id_acte, "date_courrier_pref": today}
        doc = p.FichierSigne(nom_fichier=doc_name)
        if code == "2-1":
            message: p.Message = p.CourrierSimple(**keys, document=doc)
        elif code == "3-1":
            message = p.DemandePieceComplementaire(**keys, description_pieces=details, document=doc)
        elif code == "4-1":
            message = p.LettreObservations(**keys, motif=details, document=doc)
        else:
            message = p.DefereTA(
                id_acte=act.id_acte,
                date_depot=today,
                nature_illegalite=details,
                pieces_jointes=(doc,),
            )
        letter = Letter(
            act=act,
            code=code,
            date_courrier=today,
            details=details,
            created_by=actor,
            document_name=document_name[:255],
        )
        letter.document.save(doc_name, ContentFile(data), save=False)
        letter.save()
        try:
            queue_return(
                departement=act.departement,
                siren=act.siren,
                message_name=stem.message_name(code),
                message=message,
                files={doc_name: data},
            )
        except p.ProtocolError as exc:
            raise ValidationError(exc.message) from None
        journal.record(
            action="prefecture.letter.sent",
            actor=actor,
            organisation=prefecture,
            target=letter,
            payload={"code": code, "id_acte": act.id_acte},
        )
    return letter


def acknowledge_reply(*, actor: User, prefecture: Organisation, reply: Reply) -> Reply:
    agent_prefecture(actor, prefecture)
    act = reply.letter.act
    if act.departement != prefecture.departement:
        raise PermissionDenied("Cette réponse ne relève pas de votre préfecture.")
    code = REPLY_ACKS.get(reply.code)
    if code is None:
        raise ValidationError("Ce type de réponse n'appelle pas d'accusé de réception.")
    if reply.acknowledged_at:
        raise ValidationError("Cette réponse est déjà acquittée.")
    cls = p.ARPieceComplementaire if code == "3-5" else p.ARReponseRejetLettreObservations
    with transaction.atomic():
        reply.acknowledged_at = clock.now()
        reply.save(update_fields=["acknowledged_at"])
        queue_return(
            departement=act.departement,
            siren=act.siren,
            message_name=p.TransactionStem.for_acte(act.id_acte).message_name(code),
            message=cls(
                id_acte=act.id_acte,
                date_courrier_pref=reply.letter.date_courrier,
                date_reception=clock.today(),
            ),
        )
        journal.record(
            action="prefecture.reply.acknowledged",
            actor=actor,
            organisation=prefecture,
            target=reply,
        )
    return reply


def acknowledge_cancellation(
    *, actor: User, prefecture: Organisation, cancellation: Cancellation
) -> Cancellation:
    agent_prefecture(actor, prefecture)
    act = cancellation.act
    if act.departement != prefecture.departement:
        raise PermissionDenied("Cette annulation ne relève pas de votre préfecture.")
    if cancellation.acknowledged_at:
        raise ValidationError("Cette annulation est déjà acquittée.")
    with transaction.atomic():
        now = clock.now()
        cancellation.acknowledged_at = now
        cancellation.save(update_fields=["acknowledged_at"])
        act.cancelled_at = now
        act.save(update_fields=["cancelled_at"])
        queue_return(
            departement=act.departement,
            siren=act.siren,
            message_name=p.TransactionStem.for_acte(act.id_acte).message_name("6-2"),
            message=p.ARAnnulation(id_acte=act.id_acte, date_reception=clock.today()),
        )
        journal.record(
            action="prefecture.cancellation.acknowledged",
            actor=actor,
            organisation=prefecture,
            target=cancellation,
        )
    return cancellation


# --- Pushing returns -----------------------------------------------------------------------


def push(out: OutgoingReturn) -> bool:
    """POST a return archive to the platform (raw body, bearer token)."""
    import http.client
    from urllib.parse import urlsplit

    url = getattr(settings, "PREFECTURE_RETURN_URL", "")
    token = getattr(settings, "PREFECTURE_RETURN_TOKEN", "")
    parts = urlsplit(url)
    error = ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        error = "PREFECTURE_RETURN_URL n'est pas configurée."
    else:
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=60)
        try:
            with out.archive.open("rb") as fh:
                conn.request(
                    "POST",
                    (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                    body=fh,
                    headers={
                        "Content-Type": "application/x-gzip",
                        "Content-Length": str(out.size),
                        "Authorization": f"Bearer {token}",
                        "X-Archive-Name": out.name,
                    },
                )
                response = conn.getresponse()
                body = response.read(2000).decode("utf-8", "replace")
            if response.status != 200:
                error = f"HTTP {response.status} : {body[:500]}"
        except OSError as exc:
            error = f"Plateforme injoignable : {exc}"
        finally:
            conn.close()
    OutgoingReturn.objects.filter(pk=out.pk).update(
        attempts=out.attempts + 1,
        last_error=error,
        sent_at=None if error else clock.now(),
    )
    if error:
        logger.warning("Retour %s non remis : %s", out.name, error)
    return not error
