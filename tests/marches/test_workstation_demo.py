"""The workstation test page (deposit simulation) and the marches demo data."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.marches.models import Consultation, DceFile, State

pytestmark = pytest.mark.django_db


def test_deposit_simulation_returns_hashes_and_keeps_nothing(client, settings):
    client.logout()
    content = b"offre de test" * 1000
    response = client.post(
        "/marches/test/",
        {
            "files": [
                SimpleUploadedFile("offre.pdf", content),
                SimpleUploadedFile("annexe.txt", b"annexe"),
            ]
        },
    )
    html = response.content.decode()
    assert "Dépôt simulé reçu" in html
    assert hashlib.sha256(content).hexdigest() in html
    assert hashlib.sha256(b"annexe").hexdigest() in html
    assert not DceFile.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_deposit_simulation_without_file_is_a_french_error(client):
    response = client.post("/marches/test/", {})
    assert response.status_code == 200
    assert "obligatoire" in response.content.decode()


def test_demo_loader_is_idempotent_and_publishes(db):
    from emegalis.demo.region import load_demo_region

    load_demo_region()
    load_demo_region()
    references = sorted(Consultation.objects.values_list("reference", flat=True))
    assert references == [
        "DEMO-2026-001",
        "DEMO-2026-002",
        "DEMO-2026-003",
        "DEMO-2026-004",
        "TEST-POSTE",
    ]
    assert Consultation.objects.get(reference="DEMO-2026-004").state == State.BROUILLON
    test = Consultation.objects.get(is_test=True)
    assert test.state == State.PUBLIEE
    first = Consultation.objects.get(reference="DEMO-2026-001")
    assert first.lots.count() == 2
    assert first.questions.filter(answered_at__isnull=False).count() == 1
    assert first.dce_files.count() == 3


def test_the_test_consultation_stays_findable_and_open_to_questions(
    commune_a, company_user, monkeypatch
):
    from datetime import timedelta

    from emegalis.core import clock
    from emegalis.marches import selectors, services

    consultation = services.ensure_test_consultation(organisation=commune_a)
    much_later = clock.now() + timedelta(days=800)  # its dates were not refreshed since
    monkeypatch.setattr(clock, "now", lambda: much_later)
    assert list(selectors.search_consultations(selectors.SearchParams())) == [consultation]
    services.ask_question(
        actor=company_user, organisation=None, consultation=consultation, text="Test ?"
    )
    assert consultation.questions.count() == 1
