"""Demo data of the groupements service, through its services: « Fournitures de bureau 2027 »,
coordinated by Lorient Agglomération with the Commune de Lorient, constituted (each member's
deliberation transmitted to the prefecture and acknowledged) and its needs survey open; and a
second groupement whose convention awaits the Commune de Lorient's signature."""

from datetime import date, timedelta

from emegalis.core import clock
from emegalis.demo.actes import _create, _transmit
from emegalis.groupements import services
from emegalis.groupements.models import Groupement
from emegalis.organisations.models import Organisation, User

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
