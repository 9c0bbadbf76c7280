"""In Chromium on a slow line (upload throttled to 2 MiB/s): the bars follow the bytes sent
within a request, not only the server's answers at the end of each request."""

import os
import re

import pytest
from playwright.sync_api import expect

from emegalis.marches.deposit.models import Pli, PliStatus
from tests.e2e import test_plis_journey

pytestmark = pytest.mark.browser

MiB = 1024 * 1024
open_consultation = test_plis_journey.open_consultation


def test_the_bars_move_within_a_request_on_a_slow_line(page, open_consultation, tmp_path):
    consultation, company_user, *_ = open_consultation
    offer = tmp_path / "offre.pdf"
    offer.write_bytes(os.urandom(8 * MiB))
    test_plis_journey._log_in(page, company_user)
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))
    page.goto(f"/marches/consultations/{consultation.pk}/depot/")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 5, "downloadThroughput": -1, "uploadThroughput": 2 * MiB},
    )
    page.locator("#file-offre").set_input_files(str(offer))
    page.get_by_role("button", name="Déposer le pli").click()
    seen = set()
    for _ in range(400):
        value = (
            page.locator("#progress-overall").get_attribute("value")
            if page.locator("#progress-overall").count()
            else None
        )
        if value is not None:
            seen.add(round(float(value)))
        if "Pli reçu" in (page.locator("#deposit-status").text_content() or ""):
            break
        page.wait_for_timeout(50)
    expect(page.locator("#deposit-status")).to_contain_text("Pli reçu", timeout=60_000)
    assert Pli.objects.get().status == PliStatus.RECU
    # Requests of 4 MiB then 4 MiB answer at 50 % and 100 %: anything else was shown while
    # the bytes of a request were on their way.
    assert seen - {0, 50, 100}, seen
