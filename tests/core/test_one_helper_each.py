"""Every download is named by core.downloads and every CSV goes through core.csv_export: a new
view that builds the header or the CSV writer by hand fails here (ADR 0007)."""

import re
from pathlib import Path

import emegalis

SRC = Path(emegalis.__file__).resolve().parent
ALLOWED = {SRC / "core" / "downloads.py", SRC / "core" / "csv_export.py"}
PATTERNS = {
    "Content-Disposition written by hand": re.compile(r"""\[\s*["']Content-Disposition["']\s*\]"""),
    "csv.writer outside core.csv_export": re.compile(r"\bcsv\.(writer|DictWriter)\s*\("),
    "FileResponse outside core.downloads": re.compile(r"\bFileResponse\s*\("),
}


def test_downloads_and_csv_exports_use_the_core_helpers():
    found = []
    for path in SRC.rglob("*.py"):
        if path in ALLOWED:
            continue
        text = path.read_text(encoding="utf-8")
        for what, pattern in PATTERNS.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(SRC)}:{line}: {what}")
    assert found == []
