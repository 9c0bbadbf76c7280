"""One commune never sees nor acts on another's acts (pages and API); the S²LOW-style API."""

import base64
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.actes import protocol as p
from emegalis.actes.models import Transaction
from emegalis.organisations.models import ApiKey
from emegalis.organisations.roles import Role
from emegalis.organisations.services import create_api_key
from tests.actes.helpers import acte_form, make_commune
from tests.factories import make_member

from .helpers import pdf_bytes, pdf_text

pytestmark = pytest.mark.django_db
S = p.ActStatus


@pytest.fixture
def acte_a(agent_client, wire, run_commits):
    with run_commits():
        agent_client.post("/actes/nouveau/", acte_form())
    return Transaction.objects.get(type=1)


@pytest.fixture
def agent_b(db):
    commune_b = make_commune(name="Commune B")
    return make_member(commune_b, Role.AGENT_ACTES)


def basic(user, key):
    return {
        "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{user.email}:{key}".encode()).decode()
    }


def test_commune_b_cannot_see_or_act_on_commune_a_acts_by_page(acte_a, agent_b, new_client):
    client_b = new_client(agent_b)
    assert acte_a.numero_interne not in client_b.get("/actes/").content.decode()
    doc = acte_a.documents.first()
    for url in [
        f"/actes/{acte_a.pk}/",
        f"/actes/{acte_a.pk}/tampon.pdf",
        f"/actes/{acte_a.pk}/ARActe.xml",
        f"/actes/documents/{doc.pk}/",
    ]:
        assert client_b.get(url).status_code == 404, url
    for url in [
        f"/actes/{acte_a.pk}/annuler/",
        f"/actes/{acte_a.pk}/publier/",
        f"/actes/transactions/{acte_a.pk}/lu/",
    ]:
        assert client_b.post(url, {"published_on": "2026-01-20"}).status_code == 404, url
    acte_a.refresh_from_db()
    assert acte_a.status == S.ACQUITTEMENT_RECU and acte_a.published_on is None


def test_commune_b_cannot_see_or_act_on_commune_a_acts_by_api(acte_a, agent_b, client):
    commune_b = agent_b.memberships.get().organisation
    _, key_b = create_api_key(user=agent_b, organisation=commune_b, name="B")
    h = basic(agent_b, key_b)
    doc = acte_a.documents.first()
    r = client.get(f"/modules/actes/actes_transac_get_status.php?transaction={acte_a.pk}", **h)
    assert r.content.decode("iso-8859-1").startswith("KO")
    r = client.get(f"/modules/actes/actes_transac_get_status.php?unique_id={acte_a.id_acte}", **h)
    assert r.content.decode("iso-8859-1").startswith("KO")
    r = client.get(f"/modules/actes/actes_download_file.php?file={doc.pk}&tampon=true", **h)
    assert r.content.decode("iso-8859-1").startswith("KO")
    r = client.get(f"/modules/actes/actes_transac_get_ARActe.php?id={acte_a.pk}", **h)
    assert r.content.decode("iso-8859-1").startswith("KO")
    r = client.post("/modules/actes/actes_transac_cancel.php", {"id": acte_a.pk}, **h)
    assert r.content.decode("iso-8859-1").startswith("KO")
    r = client.get("/modules/actes/api/list_actes.php?status_id=4", **h)
    assert r.json()["transactions"] == []
    acte_a.refresh_from_db()
    assert acte_a.status == S.ACQUITTEMENT_RECU


def test_api_authentication(client, agent, api_key):
    r = client.get("/api/test-connexion.php")
    assert r.status_code == 401 and r.content.startswith(b"KO")
    r = client.get("/api/test-connexion.php", **basic(agent, "mauvaise-cle"))
    assert r.status_code == 401
    r = client.get("/api/test-connexion.php", **basic(agent, api_key))
    assert r.status_code == 200 and r.content.startswith(b"OK")
    # login/password parameters work too (S²LOW accepts them).
    r = client.get(f"/api/test-connexion.php?login={agent.email}&password={api_key}")
    assert r.status_code == 200
    ApiKey.objects.update(revoked_at="2026-01-01T00:00:00Z")
    assert client.get("/api/test-connexion.php", **basic(agent, api_key)).status_code == 401


def test_api_key_of_a_user_who_lost_the_role_is_refused(client, agent, api_key, commune):
    agent.memberships.get(organisation=commune).roles.all().delete()
    r = client.get("/api/test-connexion.php", **basic(agent, api_key))
    assert r.status_code == 403


def test_credentials_page_shows_the_key_once(agent_client):
    r = agent_client.post("/compte/cles-api/", {"name": "Pastell"})
    page = r.content.decode()
    assert 'id="new-key">emg_' in page
    cred = ApiKey.objects.get()
    key = page.split('id="new-key">')[1].split("<")[0]
    listed = agent_client.get("/compte/cles-api/").content.decode()
    assert cred.key_hash != key and key not in listed


def test_api_full_cycle(api_client, wire, run_commits):
    with run_commits():
        r = api_client.post(
            "/modules/actes/actes_transac_create.php",
            {
                "api": "1",
                "nature_code": "1",
                "classif1": "5",
                "classif2": "2",
                "number": "API2026_7",
                "decision_date": "2026-01-15",
                "subject": "Délibération déposée par un logiciel métier",
                "type_acte": "99_DE",
                "type_pj[]": ["21_DE"],
                "acte_pdf_file": SimpleUploadedFile("acte.pdf", pdf_bytes()),
                "acte_attachments[]": [SimpleUploadedFile("annexe.pdf", pdf_bytes("Annexe"))],
            },
        )
    lines = r.content.decode("iso-8859-1").splitlines()
    assert lines[0] == "OK", lines
    pk = int(lines[1])
    r = api_client.get(f"/modules/actes/actes_transac_get_status.php?transaction={pk}")
    status_lines = r.content.decode("iso-8859-1").splitlines()
    assert status_lines[:2] == ["OK", "4"]
    assert "ARActe" in "\n".join(status_lines[2:])
    acte = Transaction.objects.get(pk=pk)
    r = api_client.get(f"/modules/actes/actes_transac_get_status.php?unique_id={acte.id_acte}")
    assert r.content.decode("iso-8859-1").splitlines()[1] == "4"
    files = api_client.get(f"/modules/actes/actes_transac_get_files_list.php?transaction={pk}")
    listing = files.json()
    assert [f["code_pj"] for f in listing] == ["", "99_DE", "21_DE"]
    assert {"id", "name", "posted_filename", "mimetype", "size", "sign", "code_pj"} <= set(
        listing[1]
    )
    ar = api_client.get(f"/modules/actes/actes_transac_get_ARActe.php?id={pk}")
    assert p.parse_ar_acte(ar.content).id_acte == acte.id_acte
    stamped = api_client.get(
        f"/modules/actes/actes_download_file.php?file={listing[1]['id']}&tampon=true"
        "&date_affichage=2026-01-20"
    )
    text = pdf_text(stamped.content)
    assert acte.id_acte in text and "Publié le 20/01/2026" in text
    r = api_client.get(f"/modules/actes/actes_transac_get_tampon.php?transaction={pk}")
    assert r.status_code == 302 and "tampon=true" in r["Location"]
    r = api_client.get("/modules/actes/api/list_actes.php?status_id=4")
    assert [a["id"] for a in r.json()["transactions"]] == [acte.pk]
    number = api_client.get("/modules/actes/api/number_actes.php?status_id=4").json()
    assert number["nb_transactions"] == 1
    statuses = api_client.get("/modules/actes/api/actes_status.php").json()
    assert {"id": 4, "name": "Acquittement reçu"} in statuses
    r = api_client.get("/modules/actes/actes_classification_fetch.php")
    assert p.parse_classification(r.content).date_classification.isoformat() == "2017-12-08"
    pdf = api_client.get(f"/modules/actes/actes_create_pdf.php?trans_id={pk}")
    assert acte.id_acte in pdf_text(pdf.content)
    with run_commits():
        r = api_client.post("/modules/actes/actes_transac_cancel.php", {"id": pk})
    assert r.content.decode().startswith("OK\n")
    cancel_id = int(r.content.decode().splitlines()[1])
    r = api_client.get(f"/modules/actes/actes_transac_get_status.php?transaction={cancel_id}")
    assert r.content.decode().splitlines()[:2] == ["OK", "3"]


def test_api_prefecture_documents_and_reply(api_client, wire, run_commits, prefecture_letter):
    with run_commits():
        api_client.post(
            "/modules/actes/actes_transac_create.php",
            {
                "nature_code": "1",
                "classif1": "5",
                "classif2": "2",
                "number": "API8",
                "decision_date": "2026-01-15",
                "subject": "Objet",
                "type_acte": "99_DE",
                "acte_pdf_file": SimpleUploadedFile("acte.pdf", pdf_bytes()),
            },
        )
    acte = Transaction.objects.get(type=1)
    letter = prefecture_letter("3-1", "Pièces", document_name="d.pdf")
    docs = api_client.get("/modules/actes/api/list_document_prefecture.php").json()
    assert [(d["id"], d["type"], d["last_status_id"]) for d in docs] == [(letter.pk, "3", 8)]
    r = api_client.get(f"/modules/actes/actes_transac_get_document.php?id={acte.pk}")
    assert r.content.decode() == f"3-8-{letter.pk}\n"
    r = api_client.get(
        f"/modules/actes/api/document_prefecture_mark_as_read.php?transaction_id={letter.pk}"
    )
    assert json.loads(r.content) == {"result": "ok"}
    with run_commits():
        r = api_client.post(
            "/modules/actes/actes_transac_reponse_create.php",
            {
                "id": letter.pk,
                "type_envoie": "4",
                "type_acte": "99_DE",
                "acte_pdf_file": SimpleUploadedFile("pieces.pdf", pdf_bytes("Pièces")),
            },
        )
    assert r.content.decode().startswith("OK\n"), r.content
    reply = Transaction.objects.get(message_code="3-4")
    assert reply.status == S.TRANSMIS


def test_json_api_is_scoped_to_the_agent_organisation(acte_a, agent_client, agent_b, new_client):
    r = agent_client.get("/api/v1/actes/")
    assert [a["id_acte"] for a in r.json()] == [acte_a.id_acte]
    detail = agent_client.get(f"/api/v1/actes/{acte_a.pk}").json()
    assert [h["status"] for h in detail["history"]] == [1, 2, 3, 4]
    client_b = new_client(agent_b)
    assert client_b.get("/api/v1/actes/").json() == []
    assert client_b.get(f"/api/v1/actes/{acte_a.pk}").status_code == 404


@pytest.mark.parametrize(
    ("date_affichage", "reason"),
    [("1800-01-01", "précède la date de la décision"), ("9999-12-31", "dans le futur")],
)
def test_the_stamp_refuses_an_implausible_display_date(
    client, agent, commune, acte_a, date_affichage, reason
):
    _, key = create_api_key(user=agent, organisation=commune, name="Logiciel")
    doc = acte_a.documents.get(kind="main")
    r = client.get(
        f"/modules/actes/actes_download_file.php?file={doc.pk}&tampon=true"
        f"&date_affichage={date_affichage}",
        **basic(agent, key),
    )
    lines = r.content.decode("iso-8859-1").splitlines()
    assert lines[0] == "KO" and reason in lines[1]
