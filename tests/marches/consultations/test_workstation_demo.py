"""The workstation test page (deposit simulation) and the marches demo data."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.marches.consultations.models import Consultation, DceFile, State

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
        "DEMO-2026-010",
        "DEMO-2026-020",
        "TEST-POSTE",
    ]
    assert Consultation.objects.get(reference="DEMO-2026-004").state == State.BROUILLON
    test = Consultation.objects.get(is_test=True)
    assert test.state == State.PUBLIEE
    first = Consultation.objects.get(reference="DEMO-2026-001")
    assert first.lots.count() == 2
    assert first.questions.filter(answered_at__isnull=False).count() == 1
    assert first.dce_files.count() == 3


def test_demo_has_a_consultation_opened_awarded_and_notified(db):
    from emegalis.core.journal import first_break
    from emegalis.demo.region import load_demo_region
    from emegalis.marches.award.models import Contract
    from emegalis.marches.deposit.models import PliStatus
    from emegalis.marches.opendata import decp

    load_demo_region()
    consultation = Consultation.objects.get(reference="DEMO-2026-010")
    assert consultation.state == State.CLOTUREE  # lot 2 still waits for its decision
    assert consultation.plis.filter(status=PliStatus.RECU).count() == 3
    assert consultation.opening_session.files.filter(intact=True).count() == 7
    decision = consultation.decisions.get()
    assert decision.lot.number == 1 and decision.winner.company_label.startswith("Armor")
    # Rejection (Breizh), award and notification (Armor), each sent as a secure message.
    kinds = sorted(decision.letters.values_list("kind", flat=True))
    assert kinds == ["attribution", "notification", "rejet"]
    assert all(letter.message_id for letter in decision.letters.all())
    contract = Contract.objects.get(consultation=consultation)
    assert contract.notified_on > decision.standstill_ends_on
    assert decp.build_export([contract]).rejected == []
    assert consultation.evaluations.filter(lot__number=2, rank=1).exists()
    assert first_break() is None


def test_the_test_consultation_stays_findable_and_open_to_questions(
    commune_a, company_user, monkeypatch
):
    from datetime import timedelta

    from emegalis.core import clock
    from emegalis.marches.consultations import (
        selectors as consultations_selectors,
    )
    from emegalis.marches.consultations import (
        services as consultations_services,
    )
    from emegalis.marches.consultations import workstation

    consultation = workstation.ensure_test_consultation(organisation=commune_a)
    much_later = clock.now() + timedelta(days=800)  # its dates were not refreshed since
    monkeypatch.setattr(clock, "now", lambda: much_later)
    assert list(
        consultations_selectors.search_consultations(consultations_selectors.SearchParams())
    ) == [consultation]
    consultations_services.ask_question(
        actor=company_user, organisation=None, consultation=consultation, text="Test ?"
    )
    assert consultation.questions.count() == 1
