"""Deposit of plis by API key (companies' tools): start, PUT at an offset with a cut and a
resume, HEAD for the offset, confirm, signed receipt, listing; authentication and scoping
(wrong key 401, a buyer's key 403, another company's pli 404) and bad input (400/409/413)."""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from emegalis.core import sealing
from emegalis.core.pdf import extract_text
from emegalis.marches.conf import exact_size
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit.models import Pli, PliStatus
from emegalis.organisations.services import create_api_key, revoke_api_key
from tests.marches import helpers as marches_helpers

MiB = 1024 * 1024
CHUNK = sealing.CHUNK_SIZE
# Fixtures shared with the deposit tests.


def bearer(user, organisation) -> dict:
    _, secret = create_api_key(user=user, organisation=organisation, name="Logiciel de réponse")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def company_key(company_user, company):
    return bearer(company_user, company)


def start_url(consultation) -> str:
    return f"/api/v1/marches/entreprise/consultations/{consultation.pk}/plis"


def start(client, consultation, auth, files):
    return client.post(
        start_url(consultation),
        data=json.dumps({"files": files}),
        content_type="application/json",
        **auth,
    )


def put(client, url, auth, body: bytes, offset: int):
    return client.put(
        url,
        data=body,
        content_type="application/octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **auth,
    )


def test_full_deposit_by_api_key_with_a_cut_and_resume(
    client, company_key, opened, company_user, django_capture_on_commit_callbacks
):
    consultation, _ = opened
    content = os.urandom(2 * MiB + 4321)
    answer = start(
        client,
        consultation,
        company_key,
        [{"kind": "offre", "name": "offre.pdf", "size": len(content)}],
    )
    assert answer.status_code == 201, answer.content
    created = answer.json()
    assert created["status"] == "en_cours" and created["chunk_size"] == CHUNK
    url = created["files"][0]["url"]
    assert url.startswith("/api/v1/marches/entreprise/plis/")
    # A body cut after 1.5 MiB: the server keeps the whole first chunk only.
    cut = put(client, url, company_key, content[: CHUNK + CHUNK // 2], 0)
    assert cut.status_code == 200 and cut.json()["offset"] == CHUNK
    assert cut["Upload-Offset"] == str(CHUNK)
    head = client.head(url, **company_key)
    assert head.status_code == 200 and head["Upload-Offset"] == str(CHUNK)
    assert head["Upload-Length"] == str(len(content))
    assert client.get(url, **company_key).json() == {"offset": CHUNK, "size": len(content)}
    # Not whole yet: confirming is refused.
    early = client.post(
        created["confirm_url"], data="{}", content_type="application/json", **company_key
    )
    assert early.status_code == 409 and "incomplets" in early.json()["detail"]
    rest = put(client, url, company_key, content[CHUNK:], CHUNK)
    assert rest.status_code == 200 and rest.json()["offset"] == len(content)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            created["confirm_url"],
            data=json.dumps({"backup_copy": True}),
            content_type="application/json",
            **company_key,
        )
    assert done.status_code == 200, done.content
    result = done.json()
    sha = hashlib.sha256(content).hexdigest()
    assert result["status"] == "recu" and result["backup_copy_declared"] is True
    assert result["files"][0]["sha256"] == sha
    receipt = client.get(result["receipt_url"], **company_key)
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    text = extract_text(b"".join(receipt.streaming_content))
    words = " ".join(text.split())
    assert sha in text and "offre.pdf" in text
    assert " ".join(exact_size(len(content)).split()) in words
    listing = client.get(start_url(consultation), **company_key).json()["results"]
    assert [(p["id"], p["status"]) for p in listing] == [(result["id"], "recu")]
    pli = Pli.objects.get()
    assert pli.depositor == company_user and pli.status == PliStatus.RECU


def test_offset_mismatch_is_409_with_the_expected_offset(client, company_key, opened):
    consultation, _ = opened
    content = os.urandom(CHUNK + 10)
    created = start(
        client,
        consultation,
        company_key,
        [{"kind": "offre", "name": "o.pdf", "size": len(content)}],
    ).json()
    url = created["files"][0]["url"]
    assert put(client, url, company_key, content[:CHUNK], 0).json()["offset"] == CHUNK
    again = put(client, url, company_key, content[:CHUNK], 0)
    assert again.status_code == 409
    assert again.json()["offset"] == CHUNK and again["Upload-Offset"] == str(CHUNK)
    assert "Reprendre à l'octet" in again.json()["detail"]
    ahead = put(client, url, company_key, content[CHUNK:], CHUNK + 5)
    assert ahead.status_code == 413  # past the announced size
    late = put(client, url, company_key, b"x", CHUNK + 3)
    assert late.status_code == 409 and late.json()["offset"] == CHUNK


def test_wrong_key_missing_key_and_revoked_key_are_401(client, opened, company_user, company):
    consultation, _ = opened
    files = [{"kind": "offre", "name": "o.pdf", "size": 3}]
    wrong = start(client, consultation, {"HTTP_AUTHORIZATION": "Bearer emg_pas-une-cle"}, files)
    assert wrong.status_code == 401 and "Clé d'API" in wrong.json()["detail"]
    missing = start(client, consultation, {}, files)
    assert missing.status_code == 401 and "Clé d'API" in missing.json()["detail"]
    key, secret = create_api_key(user=company_user, organisation=company, name="Outil")
    revoke_api_key(user=company_user, key=key)
    revoked = start(client, consultation, {"HTTP_AUTHORIZATION": f"Bearer {secret}"}, files)
    assert revoked.status_code == 401
    assert not Pli.objects.exists()


def test_a_buyers_key_is_403(client, opened, buyer_a, commune_a):
    consultation, _ = opened
    auth = bearer(buyer_a, commune_a)
    refused = start(client, consultation, auth, [{"kind": "offre", "name": "o.pdf", "size": 3}])
    assert refused.status_code == 403 and "entreprise" in refused.json()["detail"]
    assert client.get(start_url(consultation), **auth).status_code == 403
    assert not Pli.objects.exists()


def test_another_companys_pli_is_404(client, opened, company_user, company_b_user):
    consultation, _ = opened
    content = marches_helpers.offer_bytes(10)
    pli = deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name="offre-a.pdf", size=len(content))],
    )
    pli_file = pli.files.get()
    auth_b = bearer(company_b_user, company_b_user.memberships.get().organisation)
    base = f"/api/v1/marches/entreprise/plis/{pli.pk}"
    url = f"{base}/fichiers/{pli_file.pk}"
    assert client.head(url, **auth_b).status_code == 404
    got = client.get(url, **auth_b)
    assert got.status_code == 404 and got.json()["detail"] == "Fichier de pli introuvable."
    assert put(client, url, auth_b, content, 0).status_code == 404
    assert client.get(base, **auth_b).status_code == 404
    confirm = client.post(f"{base}/confirmer", data="{}", content_type="application/json", **auth_b)
    assert confirm.status_code == 404
    assert client.get(f"{base}/accuse.pdf", **auth_b).status_code == 404
    assert client.delete(base, **auth_b).status_code == 404
    assert client.get(start_url(consultation), **auth_b).json() == {"results": []}
    pli_file.refresh_from_db()
    assert pli_file.received == 0 and Pli.objects.filter(pk=pli.pk).exists()


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"{pas du json", "illisible"),
        (b"[]", "files"),
        (b'{"files": []}', "files"),
        (b'{"files": ["offre.pdf"]}', "objet JSON"),
        (b'{"files": [{"kind": "offre", "name": "o.pdf", "size": "12"}]}', "entier"),
        (b'{"files": [{"kind": "offre", "name": "o.pdf", "size": 3, "lot": "un"}]}', "lot"),
        (b'{"files": [{"kind": "devis", "name": "o.pdf", "size": 3}]}', "Pièce inconnue"),
        (b'{"files": [{"kind": "candidature", "name": "c.pdf", "size": 3}]}', "au moins une offre"),
        (
            b'{"files": [{"kind": "candidature", "name": "c.pdf", "size": 3, "document": "dc7"},'
            b' {"kind": "offre", "name": "o.pdf", "size": 3}]}',
            "DUME, DC1, DC2",
        ),
        (b'{"files": [{"kind": "offre", "name": "o.pdf", "size": 3, "document": 1}]}', "dume"),
    ],
)
def test_bad_start_requests_are_400_in_french(client, company_key, opened, body, expected):
    consultation, _ = opened
    response = client.post(
        start_url(consultation), data=body, content_type="application/json", **company_key
    )
    assert response.status_code == 400, response.content
    assert expected in response.json()["detail"]
    assert not Pli.objects.exists()


def test_too_big_is_413_and_bad_headers_400(client, company_key, opened, settings):
    consultation, _ = opened
    huge = start(
        client, consultation, company_key, [{"kind": "offre", "name": "o.pdf", "size": 10**15}]
    )
    assert huge.status_code == 413 and "taille maximale" in huge.json()["detail"]
    created = start(
        client, consultation, company_key, [{"kind": "offre", "name": "o.pdf", "size": 10}]
    ).json()
    url = created["files"][0]["url"]
    no_offset = client.put(
        url, data=b"0123456789", content_type="application/octet-stream", **company_key
    )
    assert no_offset.status_code == 400 and "Upload-Offset" in no_offset.json()["detail"]
    too_long = put(client, url, company_key, b"0" * 11, 0)
    assert too_long.status_code == 413
    bad_confirm = client.post(
        created["confirm_url"], data=b"{x", content_type="application/json", **company_key
    )
    assert bad_confirm.status_code == 400
    assert (
        client.get(
            start_url(consultation).replace(str(consultation.pk), "999999"), **company_key
        ).status_code
        == 404
    )


def test_abandon_by_api_removes_the_deposit_and_its_chunks(
    client, company_key, opened, django_capture_on_commit_callbacks
):
    consultation, _ = opened
    content = os.urandom(CHUNK + 7)
    created = start(
        client,
        consultation,
        company_key,
        [{"kind": "offre", "name": "o.pdf", "size": len(content)}],
    ).json()
    url = created["files"][0]["url"]
    put(client, url, company_key, content[:CHUNK], 0)
    prefix = f"marches/plis/{consultation.pk}/{created['id']}/{created['files'][0]['id']}"
    assert default_storage.listdir(prefix)[1] == ["00000000"]
    with django_capture_on_commit_callbacks(execute=True):
        gone = client.delete(f"/api/v1/marches/entreprise/plis/{created['id']}", **company_key)
    assert gone.status_code == 204
    assert not Pli.objects.exists()
    assert default_storage.listdir(prefix)[1] == []
    assert client.head(url, **company_key).status_code == 404
    assert put(client, url, company_key, content[CHUNK:], CHUNK).status_code == 404


def test_the_put_body_is_never_read_by_upload_handlers(client, company_key, opened, settings):
    """A multipart-looking body is sealed as bytes: Django's upload handlers never run."""
    consultation, _ = opened
    settings.FILE_UPLOAD_HANDLERS = ["tests.marches.deposit.test_plis_api.Refuse"]
    body = b'--x\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\nabc\r\n--x--\r\n'
    created = start(
        client, consultation, company_key, [{"kind": "offre", "name": "o.bin", "size": len(body)}]
    ).json()
    response = client.put(
        created["files"][0]["url"],
        data=body,
        content_type="multipart/form-data; boundary=x",
        HTTP_UPLOAD_OFFSET="0",
        **company_key,
    )
    assert response.status_code == 200 and response.json()["offset"] == len(body)


class Refuse:
    def __init__(self, *args, **kwargs):
        raise AssertionError("upload handler used")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl est absent")
def test_curl_client_deposits_across_a_cut(live_server, opened, company_user, company, tmp_path):
    """plis_client.sh (beside this file), the sequence of docs/plis-api.md, on a live server."""
    consultation, shares = opened
    _, key = create_api_key(user=company_user, organisation=company, name="curl")
    content = os.urandom(9 * MiB + 12)
    (tmp_path / "offre.pdf").write_bytes(content)
    result = subprocess.run(
        [
            "bash",
            str(Path(__file__).parent / "plis_client.sh"),
            live_server.url,
            key,
            str(consultation.pk),
            str(tmp_path / "offre.pdf"),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"coupure : reprise à l'octet {CHUNK}" in result.stdout
    assert result.stdout.strip().endswith("fini")
    sha = hashlib.sha256(content).hexdigest()
    assert sha in extract_text((tmp_path / "accuse.pdf").read_bytes())
    pli = Pli.objects.get()
    assert pli.status == PliStatus.RECU and pli.files.get().sha256 == sha
    assert marches_helpers.open_file(pli.files.get(), shares) == content
