"""What a newcomer does first, in Chromium on the demo region: a company signs up from the
home page, confirms its address from the e-mail, deposits a pli and finds its receipt from its
home; the same deposit with the keyboard only; the operator filters the journal, opens an
entry and has the chain verified."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from emegalis.actes.models import Transaction
from emegalis.core.models import JournalEntry
from emegalis.core.pdf import extract_text
from emegalis.marches.consultations.models import Consultation
from emegalis.marches.deposit.models import Pli, PliStatus
from emegalis.organisations.identifiers import siren_from_prefix, siret_from_siren
from emegalis.organisations.models import User
from tests.e2e.browsing import log_in
from tests.e2e.test_actes_journey import make_pdf

pytestmark = pytest.mark.browser

PASSWORD = "un-mot-de-passe-solide-42"
SIRET = siret_from_siren(siren_from_prefix("61234567"))


def _offer(tmp_path, name="offre.pdf"):
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.4 offre de test\n%%EOF\n")
    return path


def test_a_company_signs_up_from_home_confirms_deposits_and_finds_its_receipt(
    page, demo_region, tmp_path
):
    consultation = Consultation.objects.get(reference="DEMO-2026-001")
    page.goto("/")
    page.get_by_role("link", name="Inscrire mon entreprise").first.click()
    page.get_by_label("SIRET de l'entreprise").fill(SIRET)
    page.get_by_label("Raison sociale").fill("Kerne Peinture")
    page.get_by_label("Prénom").fill("Maël")
    page.get_by_label(re.compile(r"^Nom\b")).fill("Le Du")
    page.get_by_label("Adresse électronique").fill("mael@kerne.test")
    page.get_by_label(re.compile(r"^Mot de passe\b")).fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    # The conditions must be accepted: refused, nothing created, the form kept.
    expect(page.locator("#signup-form")).to_contain_text("Acceptez les conditions")
    assert not User.objects.filter(email="mael@kerne.test").exists()
    page.get_by_label(re.compile(r"^Mot de passe\b")).fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    page.get_by_label("J'ai lu et j'accepte les conditions d'utilisation").check()
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.locator("#signup-sent")).to_contain_text("mael@kerne.test")

    # Not usable before the address is confirmed.
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill("mael@kerne.test")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("pas encore confirmée")).to_be_visible()

    message = next(m for m in mail.outbox if m.to == ["mael@kerne.test"])
    # The e-mail carries SITE_URL's address; the live server listens elsewhere: its path.
    link = re.search(r"http://\S+?(/compte/confirmer/\S+/)", message.body).group(1)
    page.goto(link)
    expect(page.locator("#signup-confirmed")).to_be_visible()
    page.get_by_role("link", name="Se connecter").last.click()
    page.get_by_label("Adresse électronique").fill("mael@kerne.test")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))
    # A company's own home: no convention talk, its space instead.
    expect(page.locator("main")).not_to_contain_text("Aucune convention")
    expect(page.get_by_role("link", name="Mes dépôts et accusés de réception")).to_be_visible()

    page.goto(f"/marches/consultations/{consultation.pk}/")
    page.get_by_role("link", name="Déposer un pli").click()
    page.locator("#file-offre-1").set_input_files(str(_offer(tmp_path)))
    page.get_by_role("button", name="Déposer le pli").click()
    expect(page.locator("#deposit-status")).to_contain_text("Pli reçu", timeout=30_000)
    pli = Pli.objects.get(company_label="Kerne Peinture")
    assert pli.status == PliStatus.RECU

    # Its home leads to the deposit and its receipt; the notice recalls it too.
    page.get_by_role("link", name="Tableau de bord").click()
    page.get_by_role("link", name="Mes dépôts et accusés de réception").click()
    row = page.locator("#company-deposits tbody tr").first
    expect(row).to_contain_text("DEMO-2026-001")
    expect(row).to_contain_text("Reçu dans les délais")
    with page.expect_download() as download:
        row.get_by_role("link", name=re.compile("Télécharger l'accusé")).click()
    assert "offre.pdf" in extract_text(download.value.path().read_bytes())
    page.goto(f"/marches/consultations/{consultation.pk}/")
    expect(page.locator("#my-pli")).to_contain_text("reçu dans les délais")


def _tab_to(page, selector: str, limit: int = 150) -> None:
    """Press Tab until the element has the focus (as a keyboard user would)."""
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} jamais atteint au clavier")


def test_a_deposit_with_the_keyboard_only(page, demo_region, tmp_path):
    consultation = Consultation.objects.get(reference="DEMO-2026-003")
    log_in(page, "entreprise.armor")
    page.goto(f"/marches/consultations/{consultation.pk}/")
    # The skip link first, then on to the deposit link: Tab and Enter only.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    _tab_to(page, "#deposit-link")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Déposer un pli")).to_be_visible()
    _tab_to(page, "#file-offre-1")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(_offer(tmp_path, "offre-clavier.pdf")))
    _tab_to(page, "#backup-copy")
    page.keyboard.press("Space")
    expect(page.locator("#backup-copy")).to_be_checked()
    _tab_to(page, "#deposit-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#deposit-status")).to_contain_text("Pli reçu", timeout=30_000)
    pli = Pli.objects.get(consultation=consultation, company_label__startswith="Armor")
    assert pli.status == PliStatus.RECU and pli.backup_copy_declared
    _tab_to(page, "#receipt-link")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert "offre-clavier.pdf" in extract_text(download.value.path().read_bytes())


def test_the_operator_filters_the_journal_opens_an_entry_and_verifies_the_chain(page, demo_region):
    log_in(page, "operateur")
    page.get_by_role("link", name="Journal", exact=True).click()
    expect(page.get_by_role("heading", name="Journal de la plateforme")).to_be_visible()
    total = JournalEntry.objects.count()
    expect(page.locator("#journal-count")).to_contain_text(f"{total} entrée")

    page.get_by_label("Type d'événement").select_option("demo.loaded")
    page.get_by_role("button", name="Filtrer").click()
    expected = JournalEntry.objects.filter(action="demo.loaded").count()
    expect(page.locator("#journal-count")).to_contain_text(f"{expected} entrée")
    rows = page.locator("#journal tbody tr")
    expect(rows).to_have_count(expected)
    expect(rows.first).to_contain_text("demo.loaded")

    # The export keeps the filter.
    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter ces entrées (CSV)").click()
    lines = download.value.path().read_text(encoding="utf-8-sig").strip().splitlines()
    assert len(lines) == expected + 1 and all("demo.loaded" in line for line in lines[1:])

    entry = JournalEntry.objects.filter(action="demo.loaded").order_by("-id").first()
    rows.first.get_by_role("link").click()
    expect(page.locator("#entry-hash")).to_have_text(entry.entry_hash)
    expect(page.locator("#previous-hash")).to_have_text(entry.previous_hash)

    page.get_by_role("link", name="Journal", exact=True).first.click()
    page.get_by_role("button", name="Vérifier la chaîne").click()
    expect(page.locator("#verification-result")).to_contain_text("Journal intègre")
    expect(page.locator("#verification-result")).to_contain_text("entrées vérifiées")


def test_an_act_is_transmitted_with_the_keyboard_only(
    page, demo_region, live_server, settings, tmp_path
):
    settings.PREFECTURE_COUNTERPART_ENABLED = True
    settings.ACTES_TRANSPORT_URL = f"{live_server.url}/prefecture/depot/"
    settings.PREFECTURE_RETURN_URL = f"{live_server.url}/actes/retour/"
    settings.ACTES_RETURN_TOKEN = settings.PREFECTURE_RETURN_TOKEN = "jeton-e2e"
    pdf = make_pdf(tmp_path / "clavier.pdf", "Délibération au clavier")
    log_in(page, "actes.lanester")
    _tab_to(page, "nav a:text-is('Actes')")
    page.keyboard.press("Enter")
    _tab_to(page, "main a:text-is('Transmettre un acte')")
    page.keyboard.press("Enter")
    _tab_to(page, "#id_nature")
    page.keyboard.type("Délib")
    _tab_to(page, "#id_numero_interne")
    page.keyboard.type("DEL2026_077")
    _tab_to(page, "#id_decision_date")
    page.keyboard.type("01012026")  # 1 January, whichever order the browser's locale uses
    _tab_to(page, "#id_objet")
    page.keyboard.type("Tarifs de la cantine scolaire")
    _tab_to(page, "#id_classification")
    page.keyboard.type("7.1")
    _tab_to(page, "#id_document")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(pdf)
    _tab_to(page, "#id_type_acte")
    page.keyboard.type("99_DE")
    _tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#acte-status")).to_be_visible()
    acte = Transaction.objects.get(numero_interne="DEL2026_077")
    assert acte.objet == "Tarifs de la cantine scolaire"
    assert acte.decision_date.isoformat() == "2026-01-01"
    assert acte.matiere_code == "7.1" and acte.nature == 1  # délibération
