"""The stamped PDF (*tampon*, brief §9): the act's first page with a box naming the dates of
transmission and reception, the publication date if any, and the unique identifier.

The box is drawn by reportlab on a transparent page the size of the act's first page, then
merged onto it with pypdf. The original file is never changed: the stamped copy is generated on
demand. A failure raises :class:`StampError` — never a silent unstamped PDF (S²LOW does that)."""

from __future__ import annotations

import io
from datetime import date
from typing import BinaryIO

from django.utils import timezone
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from reportlab.lib import colors
from reportlab.pdfgen import canvas

BOX_X, BOX_Y, BOX_W, BOX_H = 10, 10, 190, 55


class StampError(Exception):
    pass


def stamp_lines(
    *, sent_on: date | None, received_on: date | None, published_on: date | None, id_acte: str
) -> list[str]:
    lines = []
    if sent_on:
        lines.append(f"Envoyé en préfecture le {sent_on:%d/%m/%Y}")
    if received_on:
        lines.append(f"Reçu en préfecture le {received_on:%d/%m/%Y}")
    if published_on:
        lines.append(f"Publié le {published_on:%d/%m/%Y}")
    lines.append(f"ID : {id_acte}")
    return lines


def _overlay(width: float, height: float, lines: list[str]) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width, height))
    c.saveState()
    c.setFillColor(colors.white, alpha=0.8)
    c.setStrokeColor(colors.HexColor("#1f3a68"))
    c.setLineWidth(0.8)
    c.rect(BOX_X, BOX_Y, BOX_W, BOX_H, fill=1, stroke=1)
    c.restoreState()
    c.setFillColor(colors.black)
    c.setFont("Helvetica-Bold", 7)
    c.drawString(BOX_X + 6, BOX_Y + BOX_H - 11, "Contrôle de légalité — e-mégalis")
    c.setFont("Helvetica", 7)
    y = BOX_Y + BOX_H - 21
    for line in lines:
        c.drawString(BOX_X + 6, y, line)
        y -= 9
    c.showPage()
    c.save()
    return buf.getvalue()


def stamp_pdf(
    source: bytes | BinaryIO,
    *,
    sent_on: date | None,
    received_on: date | None,
    published_on: date | None = None,
    id_acte: str,
) -> bytes:
    """The stamped copy of ``source`` (the box goes on the first page, bottom left)."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    lines = stamp_lines(
        sent_on=sent_on, received_on=received_on, published_on=published_on, id_acte=id_acte
    )
    try:
        reader = PdfReader(stream)
        writer = PdfWriter(clone_from=reader)
        first = writer.pages[0]
        box = first.mediabox
        stamp_page = PdfReader(io.BytesIO(_overlay(float(box.width), float(box.height), lines)))
        first.merge_page(stamp_page.pages[0])
        out = io.BytesIO()
        writer.write(out)
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, OSError) as exc:
        raise StampError(f"Impossible d'apposer le tampon sur ce PDF : {exc}") from exc
    return out.getvalue()


def stamp_acte_file(source: bytes | BinaryIO, acte, published_on: date | None = None) -> bytes:
    """``source`` (one of ``acte``'s PDFs) stamped with the act's dates and identifier; the
    publication date given, or the act's own."""
    sent_at = acte.sent_at
    return stamp_pdf(
        source,
        sent_on=timezone.localdate(sent_at) if sent_at else None,
        received_on=acte.date_reception,
        published_on=published_on or acte.published_on,
        id_acte=acte.id_acte,
    )
