"""Demo data of the sealed bids and the award: a consultation of Lorient Agglomération whose
deadline has passed, with its opening commission, three companies' plis, the opening done,
lot 1 analysed, awarded, its letters sent and its contract notified after the standstill (so
the DECP and OCDS files have a record), lot 2 analysed and waiting for the buyer's decision.

Everything goes through the real services (key ceremony, sealed deposits, signed receipts,
opening with two shares, analysis, decision, letters through the secure messaging,
notification); the clock is shifted back to the day each step would have happened. The
commission's shares exist only inside this function: the demo opens the plis itself, as the
two members would. Idempotent: skipped when the reference exists.
"""

import io
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from emegalis.core import clock
from emegalis.marches.award import selectors as award_selectors
from emegalis.marches.award import services as award_services
from emegalis.marches.award.models import CriterionKind
from emegalis.marches.consultations import dce
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Consultation, Nature, Procedure
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.opening import member_side
from emegalis.marches.opening import services as opening_services
from emegalis.organisations.models import Organisation, User

from . import member_keys
from .marches import BUYER_EMAIL, COMMISSION_EMAILS, _pdf

REFERENCE = "DEMO-2026-010"
# Technical marks /20 given by the buyer, per company and lot.
TECHNICAL_MARKS = {
    ("armor", 1): "15",
    ("breizh", 1): "13",
    ("armor", 2): "14",
    ("oceane", 2): "17",
}
# company key → (depositor e-mail, {lot number: amount € HT})
OFFERS = {
    "armor": ("entreprise.armor@demo.e-megalis.bzh", {1: "182400.00", 2: "96300.00"}),
    "breizh": ("entreprise.breizh@demo.e-megalis.bzh", {1: "171950.00"}),
    "oceane": ("entreprise.oceane@demo.e-megalis.bzh", {2: "104880.00"}),
}


def _deposit(user: User, consultation: Consultation, company: Organisation, amounts) -> None:
    contents = [
        ("candidature", None, "DC1 - lettre de candidature.pdf", [f"Candidature de {company}."]),
    ]
    for lot, amount in amounts.items():
        contents.append(
            (
                "offre",
                lot,
                f"Lot {lot} - acte d'engagement.pdf",
                [f"{company} s'engage pour le lot {lot} au prix de {amount} € HT."],
            )
        )
    payloads = []
    for kind, lot, name, lines in contents:
        payloads.append((kind, lot, name, _pdf(name, lines).read()))
    pli = deposit_services.start_deposit(
        actor=user,
        consultation=consultation,
        files=[
            deposit_services.DeclaredFile(kind=kind, name=name, size=len(data), lot=lot)
            for kind, lot, name, data in payloads
        ],
    )
    by_name = {f.name: f for f in pli.files.all()}
    for _kind, _lot, name, data in payloads:
        deposit_services.receive(
            actor=user,
            pli_pk=pli.pk,
            file_pk=by_name[name].pk,
            offset=0,
            stream=io.BytesIO(data),
            length=len(data),
        )
    deposit_services.complete_deposit(
        actor=user, pli_pk=pli.pk, backup_copy_declared=company.name < "B"
    )


def load(organisations: dict[str, Organisation]) -> None:
    agglo = organisations["agglo"]
    if Consultation.objects.filter(organisation=agglo, reference=REFERENCE).exists():
        return
    buyer = User.objects.get(email=BUYER_EMAIL)
    members = list(User.objects.filter(email__in=COMMISSION_EMAILS).order_by("email"))
    with clock.shifted(timedelta(days=-45)):
        start = timezone.localtime(clock.now()).replace(hour=12, minute=0, second=0, microsecond=0)
        consultation = consultations_services.create_consultation(
            actor=buyer,
            organisation=agglo,
            reference=REFERENCE,
            title="Réfection des chaussées communautaires 2026",
            object="Travaux de réfection de chaussées et de trottoirs sur les voies d'intérêt "
            "communautaire : lot 1 rive gauche du Scorff, lot 2 rive droite.",
            procedure=Procedure.MAPA,
            nature=Nature.TRAVAUX,
            cpv_main="45000000-7",
            cpv_extra=[],
            place_of_execution="Lorient Agglomération",
            departement="056",
            estimated_value=Decimal("300000"),
            lots=[
                {"number": 1, "title": "Rive gauche du Scorff", "cpv": "45000000-7"},
                {"number": 2, "title": "Rive droite du Scorff", "cpv": "45000000-7"},
            ],
            questions_deadline=start + timedelta(days=20),
            bids_deadline=start + timedelta(days=30),
            contact_name="Anne Le Roux",
            contact_email=BUYER_EMAIL,
        )
        for name in ("Règlement de la consultation.pdf", "CCTP.pdf", "BPU.pdf"):
            content = _pdf(f"{REFERENCE} — {name}", [consultation.object])
            content.name = name
            dce.add_dce_file(actor=buyer, consultation=consultation, uploaded_file=content)
        keys = member_keys.ensure(COMMISSION_EMAILS)
        opening_services.create_opening_commission(
            actor=buyer, consultation=consultation, members=members, threshold=2
        )
        shares = {}
        for position, member in enumerate(members, start=1):
            shares[position] = member_side.collect(member, keys[member.email], consultation.pk)
        consultation = consultations_services.publish(actor=buyer, consultation=consultation)
    with clock.shifted(timedelta(days=-17)):
        for key, (email, amounts) in OFFERS.items():
            user = User.objects.filter(email=email).first()
            if user is not None:
                _deposit(user, consultation, organisations[key], amounts)
    with clock.shifted(timedelta(days=-14)):
        consultations_services.close_due_consultations()
        opening_services.open_plis(actor=members[0], consultation_pk=consultation.pk, shares=shares)
        for lot in consultation.lots.order_by("number"):
            _analyse(buyer, consultation, lot, organisations)
    lot_1 = consultation.lots.get(number=1)
    with clock.shifted(timedelta(days=-13)):
        decision = award_services.decide(
            actor=buyer,
            consultation=consultation,
            lot=lot_1,
            outcome="attribue",
            reason="Offre économiquement la plus avantageuse au regard des critères du "
            "règlement de la consultation.",
        )
        award_services.send_letters(actor=buyer, decision=decision)
    with clock.shifted(timedelta(days=-1)):
        award_services.notify_contract(
            actor=buyer,
            decision=decision,
            number=award_services.default_contract_number(decision),
            duration_months=12,
            forme_prix="Unitaire",
            types_prix=["Définitif révisable"],
            ccag="Travaux",
            techniques=["Sans objet"],
            modalites_execution=["Bons de commande"],
            considerations_sociales=["Clause sociale"],
            considerations_environnementales=["Pas de considération environnementale"],
        )


def _analyse(
    buyer: User,
    consultation: Consultation,
    lot,
    organisations,
    offers=OFFERS,
    marks=TECHNICAL_MARKS,
) -> None:
    award_services.set_criteria(
        actor=buyer,
        consultation=consultation,
        lot=lot,
        criteria=[
            award_services.CriterionInput(kind=CriterionKind.PRIX, label="Prix", weight=60),
            award_services.CriterionInput(
                kind=CriterionKind.TECHNIQUE, label="Valeur technique (mémoire)", weight=40
            ),
        ],
    )
    technical = lot.criteria.get(kind=CriterionKind.TECHNIQUE)
    keys = {organisations[key].pk: key for key in offers}
    for pli in award_selectors.candidate_plis(consultation, lot):
        key = keys[pli.company_id]
        award_services.save_evaluation(
            actor=buyer,
            consultation=consultation,
            lot=lot,
            pli=pli,
            price=Decimal(offers[key][1][lot.number]),
            marks={technical.pk: Decimal(marks[key, lot.number])},
            comment="Mémoire technique analysé par le service voirie.",
        )
