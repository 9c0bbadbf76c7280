"""The one helper that names downloads: safe whatever the name holds (issue 9, §3 A)."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.http import Http404, HttpResponse

from emegalis.core.downloads import (
    ascii_filename,
    attachment,
    clean_filename,
    content_disposition,
    name_download,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("registre.csv", 'attachment; filename="registre.csv"'),
        (
            "Règlement de consultation.pdf",
            'attachment; filename="Reglement de consultation.pdf"; '
            "filename*=UTF-8''R%C3%A8glement%20de%20consultation.pdf",
        ),
        (
            'REF\r\nSet-Cookie: x=1 "q".csv',
            'attachment; filename="REF Set-Cookie_ x=1 _q_.csv"; '
            "filename*=UTF-8''REF%20Set-Cookie%3A%20x%3D1%20%22q%22.csv",
        ),
        ("../../etc/passwd", 'attachment; filename="-..-etc-passwd"'),
        (
            "C:\\Users\\x.pdf",
            "attachment; filename=\"C_-Users-x.pdf\"; filename*=UTF-8''C%3A-Users-x.pdf",
        ),
        ("", 'attachment; filename="fichier"'),
        ("\n\t", 'attachment; filename="fichier"'),
    ],
)
def test_content_disposition(name, expected):
    assert content_disposition(name) == expected


def test_invisible_characters_never_reach_the_name():
    # U+202E (right-to-left override) would show « facture.pdf » for « facture\u202efdp.exe ».
    assert clean_filename("facture\u202efdp.exe") == "facture fdp.exe"
    assert clean_filename("a\u200bb\u2028c\x00d\x7fe\x85f.txt") == "a b c d e f.txt"


def test_inline_and_non_latin_names():
    value = content_disposition("合同.pdf", inline=True)
    assert value == "inline; filename=\"__.pdf\"; filename*=UTF-8''%E5%90%88%E5%90%8C.pdf"
    assert ascii_filename("Œuvre déjà vue.odt") == "OEuvre deja vue.odt"


def test_long_names_keep_their_extension():
    name = clean_filename("x" * 500 + ".pdf")
    assert len(name) == 200 and name.endswith(".pdf")


@pytest.mark.parametrize("name", ["a\nb", "a\rb", 'é\r\n"x".zip', "\x00"])
def test_a_response_accepts_every_name(name):
    response = name_download(HttpResponse(b"x"), name)
    value = response["Content-Disposition"]
    assert "\n" not in value and "\r" not in value
    value.encode("ascii")


def test_attachment_streams_a_stored_file_under_a_safe_name(tmp_path):
    storage = FileSystemStorage(location=tmp_path)
    stored = storage.save("x.bin", ContentFile(b"%PDF-1.4"))

    class Field:
        name = stored

        def __bool__(self):
            return True

        def open(self, mode):
            return storage.open(stored, mode)

    response = attachment(Field(), "Délibération\n n°1.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="Deliberation n_1.pdf"')
    assert b"".join(response.streaming_content) == b"%PDF-1.4"
    response.file_to_stream.close()  # (response.close() would signal request_finished)


def test_attachment_of_a_missing_file_is_a_404(tmp_path):
    class Lost:
        def __bool__(self):
            return True

        def open(self, mode):
            raise FileNotFoundError

    with pytest.raises(Http404):
        attachment(Lost(), "x.pdf")
    with pytest.raises(Http404):
        attachment(None, "x.pdf")
