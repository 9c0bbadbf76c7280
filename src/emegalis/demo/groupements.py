"""Demo data of the groupements service, through its services: « Fournitures de bureau 2027 »,
coordinated by Lorient Agglomération with the Commune de Lorient, constituted (each member's
deliberation transmitted to the prefecture and acknowledged) and its needs survey open; a
second groupement whose convention awaits the Commune de Lorient's signature; and « Papier et
toner 2026 », whose consultation went through the salle des marchés (sealed plis, opening,
analysis, award, notification, with the clock shifted back to each step's day) and whose lots
are shared out between the members, with the procedure's publication costs."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from emegalis.core import clock
from emegalis.demo.actes import _create, _transmit
from emegalis.demo.marches import COMMISSION_EMAILS
from emegalis.demo.plis import _analyse, _deposit
from emegalis.groupements import services
from emegalis.groupements.models import Groupement, MemberContract
from emegalis.marches.award import services as award_services
from emegalis.marches.consultations import dce
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Nature, Procedure
from emegalis.marches.opening import member_side
from emegalis.marches.opening import services as opening_services
from emegalis.organisations.models import Organisation, User

from . import member_keys
from .marches import _pdf

COMMON = {
    "kind": "ponctuel",
    "missions": "procedure",
    "cao": "coordinateur",
    "joining_rules": "",
    "withdrawal_rules": "",
}
ITEMS = """1 ; Papeterie ; Ramette de papier A4 80 g recyclé ; ramette ; 3,20
1 ; Papeterie ; Enveloppe C4 kraft, paquet de 250 ; paquet ; 18,50
1 ; Papeterie ; Stylo bille bleu, boîte de 50 ; boîte ; 9,90
2 ; Consommables d'impression ; Cartouche de toner noir, modèle courant ; cartouche ; 64,00
"""


def _user(local_part: str) -> User | None:
    return User.objects.filter(email=f"{local_part}@demo.e-megalis.bzh").first()


def _approve(org: Organisation, referent: User, groupement: Groupement, numero: str) -> None:
    """The member's deliberation, transmitted to the prefecture, then its signature."""
    decision = clock.today() - timedelta(days=10)
    acte = _create(
        org,
        referent,
        numero,
        f"Approbation de la convention constitutive du groupement de commandes « "
        f"{groupement.object} »",
        [1, 1],
        decision,
    )
    _transmit(acte)
    services.sign_convention(
        actor=referent,
        groupement=groupement,
        organisation=org,
        deliberation_date=decision,
        deliberation_number=numero,
        acte_reference=numero,
        two_factor_verified=True,
    )


def load(organisations: dict[str, Organisation]) -> None:
    """Idempotent: running it again must not duplicate anything."""
    agglo, lorient = organisations.get("agglo"), organisations.get("lorient")
    coordinator = _user("coordinateur.agglo")
    referent_agglo, referent_lorient = _user("referent.agglo"), _user("referent.lorient")
    if None in (agglo, lorient, coordinator, referent_agglo, referent_lorient):
        return
    if Groupement.objects.filter(coordinator=agglo).exists():
        return
    year = clock.today().year + 1
    office = services.create_groupement(
        actor=coordinator,
        coordinator=agglo,
        object=f"Fournitures de bureau {year}",
        start_date=clock.today(),
        end_date=date(year, 12, 31),
        cost_key="besoins",
        fixed_part_percent=0,
        **COMMON,
    )
    services.add_member(actor=coordinator, groupement=office, organisation=lorient)
    services.submit_for_signature(actor=coordinator, groupement=office)
    _approve(agglo, referent_agglo, office, "DEMOGC_001")
    _approve(lorient, referent_lorient, office, "DEMOGC_002")
    office.refresh_from_db()
    survey = services.open_survey(
        actor=coordinator,
        groupement=office,
        title=f"Recensement des besoins en fournitures de bureau {year}",
        deadline=clock.now() + timedelta(days=21),
        items_text=ITEMS,
    )
    items = list(survey.lots.first().items.all())
    services.record_needs(
        actor=referent_lorient,
        survey=survey,
        organisation=lorient,
        quantities={items[0].pk: "1200", items[1].pk: "40", items[2].pk: "25"},
    )

    defibrillators = services.create_groupement(
        actor=coordinator,
        coordinator=agglo,
        object="Maintenance des défibrillateurs des bâtiments publics",
        start_date=clock.today(),
        end_date=date(year + 1, 12, 31),
        cost_key="egal",
        fixed_part_percent=0,
        **{**COMMON, "kind": "permanent", "missions": "signature"},
    )
    services.add_member(actor=coordinator, groupement=defibrillators, organisation=lorient)
    services.submit_for_signature(actor=coordinator, groupement=defibrillators)
    _approve(agglo, referent_agglo, defibrillators, "DEMOGC_003")
    _awarded(organisations, coordinator, referent_agglo, referent_lorient)


PAPER_ITEMS = """1 ; Papier ; Ramette de papier A4 80 g recyclé ; ramette ; 3,20
1 ; Papier ; Enveloppe C4 kraft, paquet de 250 ; paquet ; 18,50
2 ; Toner ; Cartouche de toner noir, modèle courant ; cartouche ; 64,00
"""
# Quantities per member, in the order of PAPER_ITEMS.
PAPER_NEEDS = {"agglo": ("2000", "100", "30"), "lorient": ("800", "60", "12")}
# The offers are the holder's unit prices times the groupement's total quantities (2,800
# ramettes × 2.95 + 160 paquets × 17.20; 42 cartouches × 61.50), so that the allocation
# reconciles with the awarded amounts to the cent.
PAPER_OFFERS = {
    "armor": ("entreprise.armor@demo.e-megalis.bzh", {1: "11012.00", 2: "2583.00"}),
    "breizh": ("entreprise.breizh@demo.e-megalis.bzh", {1: "11890.00"}),
    "oceane": ("entreprise.oceane@demo.e-megalis.bzh", {2: "2790.00"}),
}
PAPER_MARKS = {("armor", 1): "15", ("breizh", 1): "13", ("armor", 2): "14", ("oceane", 2): "12"}
PAPER_PRICES = {1: ("2,95", "17,20"), 2: ("61,50",)}


def _awarded(organisations, coordinator, referent_agglo, referent_lorient) -> None:
    agglo, lorient = organisations["agglo"], organisations["lorient"]
    members = list(User.objects.filter(email__in=COMMISSION_EMAILS).order_by("email"))
    with clock.shifted(timedelta(days=-70)):
        paper = services.create_groupement(
            actor=coordinator,
            coordinator=agglo,
            object="Papier et toner 2026",
            start_date=clock.today(),
            end_date=date(clock.today().year, 12, 31),
            cost_key="besoins",
            fixed_part_percent=0,
            **COMMON,
        )
        services.add_member(actor=coordinator, groupement=paper, organisation=lorient)
        services.submit_for_signature(actor=coordinator, groupement=paper)
        _approve(agglo, referent_agglo, paper, "DEMOGC_004")
        _approve(lorient, referent_lorient, paper, "DEMOGC_005")
        paper.refresh_from_db()
        survey = services.open_survey(
            actor=coordinator,
            groupement=paper,
            title="Recensement papier et toner 2026",
            deadline=clock.now() + timedelta(days=5),
            items_text=PAPER_ITEMS,
        )
        items = [item for lot in survey.lots.order_by("number") for item in lot.items.all()]
        for key, referent in (("agglo", coordinator), ("lorient", referent_lorient)):
            services.record_needs(
                actor=referent,
                survey=survey,
                organisation=organisations[key],
                quantities={item.pk: q for item, q in zip(items, PAPER_NEEDS[key], strict=True)},
            )
    with clock.shifted(timedelta(days=-64)):
        services.close_survey(survey=survey)
    with clock.shifted(timedelta(days=-45)):
        start = timezone.localtime(clock.now()).replace(hour=12, minute=0, second=0, microsecond=0)
        consultation = services.create_consultation(
            actor=coordinator,
            survey=survey,
            reference="DEMO-2026-020",
            title="Papier et toner 2026 (groupement de commandes)",
            object="Fourniture de papier, d'enveloppes et de toner pour les membres du groupement.",
            procedure=Procedure.MAPA,
            nature=Nature.FOURNITURES,
            cpv_main="30190000-7",
            questions_deadline=start + timedelta(days=20),
            bids_deadline=start + timedelta(days=30),
            contact_name="Gaëlle Morvan",
            contact_email=coordinator.email,
        )
        content = _pdf("DEMO-2026-020 — Règlement de la consultation.pdf", [consultation.title])
        content.name = "Règlement de la consultation.pdf"
        dce.add_dce_file(actor=coordinator, consultation=consultation, uploaded_file=content)
        keys = member_keys.ensure(COMMISSION_EMAILS)
        opening_services.create_opening_commission(
            actor=coordinator, consultation=consultation, members=members, threshold=2
        )
        shares = {
            position: member_side.collect(member, keys[member.email], consultation.pk)
            for position, member in enumerate(members, start=1)
        }
        consultation = consultations_services.publish(actor=coordinator, consultation=consultation)
    with clock.shifted(timedelta(days=-17)):
        for key, (email, amounts) in PAPER_OFFERS.items():
            user = User.objects.filter(email=email).first()
            if user is not None:
                _deposit(user, consultation, organisations[key], amounts)
    with clock.shifted(timedelta(days=-14)):
        consultations_services.close_due_consultations()
        opening_services.open_plis(actor=members[0], consultation_pk=consultation.pk, shares=shares)
        for lot in consultation.lots.order_by("number"):
            _analyse(coordinator, consultation, lot, organisations, PAPER_OFFERS, PAPER_MARKS)
    decisions = []
    with clock.shifted(timedelta(days=-13)):
        for lot in consultation.lots.order_by("number"):
            decision = award_services.decide(
                actor=coordinator,
                consultation=consultation,
                lot=lot,
                outcome="attribue",
                reason="Offre économiquement la plus avantageuse au regard des critères.",
            )
            award_services.send_letters(actor=coordinator, decision=decision)
            decisions.append(decision)
    with clock.shifted(timedelta(days=-1)):
        survey.refresh_from_db()
        for lot in survey.lots.order_by("number"):
            services.allocate_lot(
                actor=coordinator,
                survey=survey,
                lot=lot,
                unit_prices={
                    item.pk: price
                    for item, price in zip(lot.items.all(), PAPER_PRICES[lot.number], strict=True)
                },
            )
        _sign_and_notify(
            survey, {agglo: referent_agglo, lorient: referent_lorient}, left_to_sign=(lorient, 2)
        )
        services.share_costs(
            actor=coordinator,
            groupement=paper,
            label="Publication de l'avis d'appel public à la concurrence",
            amount_ht=Decimal("480.00"),
            year=clock.today().year,
        )


PAPER_DECP = {
    "duration_months": 12,
    "forme_prix": "Unitaire",
    "types_prix": ["Définitif ferme"],
    "ccag": "Fournitures courantes et services",
    "techniques": ["Sans objet"],
    "modalites_execution": ["Bons de commande"],
    "considerations_sociales": ["Pas de considération sociale"],
    "considerations_environnementales": ["Pas de considération environnementale"],
    "type_groupement": "Pas de groupement",
}


def _sign_and_notify(
    survey, referents: dict[Organisation, User], *, left_to_sign: tuple[Organisation, int]
) -> None:
    """« Procédure seule »: each member signs and notifies its own marché, except the Commune
    de Lorient's for the toner, left to sign (a référent can try it in the demo)."""
    for contract in MemberContract.objects.filter(allocation__lot__survey=survey).select_related(
        "member__organisation", "allocation__lot"
    ):
        organisation = contract.member.organisation
        lot = contract.allocation.lot.number
        if (organisation, lot) == left_to_sign:
            continue
        prefix = "AGGLO" if organisation == survey.groupement.coordinator else "LOR"
        services.sign_member_contract(
            actor=referents[organisation],
            contract=contract,
            number=f"2026-{prefix}-PT{lot}",
            two_factor_verified=True,
            **PAPER_DECP,
        )
        services.notify_member_contract(actor=referents[organisation], contract=contract)
