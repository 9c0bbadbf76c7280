"""CSV cells a spreadsheet would run as formulas are neutralised (OWASP « CSV injection »)."""

import csv
import io

import pytest

from emegalis.core import csv_export


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+33 1 02 03 04 05", "'+33 1 02 03 04 05"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Armor Bâtiment", "Armor Bâtiment"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_neutralise(value, expected):
    assert csv_export.neutralise(value) == expected


def test_the_writer_neutralises_every_cell_and_keeps_the_dialect():
    stream = io.StringIO()
    writer = csv_export.writer(stream, delimiter=";")
    writer.writerow(["=1+1", "ok", "@x"])
    writer.writerows([["-1", "a;b"]])
    rows = list(csv.reader(io.StringIO(stream.getvalue()), delimiter=";"))
    assert rows == [["'=1+1", "ok", "'@x"], ["'-1", "a;b"]]
