"""The procurement journey in Chromium: a buyer creates a consultation with two lots, uploads
a DCE and publishes; a company finds it by a word of its object, downloads the DCE and asks a
question; the buyer answers; the company reads the answer; the buyer publishes a rectificatif
and the company gets the e-mail (Django's test outbox: the live server runs in this process)."""

import re
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from emegalis.core import clock
from emegalis.demo.region import DEMO_PASSWORD, demo_email
from emegalis.marches.consultations.models import Consultation, Retrait, State

pytestmark = pytest.mark.browser

OBJECT_WORD = "hydrocurage"


def _login(page, local_part):
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(demo_email(local_part))
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))


def _logout(page):
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("link", name="Se connecter").first).to_be_visible()


def test_buyer_publishes_company_downloads_asks_and_gets_the_rectificatif(
    page, demo_region, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    local = timezone.localtime(clock.now())

    # --- The buyer creates the consultation with two lots and a DCE, then publishes.
    _login(page, "acheteur.agglo")
    page.goto("/services/marches/")
    expect(page).to_have_url(re.compile(r"/marches/acheteur/$"))
    page.get_by_role("link", name="Nouvelle consultation").click()
    page.locator("#id_reference").fill("E2E-2026-01")
    page.locator("#id_title").fill("Curage des réseaux d'assainissement")
    page.locator("#id_object").fill(
        f"Prestations d'{OBJECT_WORD} et d'inspection télévisée des canalisations."
    )
    page.locator("#id_procedure").select_option("ao_ouvert")
    page.locator("#id_nature").select_option("services")
    page.locator("#id_cpv_main").fill("90000000-7")
    # First a deadline below the legal minimum: refused with its reason.
    page.locator("#id_questions_deadline").fill(
        (local + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    )
    page.locator("#id_bids_deadline").fill((local + timedelta(days=12)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.locator("#consultation-form")).to_contain_text("Délai trop court")
    expect(page.locator("#consultation-form")).to_contain_text("CCP R2161-2")
    page.locator("#id_questions_deadline").fill(
        (local + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    )
    page.locator("#id_bids_deadline").fill((local + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_role("status")).to_contain_text("est enregistrée en brouillon")

    for number, title in ((1, "Réseaux unitaires"), (2, "Postes de relèvement")):
        page.locator("#lot_number").fill(str(number))
        page.locator("#lot_title").fill(title)
        page.get_by_role("button", name="Ajouter le lot").click()
        expect(page.get_by_role("status")).to_contain_text(f"Lot {number} ajouté")

    page.locator("#dce_folder").fill("Pièces techniques")
    page.locator("#dce_file").set_input_files(
        files=[{"name": "CCTP.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 CCTP"}]
    )
    page.get_by_role("button", name="Déposer").click()
    expect(page.locator("#staged-files")).to_contain_text("Pièces techniques/CCTP.pdf")
    # Publication waits for the opening commission (the key ceremony).
    page.get_by_role("button", name="Publier la consultation").click()
    expect(page.get_by_role("status")).to_contain_text("Désignez la commission")
    commission_form = page.locator("#commission-form")
    for local_part in ("commission.agglo", "president.cao"):
        commission_form.get_by_label(re.compile(re.escape(demo_email(local_part)))).check()
    commission_form.get_by_role("button", name="Créer les clés d'ouverture").click()
    expect(page.locator("#commission-members")).to_contain_text("à retirer")
    page.get_by_role("button", name="Publier la consultation").click()
    expect(page.get_by_role("status")).to_contain_text("La consultation est publiée")
    consultation = Consultation.objects.get(reference="E2E-2026-01")
    assert consultation.state == State.PUBLIEE
    assert consultation.lots.count() == 2
    _logout(page)

    # --- A company finds it by a word of its object and downloads the DCE.
    _login(page, "entreprise.breizh")
    page.get_by_role("link", name="Consultations").first.click()
    page.get_by_label("Mots-clés").fill(OBJECT_WORD)
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("#result-count")).to_have_text("1 consultation")
    page.get_by_role("link", name="Curage des réseaux d'assainissement").click()
    expect(page.locator("#notice-object")).to_contain_text(OBJECT_WORD)
    page.get_by_role("link", name="Télécharger le DCE").click()
    expect(page.locator("#identified-notice")).to_contain_text("Breizh Informatique")
    with page.expect_download() as download_info:
        page.locator("#download-zip").click()
    download = download_info.value
    assert download.suggested_filename == "DCE-E2E-2026-01-v1.zip"
    with zipfile.ZipFile(download.path()) as archive:
        assert archive.namelist() == ["Pièces techniques/CCTP.pdf"]
        assert archive.read("Pièces techniques/CCTP.pdf") == b"%PDF-1.4 CCTP"
    assert Retrait.objects.filter(
        consultation=consultation, user__email=demo_email("entreprise.breizh")
    ).exists()

    page.goto(f"/marches/consultations/{consultation.pk}/")
    page.locator("#question_text").fill("Le curage des avaloirs est-il compris dans le lot 1 ?")
    page.get_by_role("button", name="Poser la question").click()
    expect(page.get_by_role("status")).to_contain_text("Votre question est transmise")
    _logout(page)

    # --- The buyer answers.
    _login(page, "acheteur.agglo")
    page.goto(f"/marches/acheteur/{consultation.pk}/")
    question = page.locator("article.question").filter(has_text="avaloirs")
    question.get_by_label("Réponse").fill("Oui, les avaloirs relèvent du lot 1.")
    question.get_by_role("button", name="Publier la réponse").click()
    expect(page.get_by_role("status")).to_contain_text("Réponse publiée")
    _logout(page)

    # --- The company sees the answer, without its name.
    _login(page, "entreprise.breizh")
    page.goto(f"/marches/consultations/{consultation.pk}/")
    answer = page.locator("#questions article.answer")
    expect(answer).to_contain_text("Oui, les avaloirs relèvent du lot 1.")
    expect(page.locator("#questions")).not_to_contain_text("Breizh Informatique")
    _logout(page)

    # --- The buyer publishes a rectificatif; the company gets the e-mail.
    mail.outbox.clear()
    _login(page, "acheteur.agglo")
    page.goto(f"/marches/acheteur/{consultation.pk}/")
    page.locator("#dce_file").set_input_files(
        files=[{"name": "BPU.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 BPU"}]
    )
    page.get_by_role("button", name="Déposer").click()
    expect(page.locator("#staged-files")).to_contain_text("BPU.pdf")
    page.locator("#rectif_reason").fill("Ajout du bordereau des prix unitaires")
    page.get_by_role("button", name="Publier le rectificatif").click()
    expect(page.get_by_role("status")).to_contain_text("Rectificatif publié (version 2")

    to_company = [m for m in mail.outbox if m.to == [demo_email("entreprise.breizh")]]
    assert len(to_company) == 1
    assert "Ajout du bordereau des prix unitaires" in to_company[0].body
    assert "BPU.pdf" in to_company[0].body
    assert "Rectificatif" in to_company[0].subject
