"""A groupement de commandes in Chromium, on the demo region: the coordinator creates it and
adds the Commune de Lorient; both référents sign the convention (second factor, deliberation,
acknowledged act); the survey opens, Lorient enters its needs on the page and the agglomération
through the XLSX sheet; the survey closes, the consultation is created with the état des
besoins in its DCE; it runs through the salle des marchés' services (sealed pli, opening,
award, letters); the coordinator shares the lot out, each member sees
its own amount, Lorient signs and notifies its own marché, and the procedure's costs reach
each member's contributions."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from openpyxl import load_workbook
from playwright.sync_api import expect

from emegalis.core import clock
from emegalis.core.pdf import format_date
from emegalis.demo import member_keys
from emegalis.demo.marches import COMMISSION_EMAILS
from emegalis.demo.plis import _deposit
from emegalis.demo.region import demo_email
from emegalis.groupements import services
from emegalis.groupements.models import Groupement, MemberContract, Survey
from emegalis.marches.award import selectors as award_selectors
from emegalis.marches.award import services as award_services
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import DceFile
from emegalis.marches.opening import member_side
from emegalis.marches.opening import services as opening_services
from emegalis.organisations.models import User
from tests.e2e.browsing import log_in

pytestmark = pytest.mark.browser


def sign(page, groupement_pk, local_part, acte):
    """The référent, signed in with the second factor, signs for its organisation."""
    user = User.objects.get(email=demo_email(local_part))
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="e2e", defaults={"confirmed": True}
    )
    log_in(page, local_part, device)
    page.goto(f"/groupements/{groupement_pk}/")
    page.get_by_label("Date de la délibération").fill("2026-11-20")
    page.get_by_label("Numéro de la délibération").fill(acte)
    page.get_by_label("Référence de l'acte transmis au contrôle de légalité").fill(acte)
    page.get_by_role("button", name=re.compile("Signer la convention")).click()
    expect(page.get_by_text("Convention signée pour votre organisation.")).to_be_visible()
    return device


def award_through_the_salle_des_marches(consultation):
    """Commission, publication, one sealed pli from a demo company, opening, analysis,
    decision and letters through the salle des marchés' services, the clock moved past the
    deadline for what comes after it. Returns the decision and that shift."""
    buyer = User.objects.get(email=demo_email("coordinateur.agglo"))
    members = list(User.objects.filter(email__in=COMMISSION_EMAILS).order_by("email"))
    keys = member_keys.ensure(COMMISSION_EMAILS)
    opening_services.create_opening_commission(
        actor=buyer, consultation=consultation, members=members, threshold=2
    )
    shares = {
        position: member_side.collect(member, keys[member.email], consultation.pk)
        for position, member in enumerate(members, start=1)
    }
    consultation = consultations_services.publish(actor=buyer, consultation=consultation)
    company_user = User.objects.get(email=demo_email("entreprise.armor"))
    company = company_user.memberships.first().organisation
    _deposit(company_user, consultation, company, {None: "1039.00"})
    after_deadline = consultation.bids_deadline - clock.now() + timedelta(hours=1)
    with clock.shifted(after_deadline):
        consultations_services.close_due_consultations()
        opening_services.open_plis(actor=members[0], consultation_pk=consultation.pk, shares=shares)
        award_services.set_criteria(
            actor=buyer,
            consultation=consultation,
            lot=None,
            criteria=[award_services.CriterionInput(kind="prix", label="Prix", weight=100)],
        )
        (pli,) = award_selectors.candidate_plis(consultation, None)
        award_services.save_evaluation(
            actor=buyer,
            consultation=consultation,
            lot=None,
            pli=pli,
            price=Decimal("1039.00"),
            marks={},
        )
        decision = award_services.decide(
            actor=buyer,
            consultation=consultation,
            lot=None,
            outcome="attribue",
            reason="Seule offre, conforme et au prix du marché.",
        )
        award_services.send_letters(actor=buyer, decision=decision)
    decision.refresh_from_db()
    return decision, after_deadline


def test_groupement_journey(page, live_server, demo_region, tmp_path):
    # The coordinator creates the groupement and adds the commune.
    log_in(page, "coordinateur.agglo")
    page.goto("/groupements/")
    page.get_by_role("link", name="Créer un groupement").click()
    page.get_by_label("Objet").fill("Produits d'entretien 2027")
    page.get_by_label("Ponctuel (une procédure)").check()
    page.get_by_label("Début").fill(clock.today().isoformat())
    page.get_by_label("Fin").fill("2027-12-31")
    page.get_by_label("Procédure seule (chaque membre signe et notifie son marché)").check()
    page.get_by_label("CAO du coordonnateur (art. L1414-3 II du CGCT)").check()
    page.get_by_label("Parts égales").check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Groupement créé")).to_be_visible()
    groupement = Groupement.objects.get(object="Produits d'entretien 2027")
    page.get_by_label("Organisation").select_option(label="Commune de Lorient (démo)")
    page.get_by_role("button", name="Ajouter ce membre").click()
    page.get_by_role("button", name=re.compile("Générer la convention")).click()
    expect(page.get_by_role("link", name="Version 1 (PDF)")).to_be_visible()

    # Both référents sign, each citing its acknowledged deliberation.
    sign(page, groupement.pk, "referent.agglo", "DEMOGC_001")
    lorient_device = sign(page, groupement.pk, "referent.lorient", "DEMOGC_002")
    expect(page.get_by_text("Constitué", exact=True)).to_be_visible()

    # The coordinator opens the survey.
    log_in(page, "coordinateur.agglo")
    page.goto(f"/groupements/{groupement.pk}/")
    page.get_by_role("link", name="Ouvrir un recensement des besoins").click()
    page.get_by_label("Intitulé").fill("Recensement produits d'entretien")
    page.get_by_label("Date limite de saisie").fill("2030-01-31T12:00")
    page.get_by_label("Articles à recenser").fill(
        "1 ; Entretien ; Détergent sol 5 L ; bidon ; 12,40\n"
        "1 ; Entretien ; Essuie-mains ; carton ; 31,00"
    )
    page.get_by_role("button", name="Ouvrir le recensement").click()
    expect(page.get_by_text("Recensement ouvert")).to_be_visible()
    survey = Survey.objects.get(groupement=groupement)
    detergent, towels = survey.lots.get().items.all()

    # The agglomération's coordinator fills the sheet and uploads it.
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Télécharger la feuille de besoins")).click()
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    book["Besoins"]["F2"] = 40
    book["Besoins"]["F3"] = 12
    sheet_path = tmp_path / "besoins.xlsx"
    book.save(sheet_path)
    page.get_by_label("Feuille de besoins remplie (.xlsx)").set_input_files(str(sheet_path))
    page.get_by_role("button", name="Importer la feuille").click()
    expect(page.get_by_text("Feuille importée : 2 articles enregistrés.")).to_be_visible()

    # Lorient enters its needs on the page.
    log_in(page, "referent.lorient", lorient_device)
    page.goto(f"/groupements/recensements/{survey.pk}/")
    page.get_by_label(f"Quantité : {detergent.designation}").fill("10")
    page.get_by_label(f"Quantité : {towels.designation}").fill("3")
    page.get_by_role("button", name="Enregistrer mes besoins").click()
    expect(page.get_by_text("Besoins enregistrés.")).to_be_visible()
    expect(page.get_by_role("cell", name="Commune de Lorient (démo)")).to_have_count(0)

    # The coordinator closes the survey and creates the consultation.
    log_in(page, "coordinateur.agglo")
    page.goto(f"/groupements/recensements/{survey.pk}/")
    page.get_by_role("button", name="Clore le recensement maintenant").click()
    page.get_by_role("link", name="Lancer la consultation pour tous les membres").click()
    page.get_by_label("Référence de la consultation").fill("GC-2027-01")
    page.get_by_label("Procédure").select_option(label="Procédure adaptée (MAPA)")
    page.get_by_label("Nature").select_option(label="Fournitures")
    page.get_by_label("Code CPV principal").fill("39000000-2")
    page.get_by_label("Date limite des questions").fill("2027-01-10T12:00")
    page.get_by_label("Date limite de remise des plis").fill("2027-01-20T12:00")
    page.get_by_role("button", name="Créer la consultation").click()
    expect(page.get_by_text(re.compile("Consultation GC-2027-01 créée"))).to_be_visible()
    survey.refresh_from_db()
    assert survey.consultation.estimated_value == Decimal("1085.00")  # 50 × 12.40 + 15 × 31
    assert DceFile.objects.filter(
        consultation=survey.consultation, name="etat-des-besoins-par-membre.pdf"
    ).exists()

    # The consultation runs through the salle des marchés' own services: published, one
    # sealed pli, opened by the commission, analysed, awarded, letters sent.
    decision, after_deadline = award_through_the_salle_des_marches(survey.consultation)
    assert decision.amount == Decimal("1039.00")  # 50 × 11.90 + 15 × 29.60
    page.goto(f"/groupements/recensements/{survey.pk}/")
    page.get_by_role("link", name=re.compile("Répartir le lot 1")).click()
    page.get_by_label(re.compile("Détergent sol 5 L")).fill("11,90")
    page.get_by_label(re.compile("Essuie-mains")).fill("29,60")
    page.get_by_role("button", name="Répartir").click()
    expect(page.get_by_text("Lot 1 réparti entre les membres.")).to_be_visible()
    expect(page.get_by_role("cell", name="831,20 €")).to_be_visible()  # 40 × 11.90 + 12 × 29.60
    expect(page.get_by_role("cell", name="207,80 €")).to_be_visible()  # 10 × 11.90 + 3 × 29.60

    # The procedure's costs are shared out.
    page.goto(f"/groupements/{groupement.pk}/frais/")
    page.get_by_label("Objet des frais").fill("Publication de l'avis")
    page.get_by_label("Montant HT (€)").fill("300,01")
    page.get_by_role("button", name="Répartir ces frais").click()
    expect(page.get_by_text(re.compile("Frais répartis"))).to_be_visible()

    # Lorient sees its own amount only, and the charge among its contributions.
    log_in(page, "referent.lorient", lorient_device)
    page.goto(f"/groupements/recensements/{survey.pk}/")
    expect(page.get_by_role("cell", name="207,80 €")).to_be_visible()
    expect(page.get_by_role("cell", name="831,20 €")).to_have_count(0)

    # « Procédure seule »: Lorient's référent signs its own marché, then notifies it.
    page.get_by_role("link", name="À signer").click()
    expect(page.get_by_role("heading", name="Marché de Commune de Lorient (démo)")).to_be_visible()
    page.get_by_label("Numéro du marché").fill("2027-ENT-01")
    page.get_by_role("button", name="Signer le marché").click()
    expect(page.get_by_text("Marché n° 2027-ENT-01 signé.")).to_be_visible()
    # The letters went out (on the moved clock): the standstill runs, the page says until when.
    ends = decision.standstill_ends_on
    standstill = f"court jusqu'au {format_date(ends)} inclus"
    expect(page.get_by_text(standstill, exact=False)).to_be_visible()
    # After the standstill (the clock moved past it), the référent notifies.
    contract = MemberContract.objects.get(number="2027-ENT-01")
    with clock.shifted(after_deadline + timedelta(days=30)):
        services.notify_member_contract(
            actor=User.objects.get(email=demo_email("referent.lorient")), contract=contract
        )
    page.reload()
    expect(page.locator(".badge", has_text="Notifié")).to_be_visible()
    expect(page.get_by_role("link", name="lettre de notification (PDF)")).to_be_visible()
    contract.refresh_from_db()
    assert contract.amount == Decimal("207.80")
    lorient = (
        User.objects.get(email=demo_email("referent.lorient")).memberships.first().organisation
    )
    page.goto(f"/organisations/{lorient.pk}/contributions/")
    expect(
        page.get_by_text(re.compile("Produits d'entretien 2027 » — Publication de l'avis"))
    ).to_be_visible()

    # The holder finds the notification in its secure messages.
    log_in(page, "entreprise.armor")
    page.goto("/marches/entreprise/messages/")
    expect(
        page.get_by_text(re.compile("Notification du marché n° 2027-ENT-01 — Commune de Lorient"))
    ).to_be_visible()
