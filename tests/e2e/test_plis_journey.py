"""Deposit and opening of a pli in Chromium: a company uploads a 20 MiB offer, the connection
is cut mid-upload (the test aborts one request), the page resumes from the server's offset
and completes; the receipt PDF lists the file with the right SHA-256; after the deadline two
of the three commission members open the plis (one logged in with TOTP, the other typing
their share) and the signed PV lists the pli as intact. Then the award: the buyer sets the
criteria, analyses the two offers, awards the lot to the best-ranked one and sends the
letters; the other company reads its rejection letter in the secure messaging (the buyer
sees the read receipt); after the standstill the buyer notifies the contract, and the
public DECP file validates against the official schema."""

import hashlib
import io
import json
import os
import re
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from emegalis.core import clock
from emegalis.core.pdf import extract_text
from emegalis.core.services_catalog import Service
from emegalis.marches.award.models import Contract
from emegalis.marches.conf import exact_size
from emegalis.marches.consultations import dce
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Nature, Procedure, State
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit.models import Pli, PliStatus
from emegalis.marches.opening import services as opening_services
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from tests.factories import (
    PASSWORD,
    OrganisationFactory,
    collect_share,
    make_commission_member,
    make_convention,
    make_member,
    token_for,
)

pytestmark = pytest.mark.browser

MiB = 1024 * 1024


@pytest.fixture
def open_consultation(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    commune = OrganisationFactory(name="Commune de Vannes", departement="056")
    make_convention(commune, [Service.MARCHES], start=date(2020, 1, 1), end=None)
    buyer = make_member(commune, Role.ACHETEUR)
    consultation = consultations_services.create_consultation(
        actor=buyer,
        organisation=commune,
        reference="E2E-PLI-01",
        title="Entretien des espaces verts",
        object="Tonte, taille et désherbage des espaces verts communaux.",
        procedure=Procedure.AO_OUVERT,
        nature=Nature.SERVICES,
        cpv_main="90910000-9",
        departement="056",
        bids_deadline=clock.now() + timedelta(days=40),
        questions_deadline=clock.now() + timedelta(days=30),
    )
    from django.core.files.base import ContentFile

    rc = ContentFile(b"%PDF-1.4 RC")
    rc.name = "RC.pdf"
    dce.add_dce_file(actor=buyer, consultation=consultation, uploaded_file=rc, folder="")
    members = [make_commission_member(commune) for _ in range(3)]
    opening_services.create_opening_commission(
        actor=buyer, consultation=consultation, members=members, threshold=2
    )
    consultation = consultations_services.publish(actor=buyer, consultation=consultation)
    shares = [collect_share(m, consultation.pk) for m in members]
    company = OrganisationFactory(
        name="Jardins d'Armor", kind=OrganisationKind.ENTREPRISE, insee_nature="", departement=""
    )
    rival = OrganisationFactory(
        name="Paysages de l'Ouest",
        kind=OrganisationKind.ENTREPRISE,
        insee_nature="",
        departement="",
    )
    rival_user = make_member(rival, Role.ENTREPRISE)
    company_user = make_member(company, Role.ENTREPRISE)
    return consultation, company_user, members, shares, buyer, rival_user


def _deposit_by_services(user, consultation, content: bytes) -> None:
    pli = deposit_services.start_deposit(
        actor=user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name="offre.pdf", size=len(content))],
    )
    deposit_services.receive(
        actor=user,
        pli_pk=pli.pk,
        file_pk=pli.files.get().pk,
        offset=0,
        stream=io.BytesIO(content),
        length=len(content),
    )
    deposit_services.complete_deposit(actor=user, pli_pk=pli.pk)


def _log_in(page, user, *, device=None):
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    if device is not None:
        page.locator("#id_token").fill(token_for(device))
        page.get_by_role("button", name="Valider").click()


def test_company_deposits_20_mib_across_a_cut_and_two_of_three_members_open(
    page, open_consultation, tmp_path, monkeypatch
):
    consultation, company_user, members, shares, buyer, rival_user = open_consultation
    _deposit_by_services(rival_user, consultation, b"%PDF-1.4 offre Paysages de l'Ouest")
    offer = tmp_path / "offre-financiere.pdf"
    content = os.urandom(20 * MiB)
    offer.write_bytes(content)
    sha = hashlib.sha256(content).hexdigest()

    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(company_user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))

    page.goto(f"/marches/consultations/{consultation.pk}/")
    page.get_by_role("link", name="Déposer un pli").click()
    expect(page.get_by_role("heading", name="Déposer un pli")).to_be_visible()

    # Cut the connection on the second PUT (after 4 MiB were acknowledged).
    puts = {"count": 0}

    def cut_second_put(route):
        if route.request.method == "PUT":
            puts["count"] += 1
            if puts["count"] == 2:
                route.abort("connectionreset")
                return
        route.continue_()

    page.route(re.compile(r".*/marches/plis/\d+/fichiers/\d+/$"), cut_second_put)
    page.locator("#file-offre").set_input_files(str(offer))
    dc1 = tmp_path / "DC1.pdf"
    dc1.write_bytes(b"%PDF-1.4 lettre de candidature")
    page.get_by_label("DC1 — lettre de candidature").set_input_files(str(dc1))
    page.get_by_label("J'envoie aussi une copie de sauvegarde").check()
    page.get_by_role("button", name="Déposer le pli").click()
    expect(page.locator("#deposit-status")).to_contain_text("Pli reçu", timeout=60_000)
    expect(page.locator("#deposit-status")).to_contain_text("Reçu dans les délais")
    assert puts["count"] > 2
    expect(page.locator("#progress-overall")).to_have_attribute("value", "100")
    expect(page.locator("#progress-file-0")).to_have_attribute("value", "100")

    pli = Pli.objects.get(company_label="Jardins d'Armor")
    assert pli.status == PliStatus.RECU and pli.backup_copy_declared
    assert pli.files.get(kind="offre").sha256 == sha
    assert pli.files.get(kind="candidature").document == "dc1"

    with page.expect_download() as download_info:
        page.locator("#receipt-link").click()
    pdf = download_info.value.path().read_bytes()
    text = extract_text(pdf)
    assert sha in text
    words = " ".join(text.split())  # the PDF's text may give back no-break spaces as spaces
    assert "offre-financiere.pdf" in text and " ".join(exact_size(20 * MiB).split()) in words
    assert "Candidature (DC1 — lettre de candidature)" in text

    # --- After the deadline, members 1 and 3 of the commission open the deposit_services.
    moment = consultation.bids_deadline + timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: moment)
    page.get_by_role("button", name="Se déconnecter").click()
    president = members[0]
    device = TOTPDevice.objects.create(user=president, confirmed=True, name="e2e")
    _log_in(page, president, device=device)
    page.get_by_role("link", name="Commission d'ouverture").click()
    page.get_by_role("link", name="Séance d'ouverture").click()
    page.locator("#share-1").fill(shares[0])
    page.locator("#share-3").fill(shares[2])
    page.get_by_role("button", name="Ouvrir les plis").click()
    expect(page.locator("#opening-done")).to_contain_text("Part 1")
    expect(page.locator("#opened-files")).to_contain_text("intègre (SHA-256 conforme)")
    with page.expect_download() as download_info:
        page.locator("#pv-link").click()
    pv = extract_text(download_info.value.path().read_bytes())
    assert "Jardins d'Armor" in pv and f"Pli n° {pli.pk}" in pv and sha in pv
    assert "SHA-256 conforme" in pv

    # --- Award: default criteria (price 60 %, technical value 40 %), two offers analysed.
    page.get_by_role("button", name="Se déconnecter").click()
    _log_in(page, buyer)
    page.goto(f"/marches/acheteur/{consultation.pk}/")
    page.locator("#attribution").get_by_role("link", name="Critères").click()
    page.get_by_role("button", name=re.compile("Critères par défaut")).click()
    page.goto(f"/marches/acheteur/{consultation.pk}/attribution/lot/0/analyse/")
    for company, price, mark in (
        ("Jardins d'Armor", "100000", "14"),
        ("Paysages de l'Ouest", "125000", "18"),
    ):
        page.get_by_label(f"Prix de {company}").fill(price)
        page.get_by_label(f"Valeur technique de {company} (sur 20)").fill(mark)
        page.get_by_role("button", name=f"Enregistrer l'offre de {company}").click()
    # 0.6 × 20 + 0.4 × 14 = 17.6 against 0.6 × 16 + 0.4 × 18 = 16.8: the cheaper offer first.
    ranking = page.locator("#analysis")
    expect(ranking).to_contain_text("17,6")
    expect(ranking).to_contain_text("16,8")

    page.goto(f"/marches/acheteur/{consultation.pk}/attribution/lot/0/decision/")
    page.get_by_label("Attribuer le lot à l'offre classée première").check()
    page.get_by_label("Motivation").fill("Offre économiquement la plus avantageuse.")
    page.get_by_role("button", name="Enregistrer la décision").click()
    page.goto(f"/marches/acheteur/{consultation.pk}/attribution/lot/0/lettres/")
    page.get_by_role("button", name="Envoyer les lettres").click()
    standstill_end = timezone.localdate(moment) + timedelta(days=11)
    expect(page.locator("#letters-sent")).to_contain_text(standstill_end.strftime("%d/%m/%Y"))
    consultation.refresh_from_db()
    assert consultation.state == State.ATTRIBUEE

    # --- The other company reads its rejection letter in the secure messaging.
    page.get_by_role("button", name="Se déconnecter").click()
    _log_in(page, rival_user)
    page.goto("/marches/entreprise/messages/")
    page.locator("table a").first.click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"\.pdf$")).click()
    letter = extract_text(download_info.value.path().read_bytes())
    assert "Jardins d'Armor" in letter and standstill_end.strftime("%d/%m/%Y") in letter

    page.get_by_role("button", name="Se déconnecter").click()
    _log_in(page, buyer)
    page.goto(f"/marches/acheteur/{consultation.pk}/attribution/lot/0/lettres/")
    expect(page.locator("#letters")).to_contain_text(f"par {rival_user.email}")

    # --- Notification is refused during the standstill, accepted the day after it ends.
    page.goto(f"/marches/acheteur/{consultation.pk}/attribution/lot/0/notification/")
    expect(page.locator("#notification-refusal")).to_be_visible()
    after = timezone.make_aware(
        timezone.datetime.combine(standstill_end + timedelta(days=1), timezone.datetime.min.time())
    ) + timedelta(hours=10)
    monkeypatch.setattr(clock, "now", lambda: after)
    page.reload()
    page.get_by_label("Durée (mois)").fill("36")
    page.get_by_role("button", name="Notifier le marché").click()
    contract = Contract.objects.get()
    assert contract.holder.name == "Jardins d'Armor" and contract.amount == 100000

    # --- The public DECP file validates against the official schema.
    response = page.request.get("/marches/donnees-essentielles/decp.json")
    assert response.ok
    data = json.loads(response.body())
    schema_file = Path(__file__).resolve().parents[2] / (
        "src/emegalis/marches/data/schemas/schema_decp_v2.0.3.json"
    )
    jsonschema.Draft7Validator(json.loads(schema_file.read_text())).validate(data)
    records = data["marches"]["marche"]
    assert [r["id"] for r in records] == [contract.number]
    assert records[0]["titulaires"][0]["titulaire"]["id"] == contract.holder.siret
