"""Writes of the outgoing transmission: the envelope and its archive (tar.gz), the daily serial,
sending through the transport once the transaction is committed."""

from __future__ import annotations

import tempfile
from datetime import date

from django.core.files.base import File
from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import prefetch_related_objects

from emegalis.actes import conf
from emegalis.actes import protocol as p
from emegalis.actes.acts.services import classification_problem
from emegalis.actes.lifecycle import set_status
from emegalis.actes.models import (
    DailyCounter,
    Direction,
    Envelope,
    Transaction,
)
from emegalis.actes.outgoing import (
    message_name,
    outgoing_code,
    outgoing_message,
)
from emegalis.actes.protocol import TransactionType
from emegalis.actes.transmission.transport import TransportError, post_archive
from emegalis.core import clock, journal

S = p.ActStatus


def allocate_serial(*, siren: str, day: date) -> int:
    """The next envelope serial of an authority for the day, safe under concurrency: one
    atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (SQLite ≥ 3.35 and PostgreSQL).
    Must run inside the caller's transaction; past 9999 it raises (and the caller rolls back)."""
    table = DailyCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (siren, day, value) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (siren, day) DO UPDATE SET value = {table}.value + 1 RETURNING value",
            [siren, day],
        )
        value = cursor.fetchone()[0]
    counter = p.next_daily_counter(p.DailyCounter(day, value - 1) if value > 1 else None, day)
    return counter.value


ARCHIVE_IN_MEMORY = 16 * 1024 * 1024


def build_envelope(*, tx: Transaction) -> Envelope:
    """Build, validate and store the archive of a transaction (must hold its row lock)."""
    prefetch_related_objects([tx], "documents")  # read by the message and for the files
    org = tx.organisation
    code = outgoing_code(tx)
    day = clock.today()
    serial = allocate_serial(siren=org.siren, day=day)
    env_name = p.envelope_name(
        quadrigramme=conf.quadrigramme(), siren=org.siren, day=day, serial=serial
    )
    archive_name = p.archive_name_for_envelope(env_name, trigramme=conf.trigramme())
    msg_name = message_name(tx, code)
    message = outgoing_message(tx, code)
    creator = tx.created_by
    emails = [conf.return_email()]
    referent = None
    if creator is not None and creator.email and p.naming.EMAIL_RE.fullmatch(creator.email):
        emails.append(creator.email)
        referent = p.Referent(
            nom=p.latin1_safe(creator.get_full_name() or creator.email)[:100],
            email=creator.email,
        )
    envelope = p.EnveloppeCLMISILL(
        emetteur=p.IDCL(
            siren=org.siren,
            departement=org.departement,
            arrondissement=str(org.arrondissement if org.arrondissement is not None else 0),
            nature=org.insee_nature or "31",
        ),
        adresses_retour=tuple(emails),
        formulaires=(msg_name,),
        referent=referent,
    )
    files = {d.wire_name: d.file for d in tx.documents.all() if code not in ("3-2", "4-2")}
    opened = []
    try:
        streams = {}
        for name, f in files.items():
            f.open("rb")
            opened.append(f)
            streams[name] = f.file
        # Archives of usual size are built in memory, larger ones spill to a temporary file.
        with tempfile.SpooledTemporaryFile(max_size=ARCHIVE_IN_MEMORY) as out:
            size = p.write_archive(
                out,
                (env_name, envelope),
                {msg_name: message},
                streams,
                limits=conf.archive_limits(),
                schema=conf.schema(),
            )
            out.seek(0)
            env = Envelope(
                transaction=tx,
                message_code=code,
                siren=org.siren,
                day=day,
                serial=serial,
                name=env_name,
                archive_name=archive_name,
                archive_size=size,
            )
            env.archive.save(archive_name, File(out), save=False)
            env.save()
    finally:
        for f in opened:
            f.close()
    journal.record(
        action="actes.envelope.built",
        organisation=org,
        target=tx,
        payload={"archive": archive_name, "code": code, "size": size},
    )
    return env


class SendLater(Exception):
    """The archive could not be delivered this time; try again later."""

    def __init__(self, message: str, attempts: int):
        super().__init__(message)
        self.attempts = attempts


def _pending_envelope(tx: Transaction) -> Envelope | None:
    return tx.envelopes.filter(sent_at__isnull=True).order_by("-pk").first()


def send_transaction(*, transaction_id: int) -> str:
    """Build the archive if needed (1 → 2), then POST it (2 → 3; a letter's AR: 7 → 8).

    Idempotent: a transaction already transmitted is left alone; an archive already built is
    sent again as is (same name, same serial). Raises :class:`SendLater` on a transport error.
    """
    with db_transaction.atomic():
        tx = (
            Transaction.objects.select_for_update(of=("self",))
            .select_related("organisation", "acte", "reply_to", "created_by")
            .filter(pk=transaction_id)
            .first()
        )
        if tx is None:
            return "introuvable"
        needs_ar = tx.direction == Direction.IN and tx.status == S.DOCUMENT_RECU
        if tx.direction == Direction.OUT and tx.status == S.POSTE:
            if tx.type == TransactionType.TRANSMISSION_ACTE:
                problem = classification_problem(tx.organisation)
                if problem:
                    set_status(tx, S.ERREUR, message=problem)
                    tx.error_message = problem
                    tx.save(update_fields=["error_message"])
                    return "erreur"
            try:
                build_envelope(tx=tx)
            except (p.ProtocolError, OSError) as exc:
                message = getattr(exc, "message", str(exc))
                tx.error_message = f"Archive impossible à construire : {message}"
                tx.save(update_fields=["error_message"])
                set_status(tx, S.ERREUR, message=tx.error_message)
                return "erreur"
            set_status(tx, S.EN_ATTENTE_TRANSMISSION, message="Archive construite et validée")
        elif needs_ar and _pending_envelope(tx) is None and not tx.envelopes.exists():
            build_envelope(tx=tx)
        elif not (
            (tx.direction == Direction.OUT and tx.status == S.EN_ATTENTE_TRANSMISSION) or needs_ar
        ):
            return "rien à faire"
        env = _pending_envelope(tx)
        if env is None:
            return "rien à faire"
        env.post_started_at = env.post_started_at or clock.now()
        env.attempts += 1
        env.save(update_fields=["post_started_at", "attempts"])
    # The POST happens outside any database db_transaction.
    try:
        with env.archive.open("rb") as fh:
            status = post_archive(name=env.archive_name, file=fh, size=env.archive_size)
    except TransportError as exc:
        with db_transaction.atomic():
            Envelope.objects.filter(pk=env.pk).update(
                last_error=exc.message, http_status=exc.status
            )
            journal.record(
                action="actes.envelope.send_failed",
                organisation=tx.organisation,
                target=tx,
                payload={"archive": env.archive_name, "error": exc.message[:500]},
            )
        raise SendLater(exc.message, env.attempts) from None
    with db_transaction.atomic():
        tx = Transaction.objects.select_for_update().get(pk=tx.pk)
        now = clock.now()
        Envelope.objects.filter(pk=env.pk).update(sent_at=now, http_status=status, last_error="")
        if tx.sent_at is None:
            tx.sent_at = now
            tx.save(update_fields=["sent_at", "updated_at"])
        if tx.direction == Direction.IN and tx.status == S.DOCUMENT_RECU:
            set_status(tx, S.ACQUITTEMENT_ENVOYE, message="Accusé de réception envoyé")
        elif tx.direction == Direction.OUT and tx.status == S.EN_ATTENTE_TRANSMISSION:
            set_status(tx, S.TRANSMIS, message=f"Archive remise (HTTP {status})")
        journal.record(
            action="actes.envelope.sent",
            organisation=tx.organisation,
            target=tx,
            payload={"archive": env.archive_name, "http_status": status},
        )
    return "envoyé"


def pending_sends() -> list[int]:
    """Transactions waiting to be (re)sent: for the recovery command after an outage."""
    out = Transaction.objects.filter(
        direction=Direction.OUT, status__in=[S.POSTE, S.EN_ATTENTE_TRANSMISSION]
    ) | Transaction.objects.filter(direction=Direction.IN, status=S.DOCUMENT_RECU)
    return list(out.order_by("pk").values_list("pk", flat=True))
