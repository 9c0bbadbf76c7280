"""In Chromium: a company confirms its deposit while the timestamping service does not answer;
the page says the pli is received and that the signed receipt will follow by e-mail; once the
service answers again, the periodic job issues it and the page offers it."""

import hashlib
import os
import re
import socket

import pytest
from playwright.sync_api import expect

from emegalis.core.pdf import extract_text
from emegalis.marches.deposit import receipts
from emegalis.marches.deposit.models import Pli, PliStatus
from tests.e2e import test_plis_journey

pytestmark = pytest.mark.browser

open_consultation = test_plis_journey.open_consultation


def test_a_deposit_confirmed_while_the_tsa_is_down(page, open_consultation, settings, tmp_path):
    consultation, company_user, *_ = open_consultation
    with socket.socket() as probe:  # a port where nothing listens: connections refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SIGNING_TSA_URL = f"http://127.0.0.1:{port}/horodatage/"
    content = os.urandom(300_000)
    offer = tmp_path / "offre.pdf"
    offer.write_bytes(content)

    test_plis_journey._log_in(page, company_user)
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))
    page.goto(f"/marches/consultations/{consultation.pk}/depot/")
    page.locator("#file-offre").set_input_files(str(offer))
    page.get_by_role("button", name="Déposer le pli").click()
    status = page.locator("#deposit-status")
    expect(status).to_contain_text("Pli reçu", timeout=60_000)
    expect(status).to_contain_text("dès que le service d'horodatage répondra")
    expect(page.locator("#receipt-link")).to_have_count(0)
    pli = Pli.objects.get()
    assert pli.status == PliStatus.RECU and not pli.receipt

    settings.SIGNING_TSA_URL = ""  # the service answers again (the local TSA)
    assert receipts.issue_missing_receipts() == 1
    page.reload()
    with page.expect_download() as download_info:
        page.locator("#my-plis").get_by_role(
            "link", name=re.compile("Télécharger l.accusé")
        ).click()
    text = extract_text(download_info.value.path().read_bytes())
    assert hashlib.sha256(content).hexdigest() in text
