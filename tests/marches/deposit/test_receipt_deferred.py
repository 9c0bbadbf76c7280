"""A deposit confirmed while the timestamping service does not answer still counts, at the
server's time; its signed receipt is issued and e-mailed as soon as the service answers again
(marches.receipt_issuance, run every minute by run_periodic)."""

import io
import os
import socket

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from emegalis.core.models import JournalEntry
from emegalis.core.pdf import extract_text
from emegalis.marches.deposit import receipts
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit.models import Pli, PliStatus
from tests.marches.helpers import put, start_over_http, upload_offer


@pytest.fixture
def tsa_down(settings):
    """A TSA URL on a port where nothing listens: connections are refused, for real."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SIGNING_TSA_URL = f"http://127.0.0.1:{port}/horodatage/"
    return settings


def deposit_over_http(client, consultation, content: bytes) -> dict:
    created = start_over_http(
        client, consultation, [{"kind": "offre", "name": "offre.pdf", "size": len(content)}]
    )
    assert put(client, created["files"][0]["url"], content, 0).status_code == 200
    confirmed = client.post(created["confirm_url"], data="{}", content_type="application/json")
    assert confirmed.status_code == 200, confirmed.content
    return confirmed.json()


def test_a_deposit_counts_while_the_tsa_is_down_and_its_receipt_follows(
    client_for, company_user, opened, tsa_down, mailoutbox, django_capture_on_commit_callbacks
):
    consultation, _ = opened
    client = client_for(company_user)
    content = os.urandom(3000)
    with django_capture_on_commit_callbacks(execute=True):
        result = deposit_over_http(client, consultation, content)
    assert result["status"] == PliStatus.RECU and result["receipt_url"] is None
    pli = Pli.objects.get(pk=result["pli"])
    assert pli.status == PliStatus.RECU and pli.completed_at and not pli.receipt
    entry = JournalEntry.objects.get(action="marches.pli.received")
    assert entry.payload["receipt_deferred"] is True
    assert mailoutbox == []
    page = client.get(f"/marches/plis/{pli.pk}/accuse.pdf")
    assert page.status_code == 404
    listed = client.get(f"/marches/consultations/{consultation.pk}/depot/").content.decode()
    assert "en cours d&#x27;émission" in listed or "en cours d'émission" in listed

    # Still down: nothing issued, nothing lost.
    assert receipts.issue_missing_receipts() == 0
    pli.refresh_from_db()
    assert not pli.receipt

    # The service answers again (here: the local TSA).
    tsa_down.SIGNING_TSA_URL = ""
    with django_capture_on_commit_callbacks(execute=True):
        assert receipts.issue_missing_receipts() == 1
    pli.refresh_from_db()
    pdf = pli.receipt.read()
    assert len(PdfFileReader(io.BytesIO(pdf)).embedded_signatures) == 1
    text = extract_text(pdf)
    assert pli.files.get().sha256 in text and "offre.pdf" in text
    assert len(mailoutbox) == 1 and mailoutbox[0].attachments[0][2] == "application/pdf"
    assert mailoutbox[0].to == [company_user.email]
    issued = JournalEntry.objects.get(action="marches.pli.receipt_issued")
    assert issued.payload["late_issue"] is True
    assert client.get(f"/marches/plis/{pli.pk}/accuse.pdf").status_code == 200
    # Issued once.
    assert receipts.issue_missing_receipts() == 0
    assert len(mailoutbox) == 1


def test_a_receipt_signed_at_once_is_never_issued_again(
    client_for, company_user, opened, mailoutbox, django_capture_on_commit_callbacks
):
    consultation, _ = opened
    client = client_for(company_user)
    with django_capture_on_commit_callbacks(execute=True):
        result = deposit_over_http(client, consultation, b"offre")
    assert result["receipt_url"]
    assert len(mailoutbox) == 1
    assert receipts.issue_missing_receipts() == 0
    assert len(mailoutbox) == 1
    assert not JournalEntry.objects.filter(action="marches.pli.receipt_issued").exists()


def test_a_receipt_that_cannot_be_built_does_not_hold_back_the_others(
    company_user, opened, tsa_down, monkeypatch
):
    consultation, _ = opened
    first, f = upload_offer(company_user, consultation, b"premiere offre")
    deposit_services.complete_deposit(actor=company_user, pli_pk=first.pk)
    second, f = upload_offer(company_user, consultation, b"seconde offre")
    deposit_services.complete_deposit(actor=company_user, pli_pk=second.pk)
    assert Pli.objects.filter(receipt="").count() == 2
    tsa_down.SIGNING_TSA_URL = ""
    real = receipts.build_receipt

    def broken_for_the_first(pli, files):
        if pli.pk == first.pk:
            raise ValueError("receipt of this pli cannot be built")
        return real(pli, files)

    monkeypatch.setattr(receipts, "build_receipt", broken_for_the_first)
    assert receipts.issue_missing_receipts() == 1
    assert list(Pli.objects.filter(receipt="").values_list("pk", flat=True)) == [first.pk]
