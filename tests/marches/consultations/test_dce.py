"""DCE: streamed upload with a size cap, folders and versions, the streamed zip, downloads
recorded (identified and anonymous), rectificatifs e-mailed to identified downloaders."""

import hashlib
import io
import zipfile

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.core.models import JournalEntry
from emegalis.marches.consultations import dce, dce_zip
from emegalis.marches.consultations import selectors as consultations_selectors
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import DceFile, Retrait
from tests.marches.helpers import dce_file

pytestmark = pytest.mark.django_db

FILES = [
    ("", "Règlement de consultation.pdf", b"%PDF-1.4 RC" * 100),
    ("Pièces techniques", "CCTP.pdf", b"%PDF-1.4 CCTP" * 200),
    ("Pièces techniques/Plans", "plan-1.dwg", bytes(range(256)) * 50),
]


def _zip_of(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_upload_page_stores_the_file_with_its_hash(client_for, buyer_a, make_consultation):
    consultation = make_consultation(publish=False, files=[])
    client = client_for(buyer_a)
    content = b"%PDF-1.4 " + b"x" * (3 * 1024 * 1024)  # above the in-memory upload limit
    response = client.post(
        f"/marches/acheteur/{consultation.pk}/dce/",
        {"folder": "Pièces administratives", "file": SimpleUploadedFile("AE.pdf", content)},
    )
    assert response.status_code == 302
    stored = DceFile.objects.get()
    assert stored.path == "Pièces administratives/AE.pdf"
    assert stored.size == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert default_storage.exists(stored.file.name)
    assert stored.added_in is None  # staged until publication


def test_upload_above_the_cap_is_refused_before_reading(
    client_for, buyer_a, make_consultation, settings
):
    settings.MARCHES_DCE_MAX_BYTES = 1024
    consultation = make_consultation(publish=False, files=[])
    client = client_for(buyer_a)
    response = client.post(
        f"/marches/acheteur/{consultation.pk}/dce/",
        {"file": SimpleUploadedFile("gros.pdf", b"x" * 5000)},
        follow=True,
    )
    assert "taille maximale" in response.content.decode()
    assert "1 Ko" in response.content.decode()
    assert not DceFile.objects.exists()
    settings.MARCHES_DCE_MAX_BYTES = 2 * 1024 * 1024
    response = client.post(
        f"/marches/acheteur/{consultation.pk}/dce/",
        {"file": SimpleUploadedFile("gros.pdf", b"x" * (3 * 1024 * 1024 + 10))},
        follow=True,
    )
    assert "taille maximale" in response.content.decode()
    assert not DceFile.objects.exists()


def test_service_refuses_bad_folders_and_duplicates(buyer_a, make_consultation):
    consultation = make_consultation(publish=False)
    with pytest.raises(ValidationError) as exc:
        dce.add_dce_file(
            actor=buyer_a,
            consultation=consultation,
            uploaded_file=dce_file("a.pdf"),
            folder="../../etc",
        )
    assert "dossier" in exc.value.message_dict["folder"][0]
    with pytest.raises(ValidationError) as exc:
        dce.add_dce_file(actor=buyer_a, consultation=consultation, uploaded_file=dce_file("RC.pdf"))
    assert "déjà" in exc.value.message_dict["file"][0]


def test_zip_streams_every_file_in_its_folder(client, make_consultation):
    consultation = make_consultation(files=FILES)
    client.logout()
    response = client.get(f"/marches/consultations/{consultation.pk}/dce.zip")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    assert 'filename="DCE-2026-001-v1.zip"' in response["Content-Disposition"]
    archive = _zip_of(response)
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == sorted(
        [
            "Règlement de consultation.pdf",
            "Pièces techniques/CCTP.pdf",
            "Pièces techniques/Plans/plan-1.dwg",
        ]
    )
    assert archive.read("Pièces techniques/Plans/plan-1.dwg") == FILES[2][2]


def test_zip_generator_yields_bounded_chunks(make_consultation):
    big = b"0123456789" * 300_000  # 3 MB
    consultation = make_consultation(files=[("", "big.bin", big)])
    files = list(consultation.dce_files.all())
    chunks = list(dce_zip.stream_zip(files, chunk_size=64 * 1024))
    assert max(len(c) for c in chunks) <= 64 * 1024 + 1024
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.read("big.bin") == big


def test_downloads_are_recorded_identified_or_anonymous(
    client, client_for, company_user, company, make_consultation
):
    consultation = make_consultation(files=FILES)
    client.logout()
    client.get(f"/marches/consultations/{consultation.pk}/dce.zip")
    page = client.get(f"/marches/consultations/{consultation.pk}/dce/").content.decode()
    assert "seules les entreprises identifiées reçoivent" in page
    client = client_for(company_user)
    response = client.get(f"/marches/consultations/{consultation.pk}/dce.zip")
    b"".join(response.streaming_content)
    one = consultation.dce_files.get(name="CCTP.pdf")
    response = client.get(f"/marches/consultations/{consultation.pk}/dce/fichiers/{one.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == FILES[1][2]
    retraits = list(Retrait.objects.order_by("pk"))
    assert [r.is_anonymous for r in retraits] == [True, False, False]
    assert retraits[1].organisation == company
    assert retraits[1].organisation_siret == company.siret
    assert retraits[2].file == one
    assert JournalEntry.objects.filter(action="marches.retrait").count() == 3


def test_rectificatif_new_version_and_emails_only_identified_downloaders(
    client, client_for, buyer_a, company_user, make_consultation, django_capture_on_commit_callbacks
):
    consultation = make_consultation(files=FILES)
    client.logout()
    client.get(f"/marches/consultations/{consultation.pk}/dce.zip")  # anonymous
    consultations_services.record_retrait(
        consultation=consultation, user=company_user, organisation=None, kind="zip"
    )
    consultations_services.record_retrait(
        consultation=consultation, user=company_user, organisation=None, kind="zip"
    )
    mail.outbox.clear()
    with pytest.raises(ValidationError):  # nothing changed
        consultations_services.publish_rectificatif(
            actor=buyer_a, consultation=consultation, reason="Rien"
        )
    dce.add_dce_file(
        actor=buyer_a, consultation=consultation, uploaded_file=dce_file("CCTP-v2.pdf")
    )
    old = consultation.dce_files.get(name="CCTP.pdf")
    dce.remove_dce_file(actor=buyer_a, dce_file=old)
    client = client_for(buyer_a)
    response = client.post(f"/marches/acheteur/{consultation.pk}/rectificatif/", {"reason": ""})
    assert response.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/marches/acheteur/{consultation.pk}/rectificatif/",
            {"reason": "CCTP corrigé : article 4"},
        )
    assert response.status_code == 302
    assert consultation.dce_versions.count() == 2
    assert len(mail.outbox) == 1  # one identified user (twice), not the anonymous one
    message = mail.outbox[0]
    assert message.to == [company_user.email]
    assert "CCTP corrigé : article 4" in message.body
    assert "CCTP-v2.pdf" in message.body and "CCTP.pdf" in message.body
    names = set(
        consultations_selectors.current_dce_files(consultation).values_list("name", flat=True)
    )
    assert names == {"Règlement de consultation.pdf", "plan-1.dwg", "CCTP-v2.pdf"}
    notice = client.get(f"/marches/consultations/{consultation.pk}/").content.decode()
    assert "CCTP corrigé : article 4" in notice
    assert JournalEntry.objects.filter(action="marches.consultation.rectificatif").exists()
    zipped = _zip_of(client.get(f"/marches/consultations/{consultation.pk}/dce.zip"))
    assert "Pièces techniques/CCTP.pdf" not in zipped.namelist()
    assert "CCTP-v2.pdf" in zipped.namelist()


def test_rectificatif_can_extend_the_deadline_not_shorten_below_minimum(buyer_a, make_consultation):
    from datetime import timedelta

    consultation = make_consultation()
    with pytest.raises(ValidationError) as exc:
        consultations_services.publish_rectificatif(
            actor=buyer_a,
            consultation=consultation,
            reason="Raccourci",
            bids_deadline=consultation.published_at + timedelta(days=20),
            questions_deadline=consultation.published_at + timedelta(days=10),
        )
    assert "Délai trop court" in " ".join(exc.value.messages)
    consultations_services.publish_rectificatif(
        actor=buyer_a,
        consultation=consultation,
        reason="Report",
        bids_deadline=consultation.bids_deadline + timedelta(days=7),
    )
    consultation.refresh_from_db()
    assert consultation.dce_versions.count() == 2
