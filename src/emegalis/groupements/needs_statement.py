"""The « état des besoins par membre » joined to the DCE: XLSX and PDF, from a closed survey."""

import io
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from emegalis.core.pdf import DocumentBuilder, format_euros, format_number


@dataclass(frozen=True)
class Line:
    lot: int
    lot_title: str
    designation: str
    unit: str
    unit_price: Decimal
    quantities: dict[str, Decimal]  # member name → quantity

    @property
    def total(self) -> Decimal:
        return sum(self.quantities.values(), Decimal(0))


def xlsx(*, title: str, members: list[str], lines: list[Line]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "État des besoins"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True)
    sheet.append(["Lot", "Désignation", "Unité", "Prix unitaire estimé HT", *members, "Total"])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for line in lines:
        sheet.append(
            [
                f"{line.lot} — {line.lot_title}",
                line.designation,
                line.unit,
                float(line.unit_price),
                *(float(line.quantities.get(m, 0)) for m in members),
                float(line.total),
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pdf(*, title: str, coordinator: str, members: list[str], lines: list[Line]) -> bytes:
    doc = DocumentBuilder(title=f"État des besoins — {title}", author=coordinator)
    doc.title_line("État des besoins par membre")
    doc.paragraph(title, bold_label="Groupement :")
    doc.paragraph(coordinator, bold_label="Coordonnateur :")
    doc.paragraph(", ".join(members), bold_label="Membres :")
    for lot in sorted({line.lot for line in lines}):
        of_lot = [line for line in lines if line.lot == lot]
        doc.heading(f"Lot {lot} — {of_lot[0].lot_title}")
        rows = []
        for line in of_lot:
            detail = "; ".join(f"{m} : {format_number(line.quantities.get(m, 0))}" for m in members)
            rows.append(
                [
                    f"{line.designation} ({line.unit})",
                    detail,
                    format_number(line.total),
                    format_euros(line.total * line.unit_price),
                ]
            )
        doc.table(
            rows,
            header=["Article", "Quantités par membre", "Total", "Estimation HT"],
            col_widths_mm=[55, 65, 20, 30],
            align_right_columns=[2, 3],
        )
    return doc.build()
