"""Verifying the journal against its chain and against every witness of its head (ADR 0005).

`verify()` walks the chain once (hashes, keyed hashes, no downgrade to unkeyed entries), then
holds it against each claim « the journal had reached entry n° N with hash H » made by:
the RFC 3161 anchors (rows and the tokens they carry), the signed documents recorded in
JournalWitness, the head-witness log outside the database, and any signed PDF given to it.
A journal shorter than a claim, or with another hash at a claimed entry, is tampered with.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from . import anchoring, journal, signing, witnesses
from .models import JournalAnchor, JournalEntry


@dataclass(frozen=True)
class Problem:
    index: int  # the first entry concerned (sort key)
    message: str


@dataclass
class Report:
    entries: int = 0
    last_entry: int | None = None
    anchors: int = 0
    claims: int = 0
    last_witnessed: int | None = None
    last_witness_source: str = ""
    problems: list[Problem] = field(default_factory=list)
    unreadable_log_lines: list[int] = field(default_factory=list)

    @property
    def first_problem(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.index, default=None)


@dataclass(frozen=True)
class Document:
    """A signed PDF given to verify() (name for the messages, bytes)."""

    name: str
    data: bytes


class DocumentError(ValueError):
    pass


def _document_head(document: Document) -> witnesses.Head:
    """The head a signed PDF carries, once its signature is checked to cover the whole file
    (so the head in its information is the one the platform signed)."""
    try:
        head = witnesses.head_of_pdf(document.data)
        reader = PdfFileReader(io.BytesIO(document.data))
        signatures = reader.embedded_signatures
    except (witnesses.UnreadableDocument, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(f"{document.name} : le fichier n'est pas un PDF lisible.") from exc
    if head is None:
        raise DocumentError(
            f"{document.name} : ce PDF ne porte pas de témoin du journal (document signé "
            "avant la mise en place des témoins, ou pas par la plateforme)."
        )
    if not signatures:
        raise DocumentError(f"{document.name} : ce PDF n'est pas signé.")
    # Trust our own signing certificate (or the local test root): what matters here is that
    # the signature is intact and covers the file, not the chain to a public root.
    cert_file = getattr(settings, "SIGNING_CERT_FILE", "")
    roots = [signing.load_certificate(Path(cert_file))] if cert_file else [signing.local_pki().root]
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    # A timestamping authority outside these roots is only « not trusted » here; pyHanko
    # logs that with a traceback, which would bury verify_journal's verdict.
    pyhanko_logger = logging.getLogger("pyhanko")
    level = pyhanko_logger.level
    pyhanko_logger.setLevel(logging.CRITICAL)
    try:
        status = signing.run_async(
            lambda: async_validate_pdf_signature(
                signatures[-1], signer_validation_context=context, ts_validation_context=context
            )
        )
    finally:
        pyhanko_logger.setLevel(level)
    if not (status.intact and status.valid):
        raise DocumentError(f"{document.name} : la signature du PDF ne se vérifie pas.")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        raise DocumentError(
            f"{document.name} : le PDF a été modifié après sa signature (le témoin qu'il "
            "porte n'est pas couvert par la signature)."
        )
    return head


def _claims(report: Report, documents: Sequence[Document]) -> dict[int, dict[str, str]]:
    """entry id → {hash: who claims it}; the first source of each claim is kept."""
    claims: dict[int, dict[str, str]] = {}

    def claim(entry_id: int, entry_hash: str, source: str) -> None:
        report.claims += 1
        claims.setdefault(entry_id, {}).setdefault(entry_hash, source)

    for document in documents:
        head = _document_head(document)
        claim(head.entry_id, head.entry_hash, f"le document signé {document.name}")
    for anchor in JournalAnchor.objects.order_by("id").iterator():
        report.anchors += 1
        claim(anchor.entry_id, anchor.entry_hash, f"l'ancrage horodaté n° {anchor.pk}")
        reason = anchoring.check_token(anchor)
        if reason:
            report.problems.append(Problem(anchor.entry_id, f"ancrage n° {anchor.pk} — {reason}"))
    for witness in witnesses.iter_db_witnesses():
        claim(
            witness.entry_id,
            witness.entry_hash,
            f"le document signé « {witness.description or witness.kind} » (témoin n° {witness.pk})",
        )
    logged, report.unreadable_log_lines = witnesses.read_log()
    labels = {"head": "entrée écrite", "anchor": "ancrage", "document": "document signé"}
    for line in logged:
        label = labels.get(line.kind, line.kind)
        claim(
            line.entry_id,
            line.entry_hash,
            f"la ligne {line.line} du registre des témoins ({label})",
        )
    return claims


def verify(*, documents: Sequence[Document] = ()) -> Report:
    report = Report()
    claims = _claims(report, documents)
    found: dict[int, str] = {}

    def walk() -> Iterator[JournalEntry]:
        for entry in JournalEntry.objects.order_by("id").iterator(chunk_size=2000):
            report.entries += 1
            report.last_entry = entry.pk
            if entry.pk in claims:
                found[entry.pk] = entry.entry_hash
            yield entry

    first_break = None
    for broken in journal.find_breaks(walk()):  # walks to the end: counts and claimed hashes
        first_break = first_break or broken
    if first_break is not None:
        report.problems.append(
            Problem(
                first_break.entry_id, f"entrée n° {first_break.entry_id} — {first_break.reason}"
            )
        )

    last = report.last_entry or 0
    beyond: tuple[int, str] | None = None  # the furthest claim past the journal's end
    for entry_id in sorted(claims):
        for claimed_hash, source in claims[entry_id].items():
            actual = found.get(entry_id)
            if entry_id > last:
                beyond = (entry_id, source)
            elif actual is None:
                report.problems.append(
                    Problem(
                        entry_id,
                        f"entrée n° {entry_id} — attestée par {source}, elle a disparu du journal",
                    )
                )
            elif actual != claimed_hash:
                report.problems.append(
                    Problem(
                        entry_id,
                        f"entrée n° {entry_id} — n'a plus l'empreinte attestée par {source} "
                        "(journal réécrit)",
                    )
                )
            elif report.last_witnessed is None or entry_id > report.last_witnessed:
                report.last_witnessed, report.last_witness_source = entry_id, source
    if beyond is not None:
        end = f"à l'entrée n° {last}" if last else "avant sa première entrée"
        report.problems.append(
            Problem(
                last + 1,
                f"entrées manquantes après le n° {last} — {beyond[1]} atteste l'entrée "
                f"n° {beyond[0]}, le journal s'arrête {end} (fin du journal supprimée)",
            )
        )
    return report
