"""The demo region: a syndicat, the Région, a Département, two EPCIs and their communes,
companies, a prefecture, their conventions, a contribution and one user per role.

Everything is flagged `is_demo`; identifiers are checksum-valid but invented (SIREN prefixes
starting with 9990). Loading is idempotent: running it again updates, never duplicates.
"""

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.module_loading import import_string
from django_otp.plugins.otp_totp.models import TOTPDevice

from emegalis.adhesions import models as adhesion_models
from emegalis.adhesions.services import generate_calls, mark_call_paid
from emegalis.core import journal
from emegalis.core.services_catalog import Service
from emegalis.organisations.identifiers import siren_from_prefix, siret_from_siren
from emegalis.organisations.models import (
    Membership,
    Organisation,
    OrganisationKind,
    RoleAssignment,
    User,
)
from emegalis.organisations.roles import TWO_FACTOR_ROLES, Role

DEMO_PASSWORD = "demo-e-megalis-2026"
# Each service adds its own demo data: a function taking the organisations by key.
EXTENSIONS = (
    "emegalis.demo.marches.load",
    "emegalis.demo.plis.load",
    "emegalis.demo.actes.load",
    "emegalis.demo.groupements.load",
    "emegalis.demo.collaboratif.load",
    "emegalis.demo.formations.load",
)
DEMO_EMAIL_DOMAIN = "demo.e-megalis.bzh"
ALL_SERVICES = [s.value for s in Service]
K = OrganisationKind


@dataclass(frozen=True)
class DemoOrganisation:
    key: str
    name: str
    kind: str
    siren_prefix: str
    nature: str = ""
    departement: str = ""
    arrondissement: int | None = None
    parent: str | None = None
    insee_code: str = ""
    city: str = ""
    postcode: str = ""
    population: int | None = None


@dataclass(frozen=True)
class DemoConvention:
    organisation: str
    kind: str
    services: list[str]
    # Dated status history, oldest first.
    history: list[tuple[str, date]] = field(default_factory=list)
    start: date = date(2025, 1, 1)
    end: date | None = date(2029, 12, 31)


@dataclass(frozen=True)
class DemoUser:
    local_part: str
    first_name: str
    last_name: str
    memberships: list[tuple[str, list[str]]]
    job_title: str = ""


ORGANISATIONS = [
    DemoOrganisation(
        "syndicat",
        "Syndicat mixte e-mégalis (démo)",
        K.SYNDICAT,
        "99900001",
        "42",
        "035",
        3,
        city="Cesson-Sévigné",
        postcode="35510",
    ),
    DemoOrganisation(
        "region",
        "Région Bretagne (démo)",
        K.REGION,
        "99900002",
        "11",
        "035",
        3,
        city="Rennes",
        postcode="35000",
    ),
    DemoOrganisation(
        "morbihan",
        "Département du Morbihan (démo)",
        K.DEPARTEMENT,
        "99900003",
        "21",
        "056",
        3,
        city="Vannes",
        postcode="56000",
    ),
    DemoOrganisation(
        "agglo",
        "Lorient Agglomération (démo)",
        K.COMMUNAUTE_AGGLOMERATION,
        "99900004",
        "46",
        "056",
        1,
        city="Lorient",
        postcode="56100",
        population=205000,
    ),
    DemoOrganisation(
        "aqta",
        "Auray Quiberon Terre Atlantique (démo)",
        K.COMMUNAUTE_COMMUNES,
        "99900005",
        "44",
        "056",
        3,
        city="Auray",
        postcode="56400",
        population=90000,
    ),
    # Communes of Lorient Agglomération.
    DemoOrganisation(
        "lorient",
        "Commune de Lorient (démo)",
        K.COMMUNE,
        "99900011",
        "31",
        "056",
        1,
        "agglo",
        "56121",
        "Lorient",
        "56100",
        57000,
    ),
    DemoOrganisation(
        "lanester",
        "Commune de Lanester (démo)",
        K.COMMUNE,
        "99900012",
        "31",
        "056",
        1,
        "agglo",
        "56098",
        "Lanester",
        "56600",
        23000,
    ),
    DemoOrganisation(
        "ploemeur",
        "Commune de Ploemeur (démo)",
        K.COMMUNE,
        "99900013",
        "31",
        "056",
        1,
        "agglo",
        "56162",
        "Ploemeur",
        "56270",
        18000,
    ),
    DemoOrganisation(
        "hennebont",
        "Commune d'Hennebont (démo)",
        K.COMMUNE,
        "99900014",
        "31",
        "056",
        1,
        "agglo",
        "56083",
        "Hennebont",
        "56700",
        16000,
    ),
    DemoOrganisation(
        "larmor",
        "Commune de Larmor-Plage (démo)",
        K.COMMUNE,
        "99900015",
        "31",
        "056",
        1,
        "agglo",
        "56107",
        "Larmor-Plage",
        "56260",
        8000,
    ),
    DemoOrganisation(
        "queven",
        "Commune de Quéven (démo)",
        K.COMMUNE,
        "99900016",
        "31",
        "056",
        1,
        "agglo",
        "56185",
        "Quéven",
        "56530",
        9000,
    ),
    DemoOrganisation(
        "guidel",
        "Commune de Guidel (démo)",
        K.COMMUNE,
        "99900017",
        "31",
        "056",
        1,
        "agglo",
        "56078",
        "Guidel",
        "56520",
        12000,
    ),
    DemoOrganisation(
        "caudan",
        "Commune de Caudan (démo)",
        K.COMMUNE,
        "99900018",
        "31",
        "056",
        1,
        "agglo",
        "56036",
        "Caudan",
        "56850",
        7000,
    ),
    DemoOrganisation(
        "ccas_lorient",
        "CCAS de Lorient (démo)",
        K.AUTRE_PUBLIC,
        "99900019",
        "33",
        "056",
        1,
        "lorient",
        city="Lorient",
        postcode="56100",
    ),
    # Communes of Auray Quiberon Terre Atlantique.
    DemoOrganisation(
        "auray",
        "Commune d'Auray (démo)",
        K.COMMUNE,
        "99900021",
        "31",
        "056",
        3,
        "aqta",
        "56007",
        "Auray",
        "56400",
        14000,
    ),
    DemoOrganisation(
        "quiberon",
        "Commune de Quiberon (démo)",
        K.COMMUNE,
        "99900022",
        "31",
        "056",
        3,
        "aqta",
        "56186",
        "Quiberon",
        "56170",
        4800,
    ),
    # Companies and the prefecture.
    DemoOrganisation(
        "armor",
        "Armor Bâtiment SARL (démo)",
        K.ENTREPRISE,
        "99900031",
        city="Vannes",
        postcode="56000",
    ),
    DemoOrganisation(
        "breizh",
        "Breizh Informatique SAS (démo)",
        K.ENTREPRISE,
        "99900032",
        city="Rennes",
        postcode="35000",
    ),
    DemoOrganisation(
        "oceane",
        "Océane Propreté (démo)",
        K.ENTREPRISE,
        "99900033",
        city="Lorient",
        postcode="56100",
    ),
    DemoOrganisation(
        "prefecture",
        "Préfecture du Morbihan (démo)",
        K.PREFECTURE,
        "99900041",
        departement="056",
        city="Vannes",
        postcode="56000",
    ),
]

ADHERENT_SINCE = [
    (adhesion_models.ConventionStatus.EN_COURS, date(2024, 10, 1)),
    (adhesion_models.ConventionStatus.ADHERENT, date(2025, 1, 1)),
]
CONVENTIONS = [
    DemoConvention("syndicat", adhesion_models.ConventionKind.ACCES, ALL_SERVICES, ADHERENT_SINCE),
    DemoConvention("region", adhesion_models.ConventionKind.ACCES, ALL_SERVICES, ADHERENT_SINCE),
    DemoConvention("morbihan", adhesion_models.ConventionKind.ACCES, ALL_SERVICES, ADHERENT_SINCE),
    DemoConvention("agglo", adhesion_models.ConventionKind.ACCES, ALL_SERVICES, ADHERENT_SINCE),
    DemoConvention(
        "aqta",
        adhesion_models.ConventionKind.ACCES,
        [Service.MARCHES, Service.ACTES],
        ADHERENT_SINCE,
    ),
    DemoConvention("lorient", adhesion_models.ConventionKind.CHARTE, ALL_SERVICES, ADHERENT_SINCE),
    DemoConvention(
        "lanester",
        adhesion_models.ConventionKind.CHARTE,
        [Service.MARCHES, Service.ACTES, Service.FORMATIONS],
        ADHERENT_SINCE,
    ),
    DemoConvention(
        "ploemeur",
        adhesion_models.ConventionKind.CHARTE,
        [Service.MARCHES, Service.ACTES, Service.COLLABORATIF, Service.FORMATIONS],
        ADHERENT_SINCE,
    ),
    DemoConvention(
        "hennebont",
        adhesion_models.ConventionKind.CHARTE,
        [Service.ACTES, Service.FORMATIONS],
        ADHERENT_SINCE,
    ),
    # Larmor-Plage's charter is still being deliberated: no service open yet.
    DemoConvention(
        "larmor",
        adhesion_models.ConventionKind.CHARTE,
        [Service.MARCHES, Service.ACTES],
        [
            (adhesion_models.ConventionStatus.PROSPECT, date(2025, 3, 1)),
            (adhesion_models.ConventionStatus.EN_COURS, date(2025, 9, 1)),
        ],
    ),
    # Quéven left the platform at the end of 2025.
    DemoConvention(
        "queven",
        adhesion_models.ConventionKind.CHARTE,
        [Service.MARCHES],
        ADHERENT_SINCE + [(adhesion_models.ConventionStatus.RESILIE, date(2026, 1, 1))],
    ),
    DemoConvention(
        "guidel",
        adhesion_models.ConventionKind.CHARTE,
        [Service.MARCHES, Service.ACTES],
        ADHERENT_SINCE,
    ),
    DemoConvention(
        "caudan",
        adhesion_models.ConventionKind.CHARTE,
        [Service.MARCHES, Service.ACTES],
        ADHERENT_SINCE,
    ),
    DemoConvention(
        "ccas_lorient",
        adhesion_models.ConventionKind.AUTRES,
        [Service.MARCHES, Service.ACTES],
        ADHERENT_SINCE,
    ),
    DemoConvention(
        "auray",
        adhesion_models.ConventionKind.CHARTE,
        [Service.MARCHES, Service.ACTES],
        ADHERENT_SINCE,
    ),
    DemoConvention(
        "quiberon",
        adhesion_models.ConventionKind.CHARTE,
        [Service.MARCHES],
        [(adhesion_models.ConventionStatus.PROSPECT, date(2026, 2, 1))],
    ),
]

CALLS_YEAR = 2026
CALLS_ISSUED_ON = date(2026, 1, 15)
AGGLO_COMMUNES = [
    "lorient",
    "lanester",
    "ploemeur",
    "hennebont",
    "larmor",
    "queven",
    "guidel",
    "caudan",
]
CONTRIBUTIONS = [
    # (payer, year, amount HT, beneficiaries, label)
    (
        "agglo",
        2026,
        Decimal("3000.00"),
        ["agglo", *AGGLO_COMMUNES],
        "Contribution forfaitaire mutualisée 2026 — Lorient Agglomération et ses communes",
    ),
    (
        "aqta",
        2026,
        Decimal("1800.00"),
        ["aqta", "auray", "quiberon"],
        "Contribution forfaitaire mutualisée 2026 — AQTA et ses communes",
    ),
]

USERS = [
    DemoUser(
        "operateur",
        "Odile",
        "Opératrice",
        [("syndicat", [Role.OPERATEUR])],
        "Gestionnaire de la plateforme",
    ),
    DemoUser("support", "Samuel", "Support", [("syndicat", [Role.SUPPORT])], "Support"),
    DemoUser(
        "referent.lorient",
        "Rozenn",
        "Le Floch",
        [("lorient", [Role.REFERENT, Role.AGENT_ACTES]), ("ccas_lorient", [Role.REFERENT])],
        "Responsable de la commande publique",
    ),
    DemoUser(
        "referent.agglo",
        "Yannick",
        "Le Goff",
        [("agglo", [Role.REFERENT, Role.AGENT_ACTES])],
        "Référent e-mégalis",
    ),
    DemoUser("acheteur.agglo", "Anne", "Le Roux", [("agglo", [Role.ACHETEUR])], "Acheteuse"),
    DemoUser(
        "commission.agglo",
        "Corentin",
        "Guéguen",
        [("agglo", [Role.COMMISSION])],
        "Membre de la commission d'ouverture des plis",
    ),
    DemoUser(
        "president.cao",
        "Hélène",
        "Le Meur",
        [("agglo", [Role.COMMISSION])],
        "Présidente de la commission d'appel d'offres",
    ),
    DemoUser(
        "coordinateur.agglo",
        "Gaëlle",
        "Morvan",
        [("agglo", [Role.COORDINATEUR_GROUPEMENT, Role.ACHETEUR])],
        "Coordinatrice de groupement",
    ),
    DemoUser(
        "actes.lanester",
        "Loïc",
        "Tanguy",
        [("lanester", [Role.AGENT_ACTES])],
        "Agent du contrôle de légalité",
    ),
    DemoUser(
        "collaboratif.ploemeur",
        "Maëlle",
        "Riou",
        [("ploemeur", [Role.MEMBRE_COLLABORATIF])],
        "Chargée de mission",
    ),
    DemoUser(
        "stagiaire.hennebont", "Erwan", "Le Bihan", [("hennebont", [Role.STAGIAIRE])], "Agent"
    ),
    DemoUser("entreprise.armor", "Jean", "Kerboul", [("armor", [Role.ENTREPRISE])], "Gérant"),
    DemoUser(
        "entreprise.breizh",
        "Nolwenn",
        "Cadiou",
        [("breizh", [Role.ENTREPRISE])],
        "Responsable des offres",
    ),
    DemoUser(
        "entreprise.oceane", "Pierre", "Le Gall", [("oceane", [Role.ENTREPRISE])], "Directeur"
    ),
    DemoUser(
        "prefecture",
        "Claire",
        "Jégou",
        [("prefecture", [Role.AGENT_PREFECTURE])],
        "Agente du contrôle de légalité",
    ),
]


def demo_email(local_part: str) -> str:
    return f"{local_part}@{DEMO_EMAIL_DOMAIN}"


def demo_totp_key(email: str) -> str:
    """A fixed TOTP key per demo account, so its secret can be printed for the demo."""
    return hashlib.sha256(f"e-megalis-demo-totp:{email}".encode()).hexdigest()[:40]


def totp_secret_base32(hex_key: str) -> str:
    return base64.b32encode(bytes.fromhex(hex_key)).decode()


@dataclass
class DemoLogin:
    email: str
    organisations: str
    roles: str
    totp_secret: str | None


def _upsert_organisations() -> dict[str, Organisation]:
    by_key: dict[str, Organisation] = {}
    for spec in ORGANISATIONS:  # parents are listed before their children
        siren = siren_from_prefix(spec.siren_prefix)
        org, _ = Organisation.objects.update_or_create(
            siren=siren,
            is_demo=True,
            defaults={
                "name": spec.name,
                "kind": spec.kind,
                "siret": siret_from_siren(siren),
                "insee_nature": spec.nature,
                "departement": spec.departement,
                "arrondissement": spec.arrondissement,
                "parent": by_key[spec.parent] if spec.parent else None,
                "insee_code": spec.insee_code,
                "city": spec.city,
                "postcode": spec.postcode,
                "population": spec.population,
                "email": f"contact.{spec.key.replace('_', '-')}@{DEMO_EMAIL_DOMAIN}",
            },
        )
        org.full_clean()
        by_key[spec.key] = org
    return by_key


def _upsert_conventions(orgs: dict[str, Organisation]) -> None:
    for spec in CONVENTIONS:
        org = orgs[spec.organisation]
        convention, _ = adhesion_models.Convention.objects.update_or_create(
            reference=f"DEMO-{org.siren}-{spec.kind.upper()}",
            defaults={
                "organisation": org,
                "kind": spec.kind,
                "start_date": spec.start,
                "end_date": spec.end,
                "current_status": spec.history[-1][0],
                "deliberation_reference": f"DEL-{spec.start.year - 1}-{org.siren[-3:]}",
                "signed_on": next(
                    (d for s, d in spec.history if s == adhesion_models.ConventionStatus.ADHERENT),
                    None,
                ),
            },
        )
        convention.status_changes.all().delete()
        adhesion_models.ConventionStatusChange.objects.bulk_create(
            adhesion_models.ConventionStatusChange(
                convention=convention, status=status, effective_on=on, note="Donnée de démo"
            )
            for status, on in spec.history
        )
        convention.enabled_services.all().delete()
        adhesion_models.ConventionService.objects.bulk_create(
            adhesion_models.ConventionService(convention=convention, service=s)
            for s in spec.services
        )


def _upsert_contributions(orgs: dict[str, Organisation]) -> None:
    for payer, year, amount, beneficiaries, label in CONTRIBUTIONS:
        # Created once: an issued call must keep matching its contribution.
        contribution, created = adhesion_models.Contribution.objects.get_or_create(
            payer=orgs[payer], year=year, defaults={"amount_ht": amount, "label": label}
        )
        if created:
            contribution.beneficiaries.set([orgs[k] for k in beneficiaries])
    generate_calls(actor=None, year=CALLS_YEAR, issued_on=CALLS_ISSUED_ON)
    # AQTA has already paid; Lorient Agglomération's call stays unpaid.
    aqta_call = adhesion_models.ContributionCall.objects.get(
        contribution__payer=orgs["aqta"], contribution__year=CALLS_YEAR
    )
    if not aqta_call.is_paid:
        mark_call_paid(
            actor=None, call=aqta_call, paid_on=date(2026, 3, 2), payment_reference="VIR-DEMO-1"
        )


def _upsert_users(orgs: dict[str, Organisation]) -> list[DemoLogin]:
    logins = []
    for spec in USERS:
        email = demo_email(spec.local_part)
        user, _ = User.objects.update_or_create(
            email=email,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "is_demo": True,
                "is_active": True,
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        roles_held: set[str] = set()
        for org_key, roles in spec.memberships:
            membership, _ = Membership.objects.update_or_create(
                user=user,
                organisation=orgs[org_key],
                defaults={"is_active": True, "job_title": spec.job_title},
            )
            membership.roles.exclude(role__in=roles).delete()
            for role in roles:
                RoleAssignment.objects.get_or_create(membership=membership, role=role)
            roles_held.update(roles)
        secret = None
        if roles_held & TWO_FACTOR_ROLES:
            key = demo_totp_key(email)
            TOTPDevice.objects.update_or_create(
                user=user, name="Démo", defaults={"key": key, "confirmed": True}
            )
            secret = totp_secret_base32(key)
        logins.append(
            DemoLogin(
                email=email,
                organisations=", ".join(orgs[k].name for k, _ in spec.memberships),
                roles=", ".join(Role(r).label for r in sorted(roles_held)),
                totp_secret=secret,
            )
        )
    return logins


@transaction.atomic
def load_demo_region() -> list[DemoLogin]:
    orgs = _upsert_organisations()
    _upsert_conventions(orgs)
    _upsert_contributions(orgs)
    logins = _upsert_users(orgs)
    for loader in EXTENSIONS:
        import_string(loader)(orgs)
    journal.record(
        action="demo.loaded",
        object_type="demo",
        object_id="region",
        payload={"organisations": len(orgs), "users": len(logins)},
    )
    return logins


def demo_organisation(key: str) -> Organisation:
    spec = next(s for s in ORGANISATIONS if s.key == key)
    return Organisation.objects.get(siren=siren_from_prefix(spec.siren_prefix), is_demo=True)
