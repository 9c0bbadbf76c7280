"""The whole life of an act driven over real HTTP as Pastell's S2low connector drives it:
nounce, post, the agent's browser confirming, polling until the AR, the files list and the
stamped act at index 1, the AR and its date, the prefecture's letter listed, its archive
fetched and untarred, marked read, answered. The prefecture counterpart runs on the same live
server, so every archive really travels."""

import shutil
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from emegalis.actes import protocol as p
from emegalis.actes.models import Transaction
from emegalis.organisations.services import create_api_key
from emegalis.prefecture import services as prefecture_services
from emegalis.prefecture.models import ReceivedAct
from tests.actes.helpers import pdf_bytes, pdf_text

from .pastell_connector import PastellLikeConnector

pytestmark = pytest.mark.skipif(shutil.which("tar") is None, reason="tar est absent")


def test_pastell_drives_the_full_cycle(
    live_server, settings, commune, agent, prefect_agent, prefecture, tmp_path
):
    settings.ACTES_TRANSPORT_URL = f"{live_server.url}/prefecture/depot/"
    settings.PREFECTURE_RETURN_URL = f"{live_server.url}/actes/retour/"
    _, key = create_api_key(user=agent, organisation=commune, name="Pastell")
    tdt = PastellLikeConnector(live_server.url, agent.email, key)
    (tmp_path / "arrete.pdf").write_bytes(pdf_bytes("Délibération Pastell"))
    (tmp_path / "annexe 1.pdf").write_bytes(pdf_bytes("Annexe Pastell"))
    (tmp_path / "reponse.pdf").write_bytes(pdf_bytes("Pièces complémentaires"))

    tdt.test_connexion()
    nounce_test = f"{live_server.url}/api/test-connexion.php?{tdt.nounce_params()}"
    assert requests.get(nounce_test, timeout=30).text == "OK"  # getURLTestNounce, no Basic
    assert p.parse_classification(tdt.classification()).date_classification

    transaction_id = tdt.send_actes(
        nature=1,
        number="PASTELL2026_1",
        subject="Délibération relative aux tarifs de la cantine",
        decision_date="2026-01-15",
        classification="5.2 Fonctionnement des assemblées",
        acte=tmp_path / "arrete.pdf",
        annexes=[tmp_path / "annexe 1.pdf"],
        type_acte="99_DE",
        types_pj=["21_DE"],
    )
    assert tdt.get_status(transaction_id)[0] == "17"

    # The agent's browser (no Basic, the nounce in the URL) confirms, and comes back.
    retour = "https://pastell.exemple.fr/Document/action?id_d=X&error=%%ERROR%%&message=%%MESSAGE%%"
    browser = requests.get(
        tdt.teletransmission_redirect(transaction_id, retour), allow_redirects=False, timeout=30
    )
    assert browser.status_code == 302
    back = parse_qs(urlsplit(browser.headers["Location"]).query, keep_blank_values=True)
    assert (back["error"], back["message"]) == (["0"], [""])

    for _ in range(50):
        status, ar = tdt.get_status(transaction_id)
        if status == "4":
            break
    assert status == "4"
    acte = Transaction.objects.get(pk=transaction_id)
    assert acte.objet == "Délibération relative aux tarifs de la cantine"
    assert p.parse_ar_acte(ar.encode("iso-8859-1")).id_acte == acte.id_acte
    assert tdt.date_ar(transaction_id) == acte.date_reception.isoformat()
    assert acte.id_acte in pdf_text(tdt.bordereau(transaction_id))

    stamped = tdt.acte_tamponne(transaction_id, "2026-01-20")
    assert f"ID : {acte.id_acte}" in pdf_text(stamped) and "Publié le 20/01/2026" in pdf_text(
        stamped
    )
    annexes = tdt.annexes_tamponnees(transaction_id)
    assert [a["filename"] for a in annexes] == ["annexe 1.pdf"]
    assert acte.id_acte in pdf_text(annexes[0]["content"])

    # The prefecture asks for more documents.
    prefecture_services.send_letter(
        actor=prefect_agent,
        prefecture=prefecture,
        act=ReceivedAct.objects.get(),
        code="3-1",
        details="Merci de transmettre le rapport de présentation.",
        document=pdf_upload_bytes("Demande de pièces"),
        document_name="demande.pdf",
    )
    letters = tdt.list_document_prefecture()
    assert [(x["type"], x["number"], x["unique_id"]) for x in letters] == [
        ("3", "PASTELL2026_1", acte.id_acte)
    ]
    letter = letters[0]
    assert str(letter["related_transaction_id"]) == transaction_id
    files = tdt.untar(tdt.reponse_prefecture(letter["id"]))
    assert any(name.endswith("-3-1_0.xml") for name in files)
    assert "Demande de pièces" in pdf_text(next(v for k, v in files.items() if k.endswith(".pdf")))
    tdt.mark_as_read(letter["id"])
    assert tdt.list_document_prefecture() == []
    assert tdt.list_reponse_prefecture(transaction_id) == [
        {
            "type": "3",
            "status": str(Transaction.objects.get(pk=letter["id"]).status),
            "id": str(letter["id"]),
        }
    ]

    reply_id = tdt.send_response(
        letter_id=letter["id"],
        refus=False,
        reponse=tmp_path / "reponse.pdf",
        nature_default="99_DE",
    )
    reply = Transaction.objects.get(pk=reply_id)
    assert reply.message_code == "3-4" and reply.documents.get().typologie == "99_DE"


def pdf_upload_bytes(title: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("demande.pdf", pdf_bytes(title))
