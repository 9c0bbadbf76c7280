"""A commune's agent transmits a délibération with one annex in Chromium; the prefecture
counterpart acknowledges it over real HTTP; the stamped PDF holds the ID and the dates; the
prefecture asks for more documents; the commune answers with a PDF; the answer is acknowledged.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from emegalis.actes.models import Transaction
from emegalis.core.pdf import DocumentBuilder, extract_text
from emegalis.demo.region import DEMO_PASSWORD, demo_email
from tests.actes.helpers import check_all_stored_archives

pytestmark = pytest.mark.browser


def make_pdf(path, title):
    doc = DocumentBuilder(title=title)
    doc.title_line(title)
    doc.paragraph("Document de test du parcours navigateur.")
    path.write_bytes(doc.build())
    return str(path)


def log_in(page, local_part):
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(demo_email(local_part))
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))


def test_acte_journey(browser, page, live_server, demo_region, settings, tmp_path):
    settings.PREFECTURE_COUNTERPART_ENABLED = True
    settings.ACTES_TRANSPORT_URL = f"{live_server.url}/prefecture/depot/"
    settings.PREFECTURE_RETURN_URL = f"{live_server.url}/actes/retour/"
    settings.ACTES_RETURN_TOKEN = settings.PREFECTURE_RETURN_TOKEN = "jeton-e2e"
    acte_pdf = make_pdf(tmp_path / "deliberation.pdf", "Délibération DEL2026_042")
    annexe_pdf = make_pdf(tmp_path / "annexe.pdf", "Plan de situation")
    pieces_pdf = make_pdf(tmp_path / "demande.pdf", "Demande de pièces complémentaires")
    reponse_pdf = make_pdf(tmp_path / "reponse.pdf", "Avis des domaines")

    # The commune's agent transmits the act.
    log_in(page, "actes.lanester")
    page.get_by_role("link", name="Actes", exact=True).click()
    page.get_by_role("link", name="Transmettre un acte").click()
    page.get_by_label("Nature de l'acte").select_option(label="Délibérations")
    page.get_by_label("Numéro de l'acte").fill("DEL2026_042")
    page.get_by_label("Date de la décision").fill("2026-01-15")
    page.get_by_label("Objet").fill("Acquisition d'une parcelle pour la future école")
    page.get_by_label("Classification (matière)").select_option(value="3.1")
    page.get_by_label("Document principal (PDF)").set_input_files(acte_pdf)
    page.get_by_label("Typologie du document principal").select_option(value="99_DE")
    page.get_by_label("Annexe 1", exact=True).set_input_files(annexe_pdf)
    page.get_by_label("Typologie de l'annexe 1").select_option(value="21_DE")
    page.get_by_role("button", name="Transmettre à la préfecture").click()

    expect(page.locator("#acte-status")).to_contain_text("Reçu par la préfecture")
    acte = Transaction.objects.get(numero_interne="DEL2026_042")
    assert re.fullmatch(r"056-\d{9}-20260115-DEL2026_042-DE", acte.id_acte)
    expect(page.locator("#id-acte")).to_have_text(acte.id_acte)

    with page.expect_download() as download_info:
        page.locator("#stamped-link").click()
    text = extract_text(Path(download_info.value.path()).read_bytes())
    assert f"ID : {acte.id_acte}" in text
    assert f"Reçu en préfecture le {acte.date_reception:%d/%m/%Y}" in text
    assert "Envoyé en préfecture le " in text

    # The prefecture asks for more documents.
    prefecture_context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    pref = prefecture_context.new_page()
    pref.set_default_timeout(10_000)
    log_in(pref, "prefecture")
    pref.get_by_role("link", name="Préfecture", exact=True).click()
    pref.get_by_role("link", name=acte.id_acte).click()
    pref.get_by_label("Type de courrier").select_option(label="Demande de pièces complémentaires")
    pref.get_by_label("Pièces demandées, motif ou nature de l'illégalité").fill(
        "L'avis du service des domaines."
    )
    pref.get_by_label("Courrier (PDF)").set_input_files(pieces_pdf)
    pref.get_by_role("button", name="Envoyer le courrier").click()
    expect(pref.get_by_role("status")).to_contain_text("Courrier envoyé")

    # The commune sees it (automatic AR sent) and answers with a PDF.
    page.reload()
    letter = page.locator(".letter").first
    expect(letter).to_contain_text("Demande de pièces complémentaires")
    expect(letter).to_contain_text("Courrier reçu, accusé de réception envoyé")
    letter.get_by_label("Envoyer les pièces / répondre").check()
    letter.get_by_label("Document (PDF, XML, JPG ou PNG)").set_input_files(reponse_pdf)
    letter.get_by_role("button", name="Envoyer la réponse").click()
    expect(page.get_by_role("status")).to_contain_text("Votre réponse part à la préfecture")
    expect(page.locator(".reply").first).to_contain_text("Transmis, accusé de réception attendu")

    # The prefecture acknowledges the answer.
    pref.reload()
    pref.get_by_role("button", name="Acquitter la réponse").click()
    expect(pref.get_by_role("status")).to_contain_text("Accusé de réception envoyé")
    prefecture_context.close()

    page.reload()
    expect(page.locator(".reply").first).to_contain_text("Reçu par la préfecture")
    assert check_all_stored_archives() >= 3  # act, AR, letters and replies
