"""The S²LOW-style API answers as S²LOW does, endpoint by endpoint (docs/actes-api.md): the
requests are the ones Pastell's S2low connector and MegActe send, the answers are checked byte
for byte where S²LOW's form is fixed (status lines, JSON keys, redirects, content types)."""

import io
import json
import tarfile
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.actes import protocol as p
from emegalis.actes.models import Transaction
from emegalis.actes.s2low.answers import latin1
from emegalis.core import clock
from emegalis.organisations.models import ApiNounce
from emegalis.organisations.services import create_api_key, register_client_certificate
from tests.actes.helpers import make_commune, pdf_bytes
from tests.factories import make_member

from .conftest import basic, cert_headers, make_certificate

pytestmark = pytest.mark.django_db
S = p.ActStatus
M = "/modules/actes/"
KEYS_ACTE = {"id", "name", "posted_filename", "mimetype", "size", "sign", "code_pj"}


def create(client, run_commits, *, number="API2026_1", annexes=0, **fields):
    data = {
        "api": "1",
        "nature_code": "1",
        "classif1": "5",
        "classif2": "2",
        "number": number,
        "decision_date": "2026-01-15",
        "subject": "Délibération",
        "acte_pdf_file": SimpleUploadedFile("deliberation.pdf", pdf_bytes()),
        **fields,
    }
    if annexes:
        data["acte_attachments[]"] = [
            SimpleUploadedFile(f"annexe{i}.pdf", pdf_bytes(f"Annexe {i}")) for i in range(annexes)
        ]
    with run_commits():
        return client.post(f"{M}actes_transac_create.php", data)


def post_latin1_subject(client, run_commits, subject: str):
    """A multipart body written by hand: the subject's bytes are ISO-8859-1, as Pastell's."""
    boundary = "----pastell"
    parts = []
    fields = {
        "api": "1",
        "nature_code": "1",
        "classif1": "5",
        "classif2": "2",
        "number": "LATIN1",
        "decision_date": "2026-01-15",
        "type_acte": "99_DE",
    }
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n')
        parts.append(value + "\r\n")
    body = "".join(parts).encode()
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="subject"\r\n\r\n'.encode()
        + subject.encode("latin-1")
        + b"\r\n"
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="acte_pdf_file"; '
        'filename="acte.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        + pdf_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    with run_commits():
        return client.post(
            f"{M}actes_transac_create.php",
            body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )


def created_id(response) -> int:
    body = response.content
    assert body.startswith(b"OK\n"), body
    assert body.endswith(b"\n\n")  # S²LOW: "OK\n" . "$id\n" . "\n"
    return int(body.split(b"\n")[1])


# --- Authentication ----------------------------------------------------------------------------


def test_get_nounce_needs_http_basic(client):
    r = client.get("/api/get-nounce.php")
    assert r.status_code == 401
    assert r["WWW-Authenticate"].startswith('Basic realm="API S2low"')


def test_nounce_opens_the_api_for_five_minutes(client, agent, api_key, commune):
    r = client.get("/api/get-nounce.php?api=1", **basic(agent.email, api_key))
    assert r.status_code == 200 and list(r.json()) == ["nounce"]
    nounce = r.json()["nounce"]
    good = p_hash(api_key, nounce)
    url = f"/api/test-connexion.php?nounce={nounce}&login={agent.email}&hash={good}"
    r = client.get(url)
    assert (r.status_code, r.content) == (200, b"OK")
    assert client.get(url).status_code == 200  # usable until it expires, as in S²LOW
    # The table alone opens nothing: it keeps a digest of the hash, not the hash.
    assert good not in ApiNounce.objects.get().hash_digest
    bad = f"/api/test-connexion.php?nounce={nounce}&login={agent.email}&hash={'0' * 64}"
    assert client.get(bad).status_code == 401
    other = f"/api/test-connexion.php?nounce={nounce}&login=autre@exemple.fr&hash={good}"
    assert client.get(other).status_code == 401
    with clock.shifted(timedelta(minutes=6)):
        assert client.get(url).status_code == 401


def p_hash(secret: str, nounce: str) -> str:
    import hashlib

    return hashlib.sha256(f"{secret}:{nounce}".encode()).hexdigest()


def test_nounce_of_a_revoked_key_stops(client, agent, api_key):
    from emegalis.organisations.models import ApiKey

    nounce = client.get("/api/get-nounce.php", **basic(agent.email, api_key)).json()["nounce"]
    ApiKey.objects.update(revoked_at=clock.now())
    url = f"/api/test-connexion.php?nounce={nounce}&login={agent.email}&hash="
    assert client.get(url + p_hash(api_key, nounce)).status_code == 401


def test_info_connexion_has_s2low_keys(api_client, commune, agent):
    r = api_client.get("/api/info-connexion.php")
    info = r.json()
    assert list(info) == ["user_info", "authority_info"]
    assert list(info["authority_info"]) == [
        "id",
        "authority_type_id",
        "status",
        "name",
        "email",
        "address",
        "postal_code",
        "city",
        "telephone",
        "department",
        "district",
        "authority_group_id",
    ]
    assert info["authority_info"]["name"] == commune.name
    assert info["user_info"]["login"] == agent.email and "password" not in info["user_info"]
    assert r.content.startswith(b'{\n    "user_info"')  # JSON_PRETTY_PRINT, 4 spaces


def test_a_certificate_alone_identifies_the_account_it_is_bound_to(
    client, agent, commune, trusted_proxy
):
    pem, fingerprint = make_certificate()
    register_client_certificate(user=agent, organisation=commune, name="Parapheur", data=pem)
    r = client.get("/api/test-connexion.php", **cert_headers(fingerprint))
    assert (r.status_code, r.content) == (200, b"OK")
    r = client.get("/admin/users/api-list-login.php", **cert_headers(fingerprint))
    assert r.content == f"{agent.email}\n".encode()
    assert r["Content-Type"].startswith("text/plain")
    # A failed verification, or an unknown certificate, opens nothing.
    failed = {**cert_headers(fingerprint), "HTTP_X_SSL_CLIENT_VERIFY": "FAILED:unable to verify"}
    assert client.get("/api/test-connexion.php", **failed).status_code == 401
    _, other = make_certificate("Inconnu")
    assert client.get("/api/test-connexion.php", **cert_headers(other)).status_code == 401


def test_an_account_bound_to_a_certificate_must_present_it(
    client, agent, commune, api_key, trusted_proxy
):
    pem, fingerprint = make_certificate()
    register_client_certificate(user=agent, organisation=commune, name="Pastell", data=pem)
    r = client.get("/api/test-connexion.php", **basic(agent.email, api_key))
    assert r.status_code == 403 and "certificat" in r.content.decode("iso-8859-1")
    _, other = make_certificate("Autre poste")
    headers = {**basic(agent.email, api_key), **cert_headers(other)}
    assert client.get("/api/test-connexion.php", **headers).status_code == 403
    headers = {**basic(agent.email, api_key), **cert_headers(fingerprint)}
    assert client.get("/api/test-connexion.php", **headers).status_code == 200


def test_proxy_headers_are_ignored_unless_the_deployment_trusts_them(client, agent, commune):
    pem, fingerprint = make_certificate()
    register_client_certificate(user=agent, organisation=commune, name="Parapheur", data=pem)
    assert client.get("/api/test-connexion.php", **cert_headers(fingerprint)).status_code == 401


def test_a_certificate_shared_by_two_accounts_needs_the_login(
    client, agent, commune, api_key, trusted_proxy
):
    pem, fingerprint = make_certificate("Certificat de service")
    colleague = make_member(commune, "agent_actes")
    register_client_certificate(user=agent, organisation=commune, name="Service", data=pem)
    register_client_certificate(user=colleague, organisation=commune, name="Service", data=pem)
    r = client.get("/api/test-connexion.php", **cert_headers(fingerprint))
    assert r.status_code == 401 and "plusieurs comptes" in r.content.decode("iso-8859-1")
    r = client.get(
        "/admin/users/api-list-login.php",
        **basic(agent.email, api_key),
        **cert_headers(fingerprint),
    )
    assert sorted(r.content.decode().splitlines()) == sorted([agent.email, colleague.email])
    headers = {**basic(agent.email, api_key), **cert_headers(fingerprint)}
    assert client.get("/api/test-connexion.php", **headers).status_code == 200


def test_a_private_key_or_junk_is_not_registered(agent, commune):
    from django.core.exceptions import ValidationError

    for data in (b"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", b"junk"):
        with pytest.raises(ValidationError):
            register_client_certificate(user=agent, organisation=commune, name="x", data=data)


def test_the_account_page_registers_and_revokes_a_certificate(agent_client, agent):
    pem, fingerprint = make_certificate()
    r = agent_client.post(
        "/compte/certificats/",
        {"name": "Pastell", "certificate": SimpleUploadedFile("moi.pem", pem)},
    )
    assert r.status_code == 200 and fingerprint[:16] in r.content.decode()
    cert = agent.client_certificates.get()
    r = agent_client.post(
        "/compte/certificats/",
        {
            "name": "x",
            "certificate": SimpleUploadedFile(
                "cle.pem", b"-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----\n"
            ),
        },
    )
    assert "clé privée" in r.content.decode()
    agent_client.post(f"/compte/certificats/{cert.pk}/revoquer/")
    cert.refresh_from_db()
    assert cert.revoked_at is not None


# --- Acts --------------------------------------------------------------------------------------


def test_create_without_typologies_takes_the_nature_default(api_client, wire, run_commits):
    r = create(api_client, run_commits, annexes=2)
    acte = Transaction.objects.get(pk=created_id(r))
    assert list(acte.documents.order_by("rank").values_list("typologie", flat=True)) == [
        "99_DE",
        "99_DE",
        "99_DE",
    ]


def test_create_takes_a_subject_sent_in_iso_8859_1(api_client, wire, run_commits):
    # Pastell converts the subject to ISO-8859-1 before posting it.
    r = post_latin1_subject(api_client, run_commits, "Délibération n° 3 : tarifs")
    assert Transaction.objects.get(pk=created_id(r)).objet == "Délibération n° 3 : tarifs"
    r = create(api_client, run_commits, number="UTF8", subject="Élection : ordre du jour")
    assert Transaction.objects.get(pk=created_id(r)).objet == "Élection : ordre du jour"


def test_create_refusal_is_a_ko_line(api_client, wire, run_commits):
    r = create(api_client, run_commits, decision_date="demain")
    assert r.status_code == 200
    assert r.content.startswith(b"KO\n") and r.content.endswith(b"\n")
    assert Transaction.objects.count() == 0


def test_status_by_id_and_by_unique_id(api_client, wire, run_commits):
    pk = created_id(create(api_client, run_commits))
    acte = Transaction.objects.get(pk=pk)
    r = api_client.get(f"{M}actes_transac_get_status.php?transaction={pk}")
    assert r.content.startswith(b"OK\n4\n<?xml")
    r = api_client.get(f"{M}actes_transac_get_status.php?unique_id={acte.id_acte}")
    assert r.content.startswith(b"OK\n4\n")
    r = api_client.get(f"{M}actes_transac_get_status.php?transaction=999999")
    assert r.content == latin1("KO\nNuméro de transaction invalide.")


def test_files_list_is_refused_before_the_acknowledgement(api_client, wire, run_commits):
    wire.mode = "ok"  # sent, no AR comes back
    pk = created_id(create(api_client, run_commits))
    assert Transaction.objects.get(pk=pk).status == S.TRANSMIS
    r = api_client.get(f"{M}actes_transac_get_files_list.php?transaction={pk}")
    assert r.content == b"KO\nPas d'acquittement recu"


def test_files_list_puts_the_message_first_then_the_act_then_annexes(api_client, wire, run_commits):
    pk = created_id(create(api_client, run_commits, annexes=1, **{"type_pj[]": ["21_DE"]}))
    acte = Transaction.objects.get(pk=pk)
    for query in (f"transaction={pk}", f"unique_id={acte.id_acte}"):
        files = api_client.get(f"{M}actes_transac_get_files_list.php?{query}").json()
        assert [set(f) for f in files] == [KEYS_ACTE] * 3
        assert [f["mimetype"] for f in files] == ["text/xml", "application/pdf", "application/pdf"]
        assert files[0]["name"].endswith("-1-1_0.xml") and files[0]["posted_filename"] == ""
        assert [f["code_pj"] for f in files] == ["", "99_DE", "21_DE"]
        assert files[1]["posted_filename"] == "deliberation.pdf"
    # Each entry downloads; the XML is the message that travelled, index 1 the act.
    xml = api_client.get(f"{M}actes_download_file.php?file={files[0]['id']}")
    assert p.parse(xml.content) == p.read_archive(wire.sent[0][1]).messages[files[0]["name"]]
    stamped = api_client.get(f"{M}actes_download_file.php?file={files[1]['id']}&tampon=true")
    assert stamped["Content-Type"] == "application/pdf"


def test_confirm_api_redirects_with_s2low_placeholders(api_client, wire, run_commits):
    pk = created_id(create(api_client, run_commits, en_attente="1"))
    back = quote("https://pastell.exemple.fr/retour?error=%%ERROR%%&message=%%MESSAGE%%", safe="")
    with run_commits():
        r = api_client.get(f"{M}actes_transac_post_confirm_api.php?id={pk}&url_return={back}")
    assert r.status_code == 302
    assert r["Location"] == "https://pastell.exemple.fr/retour?error=0&message="
    r = api_client.get(f"{M}actes_transac_post_confirm_api.php?id={pk}&url_return={back}")
    assert r["Location"].startswith("https://pastell.exemple.fr/retour?error=1&message=La%20")


def test_confirm_api_multi_confirms_every_waiting_act(api_client, wire, run_commits):
    first = created_id(create(api_client, run_commits, en_attente="1"))
    second = created_id(create(api_client, run_commits, number="API2026_2", en_attente="1"))
    back = "https://pastell.exemple.fr/retour-multi"  # no & in it: passed as is
    with run_commits():
        r = api_client.get(
            f"{M}actes_transac_post_confirm_api_multi.php?id[]={first}&id[]={second}"
            f"&id[]=999999&url_return={back}"
        )
    assert (r.status_code, r["Location"]) == (302, back)
    assert set(Transaction.objects.filter(type=1).values_list("status", flat=True)) == {
        S.ACQUITTEMENT_RECU
    }


def test_list_actes_and_number_actes_answer_s2low_objects(api_client, wire, run_commits):
    pk = created_id(create(api_client, run_commits))
    r = api_client.get(f"{M}api/list_actes.php?status_id=4&offset=0&limit=10")
    body = r.json()
    assert list(body) == ["status_id", "authority_id", "offset", "limit", "transactions"]
    assert (body["status_id"], body["offset"], body["limit"]) == (4, 0, 10)
    assert list(body["transactions"][0]) == [
        "id",
        "subject",
        "number",
        "date",
        "nature_descr",
        "classification",
        "type",
    ]
    assert body["transactions"][0]["id"] == pk and body["transactions"][0]["date"] == "2026-01-15"
    number = api_client.get(f"{M}api/number_actes.php?status_id=4").json()
    assert list(number) == ["status_id", "authority_id", "nb_transactions"]
    assert number["nb_transactions"] == 1
    assert api_client.get(f"{M}api/number_actes.php?status_id=1").json()["nb_transactions"] == 0


# --- The prefecture's letters -------------------------------------------------------------------


def test_unread_letters_have_s2low_fields_and_leave_once_read(
    api_client, wire, run_commits, prefecture_letter
):
    pk = created_id(create(api_client, run_commits))
    letter = prefecture_letter("2-1", "Merci de préciser le quorum.")
    docs = api_client.get(f"{M}api/list_document_prefecture.php").json()
    assert docs == [
        {
            "id": letter.pk,
            "type": "2",
            "related_transaction_id": pk,
            "number": "API2026_1",
            "unique_id": Transaction.objects.get(pk=pk).id_acte,
            "last_status_id": S.DOCUMENT_RECU_SANS_AR,  # what Pastell imports a courrier simple on
        }
    ]
    r = api_client.get(f"{M}api/document_prefecture_mark_as_read.php?transaction_id={letter.pk}")
    assert r.content == b'{"result": "ok"}'
    assert api_client.get(f"{M}api/list_document_prefecture.php").json() == []


def test_a_letter_downloads_as_its_archive_through_env(
    api_client, wire, run_commits, prefecture_letter
):
    created_id(create(api_client, run_commits))
    letter = prefecture_letter("3-1", "Pièces manquantes", document_name="demande.pdf")
    r = api_client.get(f"{M}actes_transac_get_document.php?id={letter.pk}")
    assert (r.status_code, r["Location"]) == (302, f"actes_download_file.php?env={letter.pk}")
    archive = api_client.get(f"{M}{r['Location']}")
    assert archive["Content-Type"] == "application/x-gzip"
    assert archive["Content-Disposition"].startswith("attachment;")
    with tarfile.open(fileobj=io.BytesIO(archive.content), mode="r:gz") as tar:
        names = tar.getnames()
        assert any(n.endswith("-3-1_0.xml") for n in names)
        pdf = next(n for n in names if n.endswith(".pdf"))
        assert tar.extractfile(pdf).read().startswith(b"%PDF")


def test_letters_of_another_authority_stay_hidden(
    client, api_client, wire, run_commits, prefecture_letter
):
    created_id(create(api_client, run_commits))
    letter = prefecture_letter("3-1", "Pièces")
    other = make_commune(name="Commune voisine")
    agent_b = make_member(other, "agent_actes")
    _, key_b = create_api_key(user=agent_b, organisation=other, name="B")
    h = basic(agent_b.email, key_b)
    assert client.get(f"{M}api/list_document_prefecture.php", **h).json() == []
    r = client.get(f"{M}actes_transac_get_document.php?id={letter.pk}", **h)
    assert r.content.startswith(b"KO\n")
    r = client.get(f"{M}actes_download_file.php?env={letter.pk}", **h)
    assert r.content.startswith(b"KO\n")
    client.get(f"{M}api/document_prefecture_mark_as_read.php?transaction_id={letter.pk}", **h)
    letter.refresh_from_db()
    assert letter.read_at is None


def test_reply_without_typology_takes_the_nature_default(
    api_client, wire, run_commits, prefecture_letter
):
    created_id(create(api_client, run_commits))
    letter = prefecture_letter("3-1", "Pièces")
    with run_commits():
        r = api_client.post(
            f"{M}actes_transac_reponse_create.php",
            {
                "api": "1",
                "id": letter.pk,
                "type_envoie": "4",
                "acte_pdf_file": SimpleUploadedFile("pieces.pdf", pdf_bytes("Pièces")),
            },
        )
    reply = Transaction.objects.get(pk=created_id(r))
    assert reply.documents.get().typologie == "99_DE"


# --- Encoding ----------------------------------------------------------------------------------


def test_text_answers_use_only_characters_iso_8859_1_has():
    assert latin1("Envoi refusé — voir l’avis…") == "Envoi refusé - voir l'avis...".encode(
        "latin-1"
    )
    assert b"?" not in latin1("« Œuvre » – 3 €")


def test_a_refused_character_is_named_by_its_code_point(api_client, wire, run_commits):
    r = create(api_client, run_commits, subject="Élection — ordre du jour")
    text = r.content.decode("iso-8859-1")
    assert text.startswith("KO\n") and "(U+2014)" in text and "?" not in text


def test_a_french_refusal_reads_without_replacement_marks(api_client, wire, run_commits):
    created_id(create(api_client, run_commits))
    r = create(api_client, run_commits)  # the same number again
    text = r.content.decode("iso-8859-1")
    assert text.startswith("KO\n") and "?" not in text and "é" in text


def test_json_lists_are_valid_json(api_client):
    for url in ("api/actes_status.php", "api/list_document_prefecture.php"):
        json.loads(api_client.get(f"{M}{url}").content)


def test_get_tampon_redirects_to_the_stamped_act_once_acknowledged(api_client, wire, run_commits):
    wire.mode = "ok"
    waiting = created_id(create(api_client, run_commits, number="SANSAR"))
    r = api_client.get(f"{M}actes_transac_get_tampon.php?transaction={waiting}")
    assert r.content == b"KO\nPas d'acquittement recu"
    wire.mode = "loop"
    pk = created_id(create(api_client, run_commits))
    main = Transaction.objects.get(pk=pk).documents.get(kind="main")
    r = api_client.get(f"{M}actes_transac_get_tampon.php?transaction={pk}")
    assert (r.status_code, r["Location"]) == (
        302,
        f"actes_download_file.php?file={main.pk}&tampon=true",
    )


def test_get_document_of_an_act_without_letters_is_empty(api_client, wire, run_commits):
    pk = created_id(create(api_client, run_commits))
    r = api_client.get(f"{M}actes_transac_get_document.php?id={pk}")
    assert (r.status_code, r.content) == (200, b"")


def test_ar_acte_is_the_xml_the_prefecture_sent(api_client, wire, run_commits):
    pk = created_id(create(api_client, run_commits))
    r = api_client.get(f"{M}actes_transac_get_ARActe.php?id={pk}")
    assert r["Content-Type"].startswith("application/xml")
    assert r.content == bytes(Transaction.objects.get(pk=pk).ar_xml)


def test_bordereau_is_a_pdf(api_client, wire, run_commits):
    pk = created_id(create(api_client, run_commits))
    r = api_client.get(f"{M}actes_create_pdf.php?trans_id={pk}")
    assert r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")


def test_cancel_answers_like_return_and_exit(api_client, wire, run_commits):
    pk = created_id(create(api_client, run_commits))
    with run_commits():
        r = api_client.post(f"{M}actes_transac_cancel.php", {"api": "1", "id": pk})
    cancel = Transaction.objects.get(pk=created_id(r))
    assert cancel.type == 6 and cancel.acte_id == pk
    r = api_client.post(f"{M}actes_transac_cancel.php", {"api": "1", "id": pk})
    assert r.content.startswith(b"KO\n") and r.content.endswith(b"\n")


def test_classification_request_and_fetch(api_client, wire, run_commits):
    with run_commits():
        r = api_client.get(f"{M}actes_classification_request.php?api=1")
    assert Transaction.objects.get(pk=created_id(r)).type == 7
    r = api_client.get(f"{M}actes_classification_fetch.php?api=1")
    assert p.parse_classification(r.content).date_classification


def test_statuses_are_id_and_name(api_client):
    statuses = api_client.get(f"{M}api/actes_status.php").json()
    assert {"id": 17, "name": "En attente d'être postée"} in statuses
    assert all(list(s) == ["id", "name"] for s in statuses)


def test_a_certificate_is_revoked_only_by_its_owner(agent, commune, new_client):
    pem, _ = make_certificate()
    cert = register_client_certificate(user=agent, organisation=commune, name="Poste", data=pem)
    colleague = make_member(commune, "agent_actes")
    other = new_client(colleague)
    assert other.post(f"/compte/certificats/{cert.pk}/revoquer/").status_code == 404
    assert cert.fingerprint[:16] not in other.get("/compte/certificats/").content.decode()
    cert.refresh_from_db()
    assert cert.revoked_at is None
