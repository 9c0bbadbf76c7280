"""Resuming a deposit after a page reload or a browser restart, and abandoning one: the
deposit page lists the company's deposits « en cours » (own company only), the upload
continues from the server's offset and the receipt carries the SHA-256 of the whole file;
an abandoned deposit is deleted with its chunks, journaled, never in the registre and can no
longer be resumed."""

import hashlib
import json
import os
import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage

from emegalis.core import clock, sealing
from emegalis.core.models import JournalEntry
from emegalis.core.pdf import extract_text
from emegalis.marches.conf import exact_size
from emegalis.marches.deposit import selectors as deposit_selectors
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit.models import Pli, PliStatus
from tests.marches import helpers as marches_helpers
from tests.marches.helpers import put, start_over_http

MiB = 1024 * 1024


CHUNK = sealing.CHUNK_SIZE


# Fixtures shared with the deposit tests.


def page_of(client, consultation) -> str:
    response = client.get(f"/marches/consultations/{consultation.pk}/depot/")
    assert response.status_code == 200
    return response.content.decode()


def resume_data(page: str) -> list[dict]:
    found = re.search(r'<script id="resume-data" type="application/json">(.*?)</script>', page)
    return json.loads(found.group(1)) if found else []


def test_resume_after_a_reload_lands_the_right_sha256_on_the_receipt(
    client_for, company_user, opened, django_capture_on_commit_callbacks
):
    consultation, shares = opened
    client = client_for(company_user)
    offer = os.urandom(3 * MiB + 777)
    cv = os.urandom(1000)
    created = start_over_http(
        client,
        consultation,
        [
            {"kind": "candidature", "name": "dc1.pdf", "size": len(cv)},
            {"kind": "offre", "name": "offre.pdf", "size": len(offer)},
        ],
    )
    cv_url, offer_url = (f["url"] for f in created["files"])
    assert put(client, cv_url, cv, 0).json()["offset"] == len(cv)
    # The page is reloaded while the offer's second request is on its way: the first whole
    # chunk is stored, the rest lost; the worker that hashed it is gone too.
    assert put(client, offer_url, offer[: CHUNK + 500], 0).json()["offset"] == CHUNK

    page = page_of(client, consultation)
    assert "Dépôts en cours" in page and "Reprendre ce dépôt" in page
    assert "Abandonner ce dépôt" in page and "SHA-256" in page
    assert exact_size(len(offer)) in page and exact_size(CHUNK) in page
    assert "reçu en entier" in page  # dc1.pdf needs no new selection
    [data] = resume_data(page)
    assert data["pli"] == created["pli"] and data["confirm_url"] == created["confirm_url"]
    assert data["chunk_size"] == CHUNK
    by_name = {f["name"]: f for f in data["files"]}
    assert by_name["offre.pdf"]["offset"] == CHUNK and by_name["offre.pdf"]["size"] == len(offer)
    assert by_name["dc1.pdf"]["offset"] == len(cv)
    assert by_name["offre.pdf"]["url"] == offer_url

    # What depot.js does after the same files are selected again: HEAD, then PUT from there.
    offset = int(client.head(offer_url)["Upload-Offset"])
    assert offset == CHUNK
    assert put(client, offer_url, offer[offset:], offset).json()["offset"] == len(offer)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(data["confirm_url"], data="{}", content_type="application/json")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "recu"
    text = extract_text(b"".join(client.get(done.json()["receipt_url"]).streaming_content))
    assert hashlib.sha256(offer).hexdigest() in text
    assert hashlib.sha256(cv).hexdigest() in text
    pli = Pli.objects.get()
    assert marches_helpers.open_file(pli.files.get(name="offre.pdf"), shares) == offer
    after = page_of(client, consultation)
    assert "Dépôts en cours" not in after and resume_data(after) == []
    assert 'id="my-plis"' in after and "Reçu dans les délais" in after


def test_in_progress_deposits_are_listed_for_the_own_company_only(
    client_for, company_user, company_b_user, opened
):
    consultation, _ = opened
    pli = deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[
            deposit_services.DeclaredFile(
                kind="offre", name="offre-armor-secrete.pdf", size=2 * MiB
            )
        ],
    )
    pli_file = pli.files.get()
    assert [p.pk for p in deposit_selectors.in_progress_deposits(company_user, consultation)] == [
        pli.pk
    ]
    assert deposit_selectors.in_progress_deposits(company_b_user, consultation) == []

    client = client_for(company_b_user)
    page = page_of(client, consultation)
    assert "offre-armor-secrete" not in page and "Dépôts en cours" not in page
    assert resume_data(page) == []
    url = f"/marches/plis/{pli.pk}/fichiers/{pli_file.pk}/"
    assert client.head(url).status_code == 404
    assert client.get(url).status_code == 404
    assert put(client, url, b"x" * CHUNK, 0).status_code == 404
    confirm = client.post(
        f"/marches/plis/{pli.pk}/confirmer/", "{}", content_type="application/json"
    )
    assert confirm.status_code == 404
    assert client.post(f"/marches/plis/{pli.pk}/abandonner/").status_code == 404
    assert client.get(f"/marches/plis/{pli.pk}/accuse.pdf").status_code == 404
    assert Pli.objects.filter(pk=pli.pk, status=PliStatus.EN_COURS).exists()
    with pytest.raises(PermissionDenied):
        deposit_services.abandon_deposit(actor=company_b_user, pli_pk=pli.pk)

    own = page_of(client_for(company_user), consultation)
    assert "offre-armor-secrete.pdf" in own and f'id="resume-{pli.pk}"' in own


def test_an_abandoned_deposit_is_gone_never_in_the_registre_and_cannot_be_resumed(
    client_for, company_user, buyer_a, opened, django_capture_on_commit_callbacks
):
    consultation, _ = opened
    kept = marches_helpers.deposit(company_user, consultation, b"premier pli complet")
    client = client_for(company_user)
    created = start_over_http(
        client, consultation, [{"kind": "offre", "name": "brouillon.pdf", "size": 2 * MiB}]
    )
    url = created["files"][0]["url"]
    assert put(client, url, b"y" * CHUNK, 0).json()["offset"] == CHUNK
    prefix = f"marches/plis/{consultation.pk}/{created['pli']}/{created['files'][0]['id']}"
    assert default_storage.listdir(prefix)[1] == ["00000000"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/marches/plis/{created['pli']}/abandonner/", follow=True)
    assert response.status_code == 200
    assert f"Dépôt n° {created['pli']} abandonné" in response.content.decode()
    assert list(Pli.objects.values_list("pk", flat=True)) == [kept.pk]
    assert default_storage.listdir(prefix)[1] == []
    entry = JournalEntry.objects.get(action="marches.pli.abandoned")
    assert entry.object_id == str(created["pli"]) and entry.actor_id == company_user.pk
    assert entry.payload["files"] == [{"name": "brouillon.pdf", "size": 2 * MiB, "received": CHUNK}]

    # Never resumed, completed or counted.
    assert resume_data(page_of(client, consultation)) == []
    assert client.head(url).status_code == 404
    assert put(client, url, b"y" * CHUNK, CHUNK).status_code == 404
    confirm = client.post(created["confirm_url"], "{}", content_type="application/json")
    assert confirm.status_code == 404
    assert client.post(f"/marches/plis/{created['pli']}/abandonner/").status_code == 404
    _, registre = deposit_selectors.registre_depots(buyer_a, consultation.pk)
    assert [p.pk for p in registre] == [kept.pk]
    kept.refresh_from_db()
    assert kept.status == PliStatus.RECU


def test_a_complete_deposit_cannot_be_abandoned(client_for, company_user, opened):
    consultation, _ = opened
    done = marches_helpers.deposit(company_user, consultation, b"offre complete")
    client = client_for(company_user)
    response = client.post(f"/marches/plis/{done.pk}/abandonner/", follow=True)
    assert "ne peut pas être abandonné" in response.content.decode()
    done.refresh_from_db()
    assert done.status == PliStatus.RECU and done.receipt
    with pytest.raises(ValidationError):
        deposit_services.abandon_deposit(actor=company_user, pli_pk=done.pk)
    assert not JournalEntry.objects.filter(action="marches.pli.abandoned").exists()


def test_a_deposit_started_before_the_deadline_is_offered_for_resume_after_it(
    client_for, company_user, opened, monkeypatch
):
    consultation, _ = opened
    pli = deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name="tardif.pdf", size=10)],
    )
    moment = consultation.bids_deadline + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: moment)
    page = page_of(client_for(company_user), consultation)
    assert 'id="deposit-refusal"' in page and 'id="deposit-form"' not in page
    assert f'id="resume-{pli.pk}"' in page and "marches/depot.js" in page
