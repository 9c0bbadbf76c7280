"""The needs sheet: a member downloads it pre-filled, fills column F, uploads it back.

Only a sheet with exactly the layout we made is read back: one worksheet « Besoins », the
same header, the same references in column A in the same order, a value in column F alone,
no formula and no macro. Every problem is named by its cell, in French."""

import io
import zipfile
from decimal import Decimal

from django.core.exceptions import ValidationError
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, Protection
from openpyxl.utils.exceptions import InvalidFileException

SHEET = "Besoins"
HEADER = ("Réf.", "Lot", "Désignation", "Unité", "Prix unitaire estimé HT", "Quantité")
QUANTITY_COLUMN = 6
MAX_BYTES = 5 * 1024 * 1024


def build(
    *, title: str, member: str, rows: list[tuple[int, int, str, str, Decimal, Decimal]]
) -> bytes:
    """rows: (item id, lot number, designation, unit, unit price, quantity already entered)."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for item_id, lot, designation, unit, price, quantity in rows:
        sheet.append([item_id, lot, designation, unit, float(price), float(quantity)])
        sheet.cell(row=sheet.max_row, column=QUANTITY_COLUMN).protection = Protection(locked=False)
    sheet.protection.sheet = True  # only the quantities are meant to be typed
    sheet.column_dimensions["C"].width = 50
    sheet.column_dimensions["E"].width = 22
    book.properties.title = f"{title} — {member}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, code="bad_xlsx")


def parse(data: bytes, *, item_ids: list[int]) -> dict[int, object]:
    """The quantities of an uploaded sheet (item id → raw cell value), or a ValidationError
    listing every problem with its cell."""
    if len(data) > MAX_BYTES:
        raise _refuse("Le fichier dépasse 5 Mo : ce n'est pas la feuille de besoins téléchargée.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        raise _refuse("Ce fichier n'est pas un classeur Excel (.xlsx).") from None
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise _refuse("Le classeur contient des macros : déposez un fichier .xlsx sans macro.")
    try:
        book = load_workbook(io.BytesIO(data), data_only=False, read_only=False)
    except (InvalidFileException, KeyError, ValueError, OSError, zipfile.BadZipFile):
        raise _refuse("Ce fichier n'est pas un classeur Excel (.xlsx) lisible.") from None
    except Exception:  # openpyxl raises many kinds on a damaged archive
        raise _refuse("Ce fichier n'est pas un classeur Excel (.xlsx) lisible.") from None
    if book.sheetnames != [SHEET]:
        raise _refuse(
            f"Le classeur doit contenir la seule feuille « {SHEET} » ; il contient : "
            f"{', '.join(book.sheetnames)}."
        )
    sheet = book[SHEET]
    errors = []
    header = tuple(sheet.cell(row=1, column=c).value for c in range(1, len(HEADER) + 1))
    if header != HEADER:
        errors.append("Ligne 1 : l'en-tête a été modifié ; téléchargez à nouveau la feuille.")
    if sheet.max_column > len(HEADER):
        for row in sheet.iter_rows(min_col=len(HEADER) + 1):
            for cell in row:
                if cell.value not in (None, ""):
                    errors.append(f"Cellule {cell.coordinate} : hors du tableau, à vider.")
    quantities: dict[int, object] = {}
    expected_rows = len(item_ids) + 1
    for row in sheet.iter_rows(min_row=2, max_row=max(sheet.max_row, expected_rows)):
        for cell in row:
            if cell.data_type == "f":
                errors.append(f"Cellule {cell.coordinate} : les formules ne sont pas acceptées.")
        index = row[0].row - 2
        reference = row[0].value
        if index >= len(item_ids):
            if any(cell.value not in (None, "") for cell in row):
                errors.append(f"Ligne {row[0].row} : ligne ajoutée au tableau, à supprimer.")
            continue
        if reference != item_ids[index]:
            errors.append(
                f"Cellule A{row[0].row} : référence {reference!r} au lieu de "
                f"{item_ids[index]} ; ne changez pas l'ordre des lignes."
            )
            continue
        quantities[item_ids[index]] = (f"F{row[0].row}", row[QUANTITY_COLUMN - 1].value)
    if errors:
        raise ValidationError(errors[:50], code="bad_xlsx")
    return quantities
