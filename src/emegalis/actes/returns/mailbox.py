r"""The return mailbox: the ministry answers by e-mail to the addresses of ``AdressesRetour``
(brief §10). The poller reads unseen messages over IMAP, keeps each raw mail, extracts the
``.tar.gz`` attachments and hands them to ``services.receive_return_archive`` (idempotent: the
same archive twice is recognised). « Multi-canal » notices (no archive) are ignored. A mail is
flagged \Seen only once every archive it carries has been stored, so a crash never loses one.

Settings: ACTES_IMAP_HOST, ACTES_IMAP_PORT, ACTES_IMAP_SSL, ACTES_IMAP_USER,
ACTES_IMAP_PASSWORD, ACTES_IMAP_FOLDER."""

from __future__ import annotations

import contextlib
import email
import email.policy
import hashlib
import imaplib
import io
import logging
import ssl
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from emegalis.actes.returns import services
from emegalis.core import clock

logger = logging.getLogger(__name__)


ARCHIVE_TYPES = {
    "application/x-gzip",
    "application/gzip",
    "application/x-tar",
    "application/octet-stream",
    "application/x-compressed-tar",
}


MAX_MAIL_BYTES = 200 * 1024 * 1024


@dataclass
class PollResult:
    mails: int = 0
    processed: int = 0
    ignored: int = 0
    errors: list[str] = field(default_factory=list)


def archives_in(raw: bytes) -> list[tuple[str, bytes]]:
    """The ``.tar.gz`` attachments of a raw e-mail, as (file name, bytes)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        ctype = part.get_content_type()
        if name.lower().endswith((".tar.gz", ".tgz")) or (
            ctype in ARCHIVE_TYPES and name.lower().endswith(".gz")
        ):
            payload = part.get_payload(decode=True) or b""
            if payload:
                found.append((name, payload))
    return found


def process_mail(raw: bytes, result: PollResult) -> bool:
    """Store every archive of one mail; True if the mail may be flagged as read."""
    archives = archives_in(raw)
    if not archives:
        result.ignored += 1  # e.g. a « multi-canal » notice
        return True
    ok = True
    for name, data in archives:
        try:
            services.receive_return_archive(source=io.BytesIO(data), channel="imap", name=name)
            result.processed += 1
        except ValidationError as exc:
            # An unsafe or unreadable archive is kept with its error: the mail is done.
            result.errors.append(f"{name} : {' '.join(exc.messages)}")
        except Exception as exc:  # noqa: BLE001 — keep polling; the mail stays unseen
            logger.exception("Retour %s non traité", name)
            result.errors.append(f"{name} : {exc}")
            ok = False
    return ok


def keep_raw(raw: bytes) -> str:
    """Every return mail is kept as received (its layout is [unconfirmed], brief §10)."""
    digest = hashlib.sha256(raw).hexdigest()
    name = f"actes/courriels/{clock.now():%Y/%m}/{digest[:24]}.eml"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(raw))
    return name


def connect() -> imaplib.IMAP4:
    host = settings.ACTES_IMAP_HOST
    if not host:
        raise RuntimeError("ACTES_IMAP_HOST n'est pas configuré.")
    port = int(settings.ACTES_IMAP_PORT)
    if settings.ACTES_IMAP_SSL:
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            host, port, ssl_context=ssl.create_default_context(), timeout=60
        )
    else:
        conn = imaplib.IMAP4(host, port, timeout=60)
    conn.login(settings.ACTES_IMAP_USER, settings.ACTES_IMAP_PASSWORD)
    return conn


def poll(conn: imaplib.IMAP4 | None = None) -> PollResult:
    """Read every unseen mail of the return folder once."""
    result = PollResult()
    own = conn is None
    conn = conn or connect()
    try:
        status, detail = conn.select(settings.ACTES_IMAP_FOLDER or "INBOX")
        if status != "OK":
            raise RuntimeError(f"Dossier IMAP introuvable : {detail}")
        status, data = conn.uid("SEARCH", None, "UNSEEN")
        uids = data[0].split() if status == "OK" and data and data[0] else []
        for uid in uids:
            status, size_data = conn.uid("FETCH", uid, "(RFC822.SIZE)")
            if status == "OK" and size_data and size_data[0]:
                text = size_data[0].decode() if isinstance(size_data[0], bytes) else ""
                digits = text.rsplit("RFC822.SIZE", 1)[-1].strip(" )")
                if digits.isdigit() and int(digits) > MAX_MAIL_BYTES:
                    result.errors.append(f"Message {uid.decode()} trop volumineux : ignoré.")
                    conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
                    continue
            status, msg_data = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            if status != "OK":
                result.errors.append(f"Message {uid.decode()} illisible.")
                continue
            raw = next(
                (part[1] for part in msg_data if isinstance(part, tuple) and len(part) > 1), b""
            )
            result.mails += 1
            keep_raw(raw)
            if process_mail(raw, result):
                conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    finally:
        if own:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                conn.logout()
    return result
