"""Bad input is refused with a clear French message, stores nothing and never gives a 500:
through the act form, the client API, the return endpoint and the prefecture's endpoint."""

import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.actes.models import Document, IncomingArchive, Transaction
from emegalis.core import clock
from emegalis.prefecture.models import ReceivedArchive
from tests.actes.helpers import acte_form

from .helpers import pdf_bytes, tar_gz

pytestmark = pytest.mark.django_db

XXE = b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<r>&x;</r>'


def media_files(settings):
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def post_form(client, **overrides):
    return client.post("/actes/nouveau/", acte_form(**overrides))


def assert_refused(response, message, settings):
    assert response.status_code == 400, response.status_code
    page = response.content.decode()
    assert message in page, page[page.find("invalid-feedback") - 200 :][:1500]
    assert Transaction.objects.count() == 0
    assert Document.objects.count() == 0
    assert media_files(settings) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"document": SimpleUploadedFile("faux.pdf", b"Ceci est un texte, pas un PDF.")},
            "pas un PDF valide",
        ),
        (
            {"document": SimpleUploadedFile("abime.pdf", pdf_bytes()[:700])},
            "endommagé ou incomplet",
        ),
        ({"document": SimpleUploadedFile("vide.pdf", b"")}, "vide"),
        ({"numero_interne": "DÉL 2026/01"}, "caractères interdits"),
        ({"numero_interne": "_DEL2026"}, "ni commencer ni finir"),
        ({"numero_interne": "A" * 16}, "dépasse 15 caractères"),
        ({"objet": "x" * 501}, "500"),
        ({"objet": "Délibération sur l’œuvre"}, "Proposition"),
        ({"type_acte": "11_AE"}, "n&#x27;est pas autorisée pour la nature"),
        (
            {
                "annexe_1": SimpleUploadedFile("annexe.pdf", pdf_bytes()),
                "type_pj_1": "11_AE",
            },
            "n&#x27;est pas autorisée pour la nature",
        ),
        (
            {"annexe_1": SimpleUploadedFile("entite.xml", XXE), "type_pj_1": "21_DE"},
            "refusé par sécurité",
        ),
        (
            {"annexe_1": SimpleUploadedFile("photo.png", b"GIF89a..."), "type_pj_1": "21_DE"},
            "pas une image PNG",
        ),
        ({"document": SimpleUploadedFile("budget.xml", b"<budget/>")}, "XML n&#x27;est admis"),
        ({"classification": "1"}, "Sélectionnez un choix valide"),
        ({"classification": "9.9"}, "Sélectionnez un choix valide"),
    ],
    ids=[
        "not-a-pdf",
        "corrupted-pdf",
        "empty-file",
        "numero-bad-characters",
        "numero-underscore",
        "numero-too-long",
        "objet-too-long",
        "objet-not-latin1",
        "typology-not-allowed",
        "annex-typology-not-allowed",
        "xml-external-entity",
        "fake-png",
        "xml-main-outside-budget",
        "classification-level-1-only",
        "classification-unknown",
    ],
)
def test_the_form_refuses_bad_input(agent_client, wire, settings, overrides, message):
    assert_refused(post_form(agent_client, **overrides), message, settings)
    assert wire.sent == []


def test_a_future_decision_date_is_refused(agent_client, wire, settings):
    tomorrow = clock.today() + timedelta(days=1)
    response = post_form(agent_client, decision_date=tomorrow.isoformat())
    assert_refused(response, "ne peut pas être postérieure à aujourd", settings)


def test_a_number_already_used_is_refused(agent_client, wire, settings, run_commits):
    with run_commits():
        assert post_form(agent_client).status_code == 302
    response = post_form(agent_client)
    assert response.status_code == 400
    assert "déjà été utilisé" in response.content.decode()
    assert Transaction.objects.filter(type=1).count() == 1


def test_the_return_endpoint_refuses_unsafe_archives(client, settings):
    auth = {"HTTP_AUTHORIZATION": "Bearer jeton-retour-de-test"}
    evil = tar_gz({"../../etc/cron.d/x": b"boom"})
    response = client.post("/actes/retour/", evil, content_type="application/x-gzip", **auth)
    assert response.status_code == 400
    assert "remonte dans l" in response.content.decode()

    bomb = tar_gz({"bombe.xml": b"\0" * (30 * 1024 * 1024)})
    response = client.post("/actes/retour/", bomb, content_type="application/x-gzip", **auth)
    assert response.status_code == 400
    assert "bombe de décompression" in response.content.decode()

    xxe = tar_gz({"TACT--PREF056-000000000-20260101-1.xml": XXE})
    response = client.post("/actes/retour/", xxe, content_type="application/x-gzip", **auth)
    assert response.status_code == 400
    assert "refusé par sécurité" in response.content.decode()

    response = client.post(
        "/actes/retour/", os.urandom(2000), content_type="application/x-gzip", **auth
    )
    assert response.status_code == 400
    # Each raw return is kept with its error; nothing was applied.
    assert IncomingArchive.objects.exclude(error="").count() == 4
    assert not IncomingArchive.objects.filter(error="").exists()


def test_the_return_endpoint_needs_its_token(client):
    response = client.post("/actes/retour/", b"x", content_type="application/x-gzip")
    assert response.status_code == 401
    response = client.post(
        "/actes/retour/", b"x", content_type="application/x-gzip", HTTP_AUTHORIZATION="Bearer non"
    )
    assert response.status_code == 401
    assert IncomingArchive.objects.count() == 0


def test_the_prefecture_endpoint_refuses_unsafe_archives(client):
    for data, message in [
        (tar_gz({"a/../../x.xml": b"<x/>"}), "remonte dans l"),
        (tar_gz({"bombe.pdf": b"\0" * (30 * 1024 * 1024)}), "bombe"),
        (b"not a gzip at all", "pas une archive .tar.gz"),
    ]:
        upload = SimpleUploadedFile("x.tar.gz", data)
        response = client.post("/prefecture/depot/", {"enveloppe": upload})
        assert response.status_code == 400
        body = response.content.decode()
        assert body.startswith("KO") and message in body
    assert ReceivedArchive.objects.count() == 0


def test_the_api_refuses_bad_input_with_ko(api_client, settings):
    response = api_client.post(
        "/modules/actes/actes_transac_create.php",
        {
            "nature_code": "1",
            "classif1": "5",
            "classif2": "2",
            "number": "DEL 01",
            "decision_date": "2026-01-15",
            "subject": "Objet",
            "type_acte": "99_DE",
            "acte_pdf_file": SimpleUploadedFile("a.pdf", b"%PDF-1.4 garbage"),
        },
    )
    assert response.status_code == 200
    lines = response.content.decode("iso-8859-1").splitlines()
    assert lines[0] == "KO"
    assert "caractères interdits" in lines[1] and "endommagé" in lines[1]
    assert Transaction.objects.count() == 0 and media_files(settings) == []


def test_the_api_refuses_more_typologies_than_annexes(api_client):
    response = api_client.post(
        "/modules/actes/actes_transac_create.php",
        {
            "nature_code": "1",
            "classif1": "5",
            "classif2": "2",
            "number": "DEL01",
            "decision_date": "2026-01-15",
            "subject": "Objet",
            "type_acte": "99_DE",
            "type_pj[]": ["21_DE", "22_DE"],
            "acte_pdf_file": SimpleUploadedFile("a.pdf", pdf_bytes()),
            "acte_attachments[]": [SimpleUploadedFile("b.pdf", pdf_bytes())],
        },
    )
    assert response.content.decode("iso-8859-1").startswith("KO\ntype_pj[]")
    assert Transaction.objects.count() == 0


def test_large_uploads_are_refused_before_reading(agent_client, settings):
    settings.ACTES_ARCHIVE_MAX_BYTES = 1024
    big = SimpleUploadedFile("gros.pdf", b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024))
    response = agent_client.post("/actes/nouveau/", acte_form(document=big), follow=True)
    assert "ne peut dépasser" in response.content.decode()
    assert Transaction.objects.count() == 0


def test_no_file_stays_in_storage_when_the_database_refuses(agent_client, settings, monkeypatch):
    """A failure after files were written (here: the journal) removes them again."""
    from emegalis import core as emegalis_core

    def boom(**kwargs):
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(emegalis_core.journal, "record", boom)
    with pytest.raises(RuntimeError):
        post_form(agent_client)
    assert Transaction.objects.count() == 0
    assert media_files(settings) == []


def test_every_format_error_shows_at_once(agent_client, settings):
    response = agent_client.post(
        "/actes/nouveau/", {"numero_interne": "DÉL 1", "decision_date": "2099-01-01"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "caractères interdits" in page and "postérieure à aujourd" in page
    assert "Ce champ est obligatoire" in page
    assert Transaction.objects.count() == 0


# --- Outside tester's findings (issue 9, §3 A) -------------------------------------------------


@pytest.mark.parametrize("decision_date", ["1800-01-01", "1982-03-01", "0001-01-01"])
def test_a_decision_date_before_1982_is_refused_with_the_reason(
    agent_client, wire, settings, decision_date
):
    response = post_form(agent_client, decision_date=decision_date)
    assert_refused(response, "loi n° 82-213 du 2 mars 1982", settings)


def test_a_decision_date_on_the_floor_is_accepted(agent_client, wire, run_commits):
    with run_commits():
        response = post_form(agent_client, decision_date="1982-03-02")
    assert response.status_code == 302
    assert Transaction.objects.get(type=1).decision_date.isoformat() == "1982-03-02"


def _api_create(api_client, **overrides):
    data = {
        "nature_code": "1",
        "classif1": "5",
        "classif2": "2",
        "number": "DEL01",
        "decision_date": "2026-01-15",
        "subject": "Objet",
        "type_acte": "99_DE",
        "acte_pdf_file": SimpleUploadedFile("a.pdf", pdf_bytes()),
    }
    data.update(overrides)
    return api_client.post("/modules/actes/actes_transac_create.php", data)


@pytest.mark.parametrize("decision_date", ["1800-01-01", "01/01/1800"])
def test_the_legacy_api_refuses_a_decision_date_before_1982(api_client, settings, decision_date):
    response = _api_create(api_client, decision_date=decision_date)
    lines = response.content.decode("iso-8859-1").splitlines()
    assert lines[0] == "KO"
    assert "decision_date" in lines[1] and "2 mars 1982" in lines[1]
    assert Transaction.objects.count() == 0 and media_files(settings) == []


def test_the_service_refuses_a_decision_date_before_1982(agent, commune):
    from datetime import date

    from django.core.exceptions import ValidationError

    from emegalis.actes import documents
    from emegalis.actes.acts import services as acts_services

    from .helpers import pdf_upload

    data = acts_services.ActeInput(
        nature=1,
        numero_interne="DEL01",
        decision_date=date(1800, 1, 1),
        objet="Objet",
        matieres=[5, 2],
        document=documents.Upload.of(pdf_upload(), "99_DE"),
    )
    with pytest.raises(ValidationError) as caught:
        acts_services.create_acte(actor=agent, organisation=commune, data=data)
    assert "2 mars 1982" in " ".join(caught.value.message_dict["decision_date"])


@pytest.mark.parametrize("number", ["DEL01\n", "DEL01\r\n", "DEL\n01"])
def test_a_number_with_a_line_break_is_refused(number):
    from emegalis.actes import protocol as p

    with pytest.raises(p.NamingError):
        p.check_numero_interne(number)


def test_the_legacy_api_refuses_a_number_with_a_line_break(api_client, settings):
    response = _api_create(api_client, number="DEL\n01")
    lines = response.content.decode("iso-8859-1").splitlines()
    assert lines[0] == "KO" and "number" not in lines[0]
    assert Transaction.objects.count() == 0
