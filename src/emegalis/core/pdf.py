"""Shared PDF helpers: French formatting, a simple document builder (reportlab) and checks
of uploaded PDFs (pypdf).

Documents are built in memory with the standard Helvetica fonts (WinAnsi encoding: every
French letter, « », € and ’ are in it), so no font file is needed and the text reads back
exactly with pypdf. Spaces in amounts are plain U+0020 spaces: they survive extraction and
copy-paste, where a narrow no-break space would not exist in the font.
"""

import contextlib
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from django.core.exceptions import ValidationError
from django.utils import timezone
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

CENT = Decimal("0.01")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
# Characters outside the standard fonts' encoding, replaced by their nearest printable form.
_UNPRINTABLE = str.maketrans({"\u202f": " ", "\u00a0": " ", "\u2009": " ", "\u2011": "-"})


# --- Formatting -------------------------------------------------------------------------------


def to_cents(value: Decimal | int | str) -> Decimal:
    """Round an amount to the cent, halves away from zero (the accounting rule)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_number(value: Decimal | int | str) -> str:
    """French notation with two decimals: « 3 000,00 » (plain spaces between thousands)."""
    amount = to_cents(value)
    sign = "-" if amount < 0 else ""
    units, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while len(units) > 3:
        groups.insert(0, units[-3:])
        units = units[:-3]
    groups.insert(0, units)
    return f"{sign}{' '.join(groups)},{cents}"


def format_euros(value: Decimal | int | str, suffix: str = "") -> str:
    """« 3 000,00 € », or « 3 000,00 € HT » with suffix="HT"."""
    text = f"{format_number(value)} €"
    return f"{text} {suffix}" if suffix else text


def local_second(moment: datetime) -> str:
    """« 12/03/2027 à 11:59:59 » in Europe/Paris."""
    return timezone.localtime(moment).strftime("%d/%m/%Y à %H:%M:%S")


def format_date(value: date) -> str:
    """« 1er janvier 2026 », « 28 novembre 2026 »."""
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


def printable(text: str) -> str:
    """Text safe for a Paragraph: markup escaped, unprintable spaces replaced."""
    return escape(str(text).translate(_UNPRINTABLE))


# --- Building -------------------------------------------------------------------------------


class DocumentBuilder:
    """A small wrapper over platypus for the platform's letters and certificates.

    Usage: `doc = DocumentBuilder(title=…)`, then `heading`, `paragraph`, `table`, `spacer`,
    and `doc.build()` returns the PDF bytes.
    """

    def __init__(self, *, title: str, author: str = "e-mégalis", subject: str = ""):
        self.title = title
        self.author = author
        self.subject = subject
        self.story: list = []
        base = getSampleStyleSheet()
        self.styles = {
            "title": ParagraphStyle(
                "em-title", parent=base["Title"], fontName="Helvetica-Bold", fontSize=16
            ),
            "heading": ParagraphStyle(
                "em-heading",
                parent=base["Heading2"],
                fontName="Helvetica-Bold",
                fontSize=12,
                spaceBefore=8,
                spaceAfter=4,
            ),
            "body": ParagraphStyle(
                "em-body", parent=base["BodyText"], fontName="Helvetica", fontSize=10, leading=13
            ),
            "small": ParagraphStyle(
                "em-small", parent=base["BodyText"], fontName="Helvetica", fontSize=8, leading=10
            ),
            "right": ParagraphStyle(
                "em-right",
                parent=base["BodyText"],
                fontName="Helvetica",
                fontSize=10,
                alignment=TA_RIGHT,
            ),
        }

    def title_line(self, text: str) -> None:
        self.story.append(Paragraph(printable(text), self.styles["title"]))

    def heading(self, text: str) -> None:
        self.story.append(Paragraph(printable(text), self.styles["heading"]))

    def paragraph(self, text: str, *, style: str = "body", bold_label: str = "") -> None:
        """A paragraph of plain text; `bold_label` is printed in bold before it."""
        body = printable(text)
        if bold_label:
            body = f"<b>{printable(bold_label)}</b> {body}"
        self.story.append(Paragraph(body, self.styles[style]))

    def lines(self, lines: Iterable[str], *, style: str = "body") -> None:
        """Several short lines in one block (an address)."""
        text = "<br/>".join(printable(line) for line in lines if line)
        self.story.append(Paragraph(text, self.styles[style]))

    def spacer(self, height_mm: float = 5) -> None:
        self.story.append(Spacer(1, height_mm * mm))

    def image(self, data: bytes, *, width_mm: float, height_mm: float) -> None:
        """A picture (PNG or JPEG bytes, already checked by the caller), left-aligned."""
        picture = Image(io.BytesIO(data), width=width_mm * mm, height=height_mm * mm)
        picture.hAlign = "LEFT"
        self.story.append(picture)

    def table(
        self,
        rows: Sequence[Sequence[str]],
        *,
        header: Sequence[str] | None = None,
        col_widths_mm: Sequence[float] | None = None,
        align_right_columns: Sequence[int] = (),
        bold_last_row: bool = False,
    ) -> None:
        """A bordered table of plain strings; each cell is drawn as one run of text."""
        # Cells are drawn as-is (no markup): only replace the characters the font lacks.
        data = [
            [str(cell).translate(_UNPRINTABLE) for cell in row]
            for row in ([header] if header else []) + list(rows)
        ]
        widths = [w * mm for w in col_widths_mm] if col_widths_mm else None
        table = Table(data, colWidths=widths, repeatRows=1 if header else 0)
        style = [
            ("FONTNAME", (0, 0), (-1, -1), "Helvetica"),
            ("FONTSIZE", (0, 0), (-1, -1), 10),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
        if header:
            style += [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf5")),
            ]
        for column in align_right_columns:
            style.append(("ALIGN", (column, 0), (column, -1), "RIGHT"))
        if bold_last_row:
            style.append(("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"))
        table.setStyle(TableStyle(style))
        self.story.append(table)

    def build(self) -> bytes:
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=20 * mm,
            rightMargin=20 * mm,
            topMargin=18 * mm,
            bottomMargin=18 * mm,
            title=self.title,
            author=self.author,
            subject=self.subject,
            creator="e-mégalis",
        )
        doc.build(self.story, onFirstPage=self._footer, onLaterPages=self._footer)
        return buffer.getvalue()

    def _footer(self, canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(20 * mm, 10 * mm, self.title.translate(_UNPRINTABLE))
        canvas.drawRightString(A4[0] - 20 * mm, 10 * mm, f"Page {doc.page}")
        canvas.restoreState()


# --- Reading and checking -----------------------------------------------------------------------

NOT_A_PDF = "Le fichier n'est pas un PDF valide : déposez le document signé au format PDF."
DAMAGED_PDF = (
    "Le PDF est endommagé ou incomplet (il ne peut pas être lu) : déposez de nouveau le "
    "document complet."
)


def check_pdf(file) -> int:
    """Refuse anything that is not a complete, readable PDF; return its page count.

    Reads the header, the end-of-file marker and lets pypdf parse the cross-reference table and
    every page object, in strict mode. `file` is any seekable binary file object; it is left at
    position 0.
    """
    try:
        file.seek(0)
        head = file.read(1024)
        if not head.startswith(b"%PDF-"):
            raise ValidationError(NOT_A_PDF, code="not_pdf")
        file.seek(0, io.SEEK_END)
        size = file.tell()
        file.seek(max(0, size - 2048))
        if b"%%EOF" not in file.read():
            raise ValidationError(DAMAGED_PDF, code="damaged_pdf")
        file.seek(0)
        reader = PdfReader(file, strict=True)
        pages = len(reader.pages)
        for page in reader.pages:
            page.mediabox  # noqa: B018 — touching each page object proves it resolves
        if pages == 0:
            raise ValidationError(DAMAGED_PDF, code="damaged_pdf")
    except ValidationError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise ValidationError(DAMAGED_PDF, code="damaged_pdf") from exc
    finally:
        with contextlib.suppress(OSError, ValueError):
            file.seek(0)
    return pages


def extract_text(data: bytes) -> str:
    """All the text of a PDF, page after page (used by tests and checks)."""
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)
