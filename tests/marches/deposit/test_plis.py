"""Deposit of plis: sealed resumable upload, completion and lateness, receipts, the registre
des dépôts, and scoping. Plaintext never stored; only k shares open what is stored."""

import hashlib
import io
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from emegalis.core import clock, sealing
from emegalis.core.pdf import extract_text
from emegalis.marches.conf import exact_size
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import State
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit import storage
from emegalis.marches.deposit.models import Pli, PliFile, PliStatus
from emegalis.marches.opening import services as opening_services
from tests.factories import collect_share, make_commission_member
from tests.marches.helpers import deposit, offer_bytes, open_file, upload_offer

MiB = 1024 * 1024


CHUNK = sealing.CHUNK_SIZE


def stored_bytes(settings) -> list[bytes]:
    values = []
    for model in apps.get_models():
        for row in model.objects.all().values():
            for value in row.values():
                if isinstance(value, memoryview | bytes):
                    values.append(bytes(value))
                elif value is not None:
                    values.append(str(value).encode())
    root = Path(settings.MEDIA_ROOT)
    values += [p.read_bytes() for p in root.rglob("*") if p.is_file()]
    return values


def test_deposit_over_http_with_a_cut_and_resume(
    client_for, company_user, opened, mailoutbox, django_capture_on_commit_callbacks
):
    consultation, shares = opened
    client = client_for(company_user)
    page = client.get(f"/marches/consultations/{consultation.pk}/depot/").content.decode()
    assert 'id="deposit-form"' in page and "marches/depot.js" in page
    content = os.urandom(3 * MiB + 12345)
    started = client.post(
        f"/marches/consultations/{consultation.pk}/depot/",
        data=json.dumps({"files": [{"kind": "offre", "name": "offre.pdf", "size": len(content)}]}),
        content_type="application/json",
    )
    assert started.status_code == 201, started.content
    created = started.json()
    assert created["chunk_size"] == CHUNK
    url = created["files"][0]["url"]
    # A request cut after 1.5 MiB: only the whole first chunk is acknowledged.
    cut = client.put(
        url,
        data=content[: CHUNK + CHUNK // 2],
        content_type="application/octet-stream",
        headers={"Upload-Offset": "0"},
    )
    assert cut.status_code == 200 and cut.json()["offset"] == CHUNK
    assert client.head(url)["Upload-Offset"] == str(CHUNK)
    wrong = client.put(
        url,
        data=content[:CHUNK],
        content_type="application/octet-stream",
        headers={"Upload-Offset": "0"},
    )
    assert wrong.status_code == 409 and wrong.json()["offset"] == CHUNK
    # Not yet complete: confirming is refused and nothing is in the registre.
    early = client.post(created["confirm_url"], data="{}", content_type="application/json")
    assert early.status_code == 409 and "incomplets" in early.json()["detail"]
    rest = client.put(
        url,
        data=content[CHUNK:],
        content_type="application/octet-stream",
        headers={"Upload-Offset": str(CHUNK)},
    )
    assert rest.json()["offset"] == len(content)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            created["confirm_url"],
            data=json.dumps({"backup_copy": True}),
            content_type="application/json",
        )
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "recu"
    pli = Pli.objects.get()
    assert pli.backup_copy_declared and pli.file_count == 1 and pli.total_size == len(content)
    sha = hashlib.sha256(content).hexdigest()
    assert pli.files.get().sha256 == sha
    receipt = client.get(done.json()["receipt_url"])
    pdf = b"".join(receipt.streaming_content)
    text = extract_text(pdf)
    for expected in (
        sha,
        "offre.pdf",
        consultation.title,
        consultation.organisation.name,
        exact_size(len(content)),
        "Armor Bâtiment",
        "annoncée",
    ):
        # The PDF's text may give the no-break spaces of sizes back as spaces.
        assert " ".join(expected.split()) in " ".join(text.split()), expected
    # The receipt names the moment the deposit completed, to the second, in Paris time.
    completed = timezone.localtime(pli.completed_at).strftime("%d/%m/%Y à %H:%M:%S")
    assert f"{completed} (heure de Paris, horloge du serveur)" in text
    assert mailoutbox[-1].to == [company_user.email]
    assert mailoutbox[-1].attachments[0][1] == pdf
    assert open_file(pli.files.get(), shares) == content


def test_put_without_offset_is_refused(client_for, company_user, opened):
    consultation, _ = opened
    pli = deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name="o.pdf", size=10)],
    )
    client = client_for(company_user)
    url = f"/marches/plis/{pli.pk}/fichiers/{pli.files.get().pk}/"
    response = client.put(url, data=b"0123456789", content_type="application/octet-stream")
    assert response.status_code == 400


def test_a_connection_lost_mid_request_keeps_whole_chunks_only(company_user, opened):
    consultation, shares = opened
    content = offer_bytes(3 * MiB)

    class Broken(io.BytesIO):
        def read(self, size=-1):
            if self.tell() >= 2 * MiB + 100:
                raise OSError("connection reset")
            return super().read(min(size, 64 * 1024))

    pli = deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name="o.pdf", size=len(content))],
    )
    f = pli.files.get()
    offset = deposit_services.receive(
        actor=company_user,
        pli_pk=pli.pk,
        file_pk=f.pk,
        offset=0,
        stream=Broken(content),
        length=len(content),
    )
    assert offset == 2 * MiB
    offset = deposit_services.receive(
        actor=company_user,
        pli_pk=pli.pk,
        file_pk=f.pk,
        offset=offset,
        stream=io.BytesIO(content[offset:]),
        length=len(content) - offset,
    )
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli.pk)
    assert pli.files.get().sha256 == hashlib.sha256(content).hexdigest()
    assert open_file(pli.files.get(), shares) == content


def test_a_chunk_stored_but_not_acknowledged_is_sealed_again_under_a_fresh_key(
    company_user, opened
):
    """A segment stored by a request whose transaction did not commit (answer never sent) is
    replaced by the next request at that offset, with the same or other bytes: each segment
    has its own data key, so no key and nonce ever seal two plaintexts."""
    consultation, shares = opened
    content = offer_bytes(2 * MiB)
    pli = deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name="o.pdf", size=len(content))],
    )
    f = pli.files.get()
    name = storage.segment_name(f, 0)
    seen = []
    for body in (content[:CHUNK], b"x" * CHUNK):
        with pytest.raises(RuntimeError), transaction.atomic():
            deposit_services.receive(
                actor=company_user,
                pli_pk=pli.pk,
                file_pk=f.pk,
                offset=0,
                stream=io.BytesIO(body),
                length=CHUNK,
            )
            raise RuntimeError("the worker dies before its answer")
        f.refresh_from_db()
        assert f.received == 0
        with default_storage.open(name, "rb") as segment:
            seen.append(sealing.SegmentHeader.from_bytes(segment.read()).ephemeral_public_key)
    assert seen[0] != seen[1]
    offset = deposit_services.receive(
        actor=company_user,
        pli_pk=pli.pk,
        file_pk=f.pk,
        offset=0,
        stream=io.BytesIO(content),
        length=len(content),
    )
    assert offset == len(content)
    done = deposit_services.complete_deposit(actor=company_user, pli_pk=pli.pk)
    assert open_file(done.files.get(), shares) == content


def test_empty_file_and_several_files(company_user, opened):
    consultation, shares = opened
    pli = deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[
            deposit_services.DeclaredFile(kind="candidature", name="DC1.pdf", size=0),
            deposit_services.DeclaredFile(kind="offre", name="offre.pdf", size=5),
        ],
    )
    dc1, offre = pli.files.order_by("pk")
    deposit_services.receive(
        actor=company_user,
        pli_pk=pli.pk,
        file_pk=offre.pk,
        offset=0,
        stream=io.BytesIO(b"12345"),
        length=5,
    )
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli.pk)
    dc1.refresh_from_db()
    assert dc1.sha256 == hashlib.sha256(b"").hexdigest()
    assert open_file(dc1, shares) == b""
    assert pli.file_count == 2 and pli.total_size == 5


def test_before_the_deadline_nobody_can_get_the_plaintext(company_user, opened, settings):
    """Stored bytes (every column of every table, every stored file) are ciphertext: no
    plaintext, no data key, no share, no private key remains on the server."""
    consultation, shares = opened
    content = offer_bytes(2 * MiB + 77)
    pli = deposit(company_user, consultation, content)
    everything = stored_bytes(settings)
    assert not any(b"PRIX-UNITAIRE-CONFIDENTIEL" in value for value in everything)
    private_key = sealing.combine_shares(
        shares, 2, consultation.opening_commission.public_key_bytes
    )
    for needle in (private_key, private_key.hex().encode(), *(s.encode() for s in shares)):
        assert not any(needle in value for value in everything)
    pli_file = pli.files.get()
    assert pli_file.hash_state is None
    # Without the opening key the stored file does not open, whatever key one tries.
    sealed = bytes(pli_file.header) + b"".join(storage.sealed_body(pli_file))
    wrong = sealing.generate_opening_key_pair().private_key
    assert not sealing.check_stream(io.BytesIO(sealed), wrong).ok
    assert open_file(pli_file, shares) == content


def _at(monkeypatch, moment):
    monkeypatch.setattr(clock, "now", lambda: moment)


def test_completion_one_second_after_the_deadline_is_hors_delai(company_user, opened, monkeypatch):
    consultation, _ = opened
    content = b"offre"
    pli, f = upload_offer(company_user, consultation, content)
    _at(monkeypatch, consultation.bids_deadline + timedelta(seconds=1))
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli.pk)
    assert pli.status == PliStatus.HORS_DELAI
    assert pli.completed_at == consultation.bids_deadline + timedelta(seconds=1)
    assert "Reçu hors délai" in extract_text(pli.receipt.read())


def test_completion_at_the_deadline_second_is_in_time(company_user, opened, monkeypatch):
    consultation, _ = opened
    pli, _ = upload_offer(company_user, consultation, b"1")
    _at(monkeypatch, consultation.bids_deadline)
    assert (
        deposit_services.complete_deposit(actor=company_user, pli_pk=pli.pk).status
        == PliStatus.RECU
    )


def test_no_deposit_starts_after_the_deadline(company_user, opened, monkeypatch):
    consultation, _ = opened
    _at(monkeypatch, consultation.bids_deadline + timedelta(seconds=1))
    with pytest.raises(ValidationError, match="date limite"):
        deposit_services.start_deposit(
            actor=company_user,
            consultation=consultation,
            files=[deposit_services.DeclaredFile(kind="offre", name="o.pdf", size=1)],
        )


def test_the_last_complete_deposit_in_time_replaces_the_earlier_ones(
    company_user, opened, monkeypatch
):
    consultation, _ = opened
    first = deposit(company_user, consultation, b"v1")
    second = deposit(company_user, consultation, b"v2")
    first.refresh_from_db()
    assert first.status == PliStatus.REMPLACE and second.status == PliStatus.RECU
    _at(monkeypatch, consultation.bids_deadline - timedelta(seconds=5))
    late, _ = upload_offer(company_user, consultation, b"v3")
    _at(monkeypatch, consultation.bids_deadline + timedelta(minutes=1))
    late = deposit_services.complete_deposit(actor=company_user, pli_pk=late.pk)
    second.refresh_from_db()
    assert late.status == PliStatus.HORS_DELAI
    assert second.status == PliStatus.RECU  # a late deposit replaces nothing


def test_deposit_needs_a_complete_commission(make_consultation, buyer_a, commune_a, company_user):
    """Published with its commission named, a consultation takes plis only once every member
    has collected their share (so that no pli is sealed to a key whose shares may be lost)."""
    consultation = make_consultation(publish=False)
    members = [make_commission_member(commune_a) for _ in range(2)]
    opening_services.create_opening_commission(
        actor=buyer_a, consultation=consultation, members=members, threshold=2
    )
    consultation = consultations_services.publish(actor=buyer_a, consultation=consultation)
    declared = [deposit_services.DeclaredFile(kind="offre", name="o.pdf", size=1)]
    for member in members:
        consultation.refresh_from_db()
        with pytest.raises(ValidationError, match="commission d'ouverture"):
            deposit_services.start_deposit(
                actor=company_user, consultation=consultation, files=declared
            )
        collect_share(member, consultation.pk)
    consultation.refresh_from_db()
    pli = deposit_services.start_deposit(
        actor=company_user, consultation=consultation, files=declared
    )
    assert pli.status == PliStatus.EN_COURS


def test_publication_needs_the_opening_commission(make_consultation, buyer_a, commune_a):
    consultation = make_consultation(publish=False)
    with pytest.raises(ValidationError, match="Désignez la commission d'ouverture"):
        consultations_services.publish(actor=buyer_a, consultation=consultation)
    paper = make_consultation(reference="PAPIER-1", electronic_submission=False)
    assert paper.state == State.PUBLIEE and not hasattr(paper, "opening_commission")


def test_a_pli_needs_an_offer_and_a_lot_when_allotted(company_user, opened, buyer_a):
    consultation, _ = opened
    with pytest.raises(ValidationError, match="au moins une offre"):
        deposit_services.start_deposit(
            actor=company_user,
            consultation=consultation,
            files=[deposit_services.DeclaredFile(kind="candidature", name="DC1.pdf", size=1)],
        )


def test_a_buyer_cannot_deposit(buyer_a, opened):
    consultation, _ = opened
    with pytest.raises(PermissionDenied):
        deposit_services.start_deposit(
            actor=buyer_a,
            consultation=consultation,
            files=[deposit_services.DeclaredFile(kind="offre", name="o.pdf", size=1)],
        )


def test_a_damaged_stored_chunk_refuses_completion_cleanly(company_user, opened):
    consultation, _ = opened
    content = offer_bytes(MiB + 3)
    pli, f = upload_offer(company_user, consultation, content)
    name, at = storage.locate_chunk(f, 1)
    path = Path(default_storage.path(name))
    data = path.read_bytes()
    path.write_bytes(data[: at + 5])  # the segment cut in its second chunk
    # Completion checks every segment's presence and size (it cannot decrypt, ADR 0004).
    with pytest.raises(ValidationError, match="intact"):
        deposit_services.complete_deposit(actor=company_user, pli_pk=pli.pk)
    pli.refresh_from_db()
    assert pli.status == PliStatus.EN_COURS


def test_the_registre_lists_complete_deposits_only(
    client_for, buyer_a, company_user, company_b_user, opened
):
    consultation, _ = opened
    incomplete, _ = upload_offer(company_b_user, consultation, b"x" * MiB, name="secret-b.pdf")
    done = deposit(company_user, consultation, b"contenu", name="offre-a-tres-secrete.pdf")
    client = client_for(buyer_a)
    page = client.get(f"/marches/acheteur/{consultation.pk}/depots/").content.decode()
    assert "Armor Bâtiment" in page
    assert f'data-pli="{done.pk}"' in page
    assert "Reçu dans les délais" in page
    assert "Breizh Nettoyage" not in page and f'data-pli="{incomplete.pk}"' not in page
    assert "offre-a-tres-secrete" not in page  # never the content, not even file names
    detail = client.get(f"/marches/acheteur/{consultation.pk}/").content.decode()
    assert f"/marches/acheteur/{consultation.pk}/depots/" in detail


def test_buyer_of_another_organisation_sees_no_registre(client_for, buyer_b, company_user, opened):
    consultation, _ = opened
    deposit(company_user, consultation, b"offre")
    client = client_for(buyer_b)
    for suffix in ("depots/", "depots.csv", "depots.pdf"):
        assert client.get(f"/marches/acheteur/{consultation.pk}/{suffix}").status_code == 404
    # Nor the company that deposited.
    company = client_for(company_user)
    for suffix in ("depots/", "depots.csv", "depots.pdf"):
        assert company.get(f"/marches/acheteur/{consultation.pk}/{suffix}").status_code in (
            403,
            404,
        )


def test_the_registre_des_depots_exports_as_csv_and_pdf(
    client_for, buyer_a, company_user, company_b_user, opened
):
    consultation, _ = opened
    upload_offer(company_b_user, consultation, b"x" * MiB, name="secret-b.pdf")  # incomplete
    done = deposit(company_user, consultation, b"contenu", name="offre-a-tres-secrete.pdf")
    client = client_for(buyer_a)
    page = client.get(f"/marches/acheteur/{consultation.pk}/depots/").content.decode()
    assert f"/marches/acheteur/{consultation.pk}/depots.csv" in page
    csv_answer = client.get(f"/marches/acheteur/{consultation.pk}/depots.csv")
    assert csv_answer["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_answer["Content-Disposition"]
    rows = csv_answer.content.decode("utf-8-sig").strip().splitlines()
    assert rows[0].startswith("Pli;Entreprise;SIRET;Reçu le")
    assert len(rows) == 2 and rows[1].startswith(f"{done.pk};Armor Bâtiment")
    assert "Reçu dans les délais" in rows[1] and "secrete" not in csv_answer.content.decode()
    pdf_answer = client.get(f"/marches/acheteur/{consultation.pk}/depots.pdf")
    assert pdf_answer["Content-Type"] == "application/pdf"
    text = extract_text(pdf_answer.content)
    assert "Registre des dépôts" in text and "Armor Bâtiment" in text
    assert "Breizh" not in text and "secrete" not in text


def test_company_a_cannot_reach_company_b_pli(client_for, company_user, company_b_user, opened):
    consultation, _ = opened
    pli_b = deposit(company_b_user, consultation, b"offre de B")
    pending_b = deposit_services.start_deposit(
        actor=company_b_user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name="o.pdf", size=3)],
    )
    client = client_for(company_user)
    file_url = f"/marches/plis/{pending_b.pk}/fichiers/{pending_b.files.get().pk}/"
    assert client.head(file_url).status_code == 404
    response = client.put(
        file_url,
        data=b"abc",
        content_type="application/octet-stream",
        headers={"Upload-Offset": "0"},
    )
    assert response.status_code == 404
    assert client.post(f"/marches/plis/{pending_b.pk}/confirmer/").status_code == 404
    assert client.get(f"/marches/plis/{pli_b.pk}/accuse.pdf").status_code == 404
    page = client.get(f"/marches/consultations/{consultation.pk}/depot/").content.decode()
    assert "Breizh" not in page and f"/marches/plis/{pli_b.pk}/" not in page
    pending_b.files.get().refresh_from_db()
    assert PliFile.objects.get(pk=pending_b.files.get().pk).received == 0


def test_journal_of_a_deposit(company_user, opened):
    from emegalis.core.models import JournalEntry

    consultation, _ = opened
    pli = deposit(company_user, consultation, b"offre", backup=True)
    entry = JournalEntry.objects.get(action="marches.pli.received")
    assert entry.object_id == str(pli.pk)
    assert entry.payload["status"] == "recu" and entry.payload["backup_copy_declared"] is True
    assert entry.payload["files"][0]["sha256"] == hashlib.sha256(b"offre").hexdigest()


def test_the_receipt_is_signed_pades_with_a_timestamp(company_user, opened):
    from tests.core.test_signing import validate

    consultation, _ = opened
    pli = deposit(company_user, consultation, b"offre")
    pdf = pli.receipt.read()
    status = validate(pdf)
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity.valid and status.timestamp_validity.trusted
    assert hashlib.sha256(b"offre").hexdigest() in extract_text(pdf)


def test_candidature_files_are_typed_dume_dc1_dc2_or_other(company_user, opened):
    consultation, _ = opened
    declared = [
        deposit_services.DeclaredFile(kind="candidature", name="dc1.pdf", size=3, document="dc1"),
        deposit_services.DeclaredFile(kind="candidature", name="dc2.pdf", size=3, document="dc2"),
        deposit_services.DeclaredFile(kind="candidature", name="kbis.pdf", size=3),
        deposit_services.DeclaredFile(kind="offre", name="offre.pdf", size=3),
    ]
    pli = deposit_services.start_deposit(
        actor=company_user, consultation=consultation, files=declared
    )
    documents = {f.name: f.document for f in pli.files.all()}
    assert documents == {"dc1.pdf": "dc1", "dc2.pdf": "dc2", "kbis.pdf": "autre", "offre.pdf": ""}
    for pli_file in pli.files.all():
        deposit_services.receive(
            actor=company_user,
            pli_pk=pli.pk,
            file_pk=pli_file.pk,
            offset=0,
            stream=io.BytesIO(b"abc"),
            length=3,
        )
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli.pk)
    receipt = extract_text(pli.receipt.read())
    assert "Candidature (DC1 — lettre de candidature)" in receipt
    assert "Candidature (Autre pièce de candidature)" in receipt
    for wrong in (
        deposit_services.DeclaredFile(kind="candidature", name="x.pdf", size=1, document="dc9"),
        deposit_services.DeclaredFile(kind="offre", name="x.pdf", size=1, document="dume"),
    ):
        with pytest.raises(ValidationError, match="DUME, DC1, DC2"):
            deposit_services.start_deposit(
                actor=company_user,
                consultation=consultation,
                files=[wrong, deposit_services.DeclaredFile(kind="offre", name="o.pdf", size=1)],
            )


def test_a_deposit_started_before_a_secret_key_rotation_completes_after_it(
    settings, company_user, opened
):
    consultation, _ = opened
    pli = deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name="offre.pdf", size=5)],
    )
    old = settings.SECRET_KEY
    settings.SECRET_KEY = old + "-apres-rotation"
    settings.SECRET_KEY_FALLBACKS = [old]
    deposit_services.receive(
        actor=company_user,
        pli_pk=pli.pk,
        file_pk=pli.files.get().pk,
        offset=0,
        stream=io.BytesIO(b"offre"),
        length=5,
    )
    assert (
        deposit_services.complete_deposit(actor=company_user, pli_pk=pli.pk).status
        == PliStatus.RECU
    )


def test_the_page_refuses_a_negative_offset_and_a_body_longer_than_the_file(
    client_for, company_user, opened
):
    """The page and the API share one upload protocol: the page refuses what the API refuses."""
    consultation, _ = opened
    client = client_for(company_user)
    content = os.urandom(CHUNK)
    started = client.post(
        f"/marches/consultations/{consultation.pk}/depot/",
        data=json.dumps({"files": [{"kind": "offre", "name": "offre.pdf", "size": len(content)}]}),
        content_type="application/json",
    )
    url = started.json()["files"][0]["url"]
    negative = client.put(
        url, data=content, content_type="application/octet-stream", headers={"Upload-Offset": "-1"}
    )
    assert negative.status_code == 400
    assert "négatifs" in negative.json()["detail"]
    too_long = client.put(
        url,
        data=content + b"x",
        content_type="application/octet-stream",
        headers={"Upload-Offset": "0"},
    )
    assert too_long.status_code == 413
    assert "dépasse la taille annoncée" in too_long.json()["detail"]
    assert client.head(url)["Upload-Offset"] == "0"


def test_a_company_home_lists_its_own_deposits_only(
    client_for, company_user, company_b_user, opened
):
    consultation, _ = opened
    own = deposit(company_user, consultation, b"offre de A")
    other = deposit(company_b_user, consultation, b"offre de B")
    page = client_for(company_user).get("/marches/entreprise/").content.decode()
    assert f"/marches/plis/{own.pk}/accuse.pdf" in page or "En préparation" in page
    assert consultation.reference in page
    assert f"/marches/plis/{other.pk}/" not in page
    page_b = client_for(company_b_user).get("/marches/entreprise/").content.decode()
    assert f"/marches/plis/{own.pk}/" not in page_b
    # The notice recalls each company's own pli only.
    notice = client_for(company_b_user).get(f"/marches/consultations/{consultation.pk}/")
    assert f"/marches/plis/{own.pk}/" not in notice.content.decode()
