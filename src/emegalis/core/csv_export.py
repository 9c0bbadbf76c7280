"""Writing CSV files that users open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` is read as a formula by Excel and
LibreOffice (tab and carriage return lead there too): a company named
``=cmd|' /C calc'!A0`` would run a command on the buyer's computer when the register is
opened (« CSV injection », OWASP). Every CSV export of the platform writes its rows through
:func:`writer`, which prefixes such cells with a single quote, as OWASP recommends: the
spreadsheet then shows the text as typed and never evaluates it.
"""

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: Any) -> str:
    """The cell's text, prefixed with « ' » when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through :func:`neutralise`."""

    def __init__(self, stream, **kwargs):
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream, **kwargs) -> SafeWriter:
    """Like ``csv.writer(stream, **kwargs)``, safe to open in a spreadsheet."""
    return SafeWriter(stream, **kwargs)
