"""An opening whose PV cannot be signed (timestamping service down) does not take place:
nothing is kept — no session, no opened file in storage — the refusal is journaled with a
clear message, and the same shares open the plis once the service answers."""

import socket
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from emegalis.core.models import JournalEntry
from emegalis.marches.opening import services as opening_services
from emegalis.marches.opening.models import OpenedFile, OpeningSession
from tests.marches.helpers import after_deadline, deposit, offer_bytes


def test_no_opening_without_a_signed_pv_and_no_plaintext_left(
    opened,  # noqa: F811
    members,  # noqa: F811
    company_user,
    monkeypatch,
    settings,
):
    consultation, shares = opened
    deposit(company_user, consultation, offer_bytes(300_000))
    after_deadline(monkeypatch, consultation)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SIGNING_TSA_URL = f"http://127.0.0.1:{port}/horodatage/"
    with pytest.raises(ValidationError, match="horodatage indisponible"):
        opening_services.open_plis(
            actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
        )
    assert not OpeningSession.objects.exists() and not OpenedFile.objects.exists()
    opened_dir = Path(settings.MEDIA_ROOT) / "marches" / "ouverts"
    assert not opened_dir.exists() or not [p for p in opened_dir.rglob("*") if p.is_file()]
    refused = JournalEntry.objects.get(action="marches.opening.refused")
    assert refused.payload["reason"] == "pv_not_signed"

    settings.SIGNING_TSA_URL = ""  # the service answers again
    session = opening_services.open_plis(
        actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
    )
    assert session.pv and OpenedFile.objects.get().intact
    assert len([p for p in opened_dir.rglob("*") if p.is_file()]) == 1
