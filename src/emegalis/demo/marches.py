"""Demo data of the marches service, loaded after the region's organisations and users.

Lorient Agglomération publishes three consultations (with lots, a small DCE and their opening
commission, whose two members still have to collect their shares) and keeps one draft; the
syndicat runs the always-open test consultation. Idempotent: a consultation that
already exists (same organisation and reference) is left as it is.
"""

from datetime import timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone

from emegalis.core import clock
from emegalis.core.pdf import DocumentBuilder
from emegalis.demo import member_keys
from emegalis.marches.consultations import dce, workstation
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Consultation, Nature, Procedure
from emegalis.marches.opening import member_side
from emegalis.marches.opening import services as opening_services
from emegalis.organisations.models import Organisation, User

BUYER_EMAIL = "acheteur.agglo@demo.e-megalis.bzh"
COMPANY_EMAIL = "entreprise.armor@demo.e-megalis.bzh"
COMMISSION_EMAILS = ("commission.agglo@demo.e-megalis.bzh", "president.cao@demo.e-megalis.bzh")


def _at(days: int, hour: int = 16):
    moment = timezone.localtime(clock.now()) + timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


CONSULTATIONS = [
    {
        "reference": "DEMO-2026-001",
        "title": "Nettoyage des locaux communautaires",
        "object": "Prestations de nettoyage courant et de vitrerie des bâtiments de Lorient "
        "Agglomération (siège, médiathèques, piscines), pour trois ans.",
        "procedure": Procedure.AO_OUVERT,
        "nature": Nature.SERVICES,
        "cpv_main": "90910000-9",
        "cpv_extra": ["90911200-8", "90919200-4"],
        "place_of_execution": "Lorient Agglomération",
        "estimated_value": Decimal("480000"),
        "lots": [
            {"number": 1, "title": "Siège et bâtiments administratifs", "cpv": "90919200-4"},
            {"number": 2, "title": "Équipements sportifs et culturels", "cpv": "90911200-8"},
        ],
        "publish": True,
        "days": 40,
        # The commission has collected its shares: companies may deposit at once.
        "shares_collected": True,
    },
    {
        "reference": "DEMO-2026-002",
        "title": "Fourniture de postes informatiques",
        "object": "Fourniture, installation et maintenance de postes de travail informatiques "
        "pour les services et les écoles de musique.",
        "procedure": Procedure.MAPA,
        "nature": Nature.FOURNITURES,
        "cpv_main": "30200000-1",
        "cpv_extra": [],
        "place_of_execution": "Lorient",
        "estimated_value": Decimal("85000"),
        "lots": [],
        "publish": True,
        "days": 25,
        # Waits for its commission: each member collects a share on /marches/commission/.
        "shares_collected": False,
    },
    {
        "reference": "DEMO-2026-003",
        "title": "Réhabilitation de la maison de l'agglomération",
        "object": "Travaux de réhabilitation thermique et de mise en accessibilité : "
        "gros œuvre, menuiseries extérieures, électricité.",
        "procedure": Procedure.AO_OUVERT,
        "nature": Nature.TRAVAUX,
        "cpv_main": "45000000-7",
        "cpv_extra": [],
        "place_of_execution": "Lorient",
        "estimated_value": Decimal("1250000"),
        "lots": [
            {"number": 1, "title": "Gros œuvre", "cpv": "45000000-7"},
            {"number": 2, "title": "Menuiseries extérieures", "cpv": "44000000-0"},
            {"number": 3, "title": "Électricité", "cpv": "31000000-6"},
        ],
        "publish": True,
        "days": 45,
        "shares_collected": True,
    },
    {
        "reference": "DEMO-2026-004",
        "title": "Formation des agents à la commande publique",
        "object": "Sessions de formation des agents communautaires aux procédures de marchés.",
        "procedure": Procedure.MAPA,
        "nature": Nature.SERVICES,
        "cpv_main": "80500000-9",
        "cpv_extra": [],
        "place_of_execution": "Lorient",
        "estimated_value": Decimal("20000"),
        "lots": [],
        "publish": False,
        "days": 30,
        "shares_collected": False,
    },
]


def _pdf(title: str, lines: list[str]) -> ContentFile:
    doc = DocumentBuilder(title=title)
    doc.title_line(title)
    for line in lines:
        doc.paragraph(line)
    return ContentFile(doc.build())


def load(organisations: dict[str, Organisation]) -> None:
    """Idempotent: running it again must not duplicate anything."""
    agglo = organisations["agglo"]
    workstation.ensure_test_consultation(organisation=organisations["syndicat"])
    buyer = User.objects.get(email=BUYER_EMAIL)
    for spec in CONSULTATIONS:
        if Consultation.objects.filter(organisation=agglo, reference=spec["reference"]).exists():
            continue
        spec = dict(spec)
        publish, days, lots = spec.pop("publish"), spec.pop("days"), spec.pop("lots")
        shares_collected = spec.pop("shares_collected")
        consultation = consultations_services.create_consultation(
            actor=buyer,
            organisation=agglo,
            lots=lots,
            questions_deadline=_at(days - 10),
            bids_deadline=_at(days),
            contact_name="Anne Le Roux",
            contact_email=BUYER_EMAIL,
            **spec,
        )
        files = [
            ("", "Règlement de la consultation.pdf", ["Règlement de la consultation (démo)."]),
            ("Pièces administratives", "Acte d'engagement.pdf", ["Acte d'engagement (démo)."]),
            ("Pièces techniques", "CCTP.pdf", [consultation.object]),
        ]
        for folder, name, lines in files:
            content = _pdf(f"{consultation.reference} — {name}", lines)
            content.name = name
            dce.add_dce_file(
                actor=buyer, consultation=consultation, uploaded_file=content, folder=folder
            )
        if publish:
            # Named before publication. DEMO-2026-002 waits for its members to collect their
            # shares on /marches/commission/ (2FA) with their demo key files; the others
            # are open for deposits.
            keys = member_keys.ensure(COMMISSION_EMAILS)
            members = User.objects.filter(email__in=COMMISSION_EMAILS)
            opening_services.create_opening_commission(
                actor=buyer, consultation=consultation, members=members, threshold=2
            )
            if shares_collected:
                # The demo members' shares are taken and dropped: this consultation is for
                # the companies' deposits, not for its opening.
                for member in members:
                    member_side.collect(member, keys[member.email], consultation.pk)
            consultations_services.publish(actor=buyer, consultation=consultation)
    first = Consultation.objects.filter(organisation=agglo, reference="DEMO-2026-001").first()
    company_user = User.objects.filter(email=COMPANY_EMAIL).first()
    if first is not None and company_user is not None and not first.questions.exists():
        consultations_services.record_retrait(
            consultation=first,
            user=company_user,
            organisation=organisations["armor"],
            kind="zip",
        )
        question = consultations_services.ask_question(
            actor=company_user,
            organisation=organisations["armor"],
            consultation=first,
            text="Les prestations de vitrerie des piscines sont-elles comprises dans le lot 2 ?",
        )
        consultations_services.answer_question(
            actor=buyer,
            question=question,
            answer="Oui : la vitrerie de tous les équipements sportifs relève du lot 2.",
        )
