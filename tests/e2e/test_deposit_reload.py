"""Resume a deposit after a page reload, in Chromium: a company starts uploading a 10 MiB
offer, the page is reloaded while the second request is on its way (4 MiB received),
the page lists the deposit « en cours » with the bytes received; re-selecting a file of
another size or with other bytes is refused with a clear message; the same file resumes at
the server's offset (bars start at 40 %), completes, and the receipt carries its SHA-256."""

import hashlib
import os
import re

import pytest
from playwright.sync_api import expect

from emegalis.core.pdf import extract_text
from emegalis.marches.conf import exact_size
from emegalis.marches.deposit.models import Pli, PliFile, PliStatus
from tests.e2e import test_plis_journey

pytestmark = pytest.mark.browser

MiB = 1024 * 1024
FILE_URL = re.compile(r".*/marches/plis/\d+/fichiers/\d+/$")
open_consultation = test_plis_journey.open_consultation


def hold_put(page, number: int) -> list:
    """Hold the ``number``-th PUT on the file URLs (never answered until released)."""
    held: list = []
    seen = {"puts": 0}

    def handler(route):
        if route.request.method == "PUT":
            seen["puts"] += 1
            if seen["puts"] == number:
                held.append(route)
                return
        route.continue_()

    page.route(FILE_URL, handler)
    return held


def wait_for(page, held: list) -> None:
    for _ in range(200):
        if held:
            return
        page.wait_for_timeout(100)
    raise AssertionError("the PUT to hold never came")


def test_reload_mid_upload_then_resume_with_the_same_file(page, open_consultation, tmp_path):
    consultation, company_user, *_ = open_consultation
    content = os.urandom(10 * MiB)
    sha = hashlib.sha256(content).hexdigest()
    for folder, data in (
        ("bon", content),
        ("autre-taille", content[: 9 * MiB]),
        # Same name, same size, same first MiB: differs only in the last block sent.
        ("autre-contenu", content[: 3 * MiB] + os.urandom(MiB) + content[4 * MiB :]),
    ):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "offre.pdf").write_bytes(data)

    test_plis_journey._log_in(page, company_user)
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))
    page.goto(f"/marches/consultations/{consultation.pk}/depot/")

    held = hold_put(page, 2)
    page.locator("#file-offre").set_input_files(str(tmp_path / "bon" / "offre.pdf"))
    page.get_by_role("button", name="Déposer le pli").click()
    wait_for(page, held)
    pli_file = PliFile.objects.get()
    assert pli_file.received == 4 * MiB

    # The request on its way is lost with the page (aborted before any byte reached the
    # server, so the offset stays at 4 MiB); the script's retry waits 0.5 s, the reload wins.
    held[0].abort("connectionreset")
    page.reload()
    page.unroute(FILE_URL)
    card = page.locator(f"#resume-{pli_file.pli_id}")
    expect(card).to_contain_text("offre.pdf")
    expect(card).to_contain_text(exact_size(4 * MiB))
    expect(card).to_contain_text(exact_size(10 * MiB))
    expect(page.locator("#resume-warning")).to_contain_text("SHA-256")
    card.get_by_role("button", name="Reprendre ce dépôt").click()
    chooser = card.get_by_label(
        f"Sélectionnez à nouveau les fichiers du dépôt n° {pli_file.pli_id}"
    )
    go = card.get_by_role("button", name="Continuer l'envoi")

    chooser.set_input_files([])
    go.click()
    expect(card.locator(".resume-check")).to_contain_text("« offre.pdf »")
    expect(card.locator(".resume-check")).to_contain_text("manque")

    chooser.set_input_files(str(tmp_path / "autre-taille" / "offre.pdf"))
    go.click()
    expect(card.locator(".resume-check")).to_contain_text("diffère")

    chooser.set_input_files(str(tmp_path / "autre-contenu" / "offre.pdf"))
    go.click()
    expect(card.locator(".resume-check")).to_contain_text(
        "n'est pas le fichier dont l'envoi a commencé"
    )
    pli_file.refresh_from_db()
    assert pli_file.received == 4 * MiB  # nothing sent from a wrong file

    held = hold_put(page, 1)
    chooser.set_input_files(str(tmp_path / "bon" / "offre.pdf"))
    card.get_by_label("J'envoie aussi une copie de sauvegarde").check()
    go.click()
    wait_for(page, held)
    # The bars start at the share the server already holds: 4 MiB of 10.
    expect(page.locator("#progress-overall")).to_have_attribute("value", "40")
    expect(page.locator("#progress-file-0")).to_have_attribute("value", "40")
    assert held[0].request.headers["upload-offset"] == str(4 * MiB)
    held[0].continue_()
    expect(page.locator("#deposit-status")).to_contain_text("Pli reçu", timeout=60_000)
    expect(page.locator("#progress-overall")).to_have_attribute("value", "100")

    pli = Pli.objects.get()
    assert pli.status == PliStatus.RECU and pli.backup_copy_declared
    assert pli.files.get().sha256 == sha
    with page.expect_download() as download_info:
        page.locator("#receipt-link").click()
    text = extract_text(download_info.value.path().read_bytes())
    assert sha in text and "offre.pdf" in text
    page.reload()
    expect(page.locator("#in-progress")).to_have_count(0)


def test_abandon_from_the_page_after_confirming(page, open_consultation):
    consultation, company_user, *_ = open_consultation
    from emegalis.marches.deposit import services as deposit_services

    pli = deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name="brouillon.pdf", size=5 * MiB)],
    )
    test_plis_journey._log_in(page, company_user)
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))
    page.goto(f"/marches/consultations/{consultation.pk}/depot/")
    card = page.locator(f"#resume-{pli.pk}")
    questions: list[str] = []

    def answer(dialog):
        questions.append(dialog.message)
        (dialog.dismiss if len(questions) == 1 else dialog.accept)()

    page.on("dialog", answer)
    card.get_by_role("button", name="Abandonner ce dépôt").click()
    expect(card).to_be_visible()  # first question declined: nothing happens
    assert Pli.objects.filter(pk=pli.pk).exists()
    card.get_by_role("button", name="Abandonner ce dépôt").click()
    expect(page.locator("body")).to_contain_text(f"Dépôt n° {pli.pk} abandonné")
    expect(page.locator("#in-progress")).to_have_count(0)
    assert "ne pourra plus être repris" in questions[0]
    assert not Pli.objects.filter(pk=pli.pk).exists()
