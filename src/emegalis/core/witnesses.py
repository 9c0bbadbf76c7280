"""Witnesses of the journal's head that live outside the journal table (ADR 0005).

A hash chain proves an entry was changed; it cannot prove that entries at its end were
removed, nor that the whole tail was rewritten by someone who can recompute it. Witnesses can:
each one says « the journal had reached entry n° N, whose hash was H », and verify_journal
refuses a journal that is shorter than a witness or holds another hash at a witnessed entry.

The witnesses are:
- every PDF the platform signs (core/signing.sign_pdf): the head at signing time is printed at
  the foot of every page and written in the document information (``/EmegalisJournalEntry``,
  ``/EmegalisJournalHash``), covered by the signature. Companies and the prefecture hold these
  documents; a row of JournalWitness lists them for verify_journal;
- the head-witness log, a file outside the database (``JOURNAL_WITNESS_DIR``, by default
  ``VAR_DIR/journal``): one line, appended and fsynced after each commit, for every entry, for
  every signed document and for every RFC 3161 anchor (with its token);
- the RFC 3161 anchors (core/anchoring.py), made every minute when the journal grew and right
  after the legally significant events.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from . import clock
from .models import JournalEntry, JournalWitness

logger = logging.getLogger(__name__)

LOG_NAME = "journal-witnesses.log"
PDF_ENTRY_KEY = "/EmegalisJournalEntry"
PDF_HASH_KEY = "/EmegalisJournalHash"


@dataclass(frozen=True)
class Head:
    entry_id: int
    entry_hash: str

    def text(self) -> str:
        return (
            f"Journal e-mégalis à la signature : entrée n° {self.entry_id}, "
            f"empreinte {self.entry_hash}"
        )


def current_head() -> Head | None:
    """The last entry this transaction sees (its own entries included: a document signed in
    a transaction is only handed out once that transaction has committed)."""
    last = JournalEntry.objects.order_by("-id").values_list("id", "entry_hash").first()
    return Head(*last) if last else None


# --- The head-witness log (outside the database) -------------------------------------------------


def witness_dir() -> Path:
    return Path(getattr(settings, "JOURNAL_WITNESS_DIR", "") or settings.VAR_DIR / "journal")


def _append(record: dict) -> None:
    """Append one line and fsync it. A failure is logged, never raised: the event it
    witnesses is already committed (the next lines and the anchors still witness it)."""
    line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
    folder = witness_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_NAME
        created = not path.exists()
        # O_APPEND: several processes append whole lines, each write at the end of the file.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError:
        logger.exception("Journal head-witness log not written: %s", line.strip())


def _now() -> str:
    return clock.now().isoformat()


def log_head(entry_id: int, entry_hash: str) -> None:
    """Called after the commit of each journal entry (journal.record)."""
    _append({"kind": "head", "entry": entry_id, "hash": entry_hash, "at": _now()})


def log_anchor(*, entry_id: int, entry_hash: str, token: bytes, authority: str) -> None:
    _append(
        {
            "kind": "anchor",
            "entry": entry_id,
            "hash": entry_hash,
            "at": _now(),
            "authority": authority,
            "token": base64.b64encode(token).decode("ascii"),
        }
    )


@dataclass(frozen=True)
class LoggedWitness:
    line: int
    kind: str
    entry_id: int
    entry_hash: str
    record: dict


def read_log() -> tuple[list[LoggedWitness], list[int]]:
    """Every witness of the log files of the witness folder (rotated files included), and the
    numbers of the lines that could not be read."""
    witnesses, unreadable = [], []
    folder = witness_dir()
    if not folder.is_dir():
        return witnesses, unreadable
    for path in sorted(folder.glob(f"{LOG_NAME}*")):
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    record = json.loads(raw)
                    witnesses.append(
                        LoggedWitness(
                            number,
                            str(record["kind"]),
                            int(record["entry"]),
                            str(record["hash"]),
                            record,
                        )
                    )
                except (ValueError, KeyError, TypeError):
                    unreadable.append(number)
    return witnesses, unreadable


# --- Signed documents ---------------------------------------------------------------------------


def _overlay(width: float, height: float, text: str) -> bytes:
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, pagesize=(width, height))
    sheet.setFont("Helvetica", 6.5)
    sheet.setFillColor(colors.grey)
    sheet.drawString(min(20 * mm, width / 20), 5 * mm, text)
    sheet.save()
    return buffer.getvalue()


def mark_pdf(pdf: bytes, head: Head | None) -> bytes:
    """The PDF with the head printed at the foot of every page and written in its document
    information, ready to be signed (the signature then covers both)."""
    text = head.text() if head else "Journal e-mégalis à la signature : vide"
    reader = PdfReader(io.BytesIO(pdf))
    writer = PdfWriter(clone_from=reader)
    overlays: dict[tuple[float, float], object] = {}
    for page in writer.pages:
        size = (float(page.mediabox.width), float(page.mediabox.height))
        if size not in overlays:
            overlays[size] = PdfReader(io.BytesIO(_overlay(*size, text))).pages[0]
        page.merge_page(overlays[size])
    if head is not None:
        writer.add_metadata({PDF_ENTRY_KEY: str(head.entry_id), PDF_HASH_KEY: head.entry_hash})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def record_document(
    *,
    head: Head | None,
    signed_pdf: bytes,
    kind: str,
    object_type: str = "",
    object_id: object = "",
    description: str = "",
) -> JournalWitness | None:
    """Remember that a signed document carries the head: a row now, a log line on commit."""
    if head is None:
        return None
    document_sha256 = hashlib.sha256(signed_pdf).hexdigest()
    witness = JournalWitness.objects.create(
        kind=kind[:50],
        object_type=object_type[:100],
        object_id=str(object_id)[:100],
        description=description[:255],
        entry_id=head.entry_id,
        entry_hash=head.entry_hash,
        document_sha256=document_sha256,
        created_at=clock.now(),
    )
    line = {
        "kind": "document",
        "document": kind,
        "object": f"{object_type}:{object_id}" if object_type else str(object_id),
        "entry": head.entry_id,
        "hash": head.entry_hash,
        "sha256": document_sha256,
    }
    transaction.on_commit(lambda: _append({**line, "at": _now()}), robust=True)
    return witness


class UnreadableDocument(ValueError):
    pass


def head_of_pdf(data: bytes) -> Head | None:
    """The head a PDF signed by the platform carries in its document information."""
    try:
        info = PdfReader(io.BytesIO(data)).metadata or {}
        entry, entry_hash = info.get(PDF_ENTRY_KEY), info.get(PDF_HASH_KEY)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableDocument("Le fichier n'est pas un PDF lisible.") from exc
    if entry is None or entry_hash is None:
        return None
    try:
        return Head(int(str(entry)), str(entry_hash))
    except ValueError as exc:
        raise UnreadableDocument("Le témoin du journal de ce PDF est illisible.") from exc


def iter_db_witnesses() -> Iterator[JournalWitness]:
    return JournalWitness.objects.order_by("id").iterator()
