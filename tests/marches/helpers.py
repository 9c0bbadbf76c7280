"""Helpers shared by the marches tests: deposits, openings, contracts."""

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from emegalis.core import clock, sealing
from emegalis.marches.award import services as award_services
from emegalis.marches.award.models import (
    AwardDecision,
    Contract,
    ContractModification,
    CriterionKind,
    DecisionOutcome,
)
from emegalis.marches.consultations.models import Consultation, Nature, Procedure
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit import storage
from emegalis.marches.deposit.models import Pli, PliFile, PliStatus
from emegalis.marches.opening import services as opening_services
from emegalis.organisations.models import OrganisationKind
from tests.factories import (
    OrganisationFactory,
    make_commission_member,
)


def offer_bytes(size: int) -> bytes:
    marker = b"PRIX-UNITAIRE-CONFIDENTIEL-"
    return (marker * (size // len(marker) + 1))[:size]


def deposit(user, consultation, content: bytes, *, name="offre.pdf", backup=False) -> Pli:
    pli, pli_file = upload_offer(user, consultation, content, name=name)
    pli_file.refresh_from_db()
    assert pli_file.received == len(content)
    return deposit_services.complete_deposit(actor=user, pli_pk=pli.pk, backup_copy_declared=backup)


def open_file(pli_file: PliFile, shares) -> bytes:
    """What the opening will do: rebuild the key from 2 shares, decrypt the stored chunks."""
    commission = pli_file.pli.consultation.opening_commission
    key = sealing.combine_shares(shares[:2], 2, commission.public_key_bytes)
    sealed = bytes(pli_file.header) + b"".join(storage.sealed_body(pli_file))
    out = io.BytesIO()
    result = sealing.check_stream(io.BytesIO(sealed), key, out)
    assert result.ok, result.error
    return out.getvalue()


def upload_offer(company_user, consultation, content: bytes, *, name="o.pdf"):
    """Start a deposit with one offer file and send all of it in one request."""
    pli = deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name=name, size=len(content))],
    )
    f = pli.files.get()
    deposit_services.receive(
        actor=company_user,
        pli_pk=pli.pk,
        file_pk=f.pk,
        offset=0,
        stream=io.BytesIO(content),
        length=len(content),
    )
    return pli, f


def after_deadline(monkeypatch, consultation, seconds: int = 60):
    moment = consultation.bids_deadline + timedelta(seconds=seconds)
    monkeypatch.setattr(clock, "now", lambda: moment)
    return moment


CONTRACT_DEFAULTS = {
    "duration_months": 24,
    "forme_prix": "Forfaitaire",
    "types_prix": ["Définitif ferme"],
    "ccag": "Fournitures courantes et services",
    "techniques": ["Sans objet"],
    "modalites_execution": ["Sans objet"],
    "considerations_sociales": ["Pas de considération sociale"],
    "considerations_environnementales": ["Pas de considération environnementale"],
}


def at(monkeypatch, moment: datetime) -> datetime:
    monkeypatch.setattr(clock, "now", lambda: moment)
    return moment


def paris_noon(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12, 0)))


def make_company(name: str = "Armor Propreté"):
    return OrganisationFactory(
        name=name, kind=OrganisationKind.ENTREPRISE, insee_nature="", departement=""
    )


def make_pli(consultation, company, *, status=PliStatus.RECU) -> Pli:
    now = clock.now()
    return Pli.objects.create(
        consultation=consultation,
        company=company,
        depositor_label="Jeanne Martin <jeanne@example.test>",
        company_label=company.name,
        company_siret=company.siret,
        status=status,
        started_at=now,
        completed_at=now,
    )


def make_contract(consultation, holder, *, lot=None, number="2026-042", **overrides) -> Contract:
    """An awarded decision and its notified contract, written with the ORM as the
    notification service would."""
    pli = make_pli(consultation, holder)
    decision = AwardDecision.objects.create(
        consultation=consultation,
        lot=lot,
        outcome=DecisionOutcome.ATTRIBUE,
        winner=pli,
        amount=Decimal("480000.00"),
        decided_at=clock.now(),
        letters_sent_at=clock.now(),
    )
    fields = {
        "decision": decision,
        "consultation": consultation,
        "buyer": consultation.organisation,
        "holder": holder,
        "number": number,
        "object": "Nettoyage des groupes scolaires et vitrerie",
        "cpv": "90910000-9",
        "amount": Decimal("480000.00"),
        "duration_months": 36,
        "notified_on": date(2026, 3, 2),
        "data_published_on": date(2026, 3, 9),
        "forme_prix": Contract.FormePrix.MIXTE,
        "types_prix": ["Définitif révisable"],
        "techniques": ["Accord-cadre"],
        "modalites_execution": ["Bons de commande"],
        "ccag": "Fournitures courantes et services",
        "considerations_sociales": ["Clause sociale"],
        "considerations_environnementales": [],
        "attribution_avance": True,
        "taux_avance": Decimal("0.050"),
        "offers_received": 3,
        "place_code": "56",
        "place_code_type": "Code département",
    }
    fields.update(overrides)
    return Contract.objects.create(**fields)


def add_modification(contract, sequence: int, **fields) -> ContractModification:
    values = {
        "notified_on": date(2026, 9, 1),
        "data_published_on": date(2026, 9, 8),
        "amount": Decimal("530000.50"),
        "reason": "Extension au nouveau groupe scolaire",
    }
    values.update(fields)
    return ContractModification.objects.create(contract=contract, sequence=sequence, **values)


def deadlines(days: int = 40, question_days: int | None = None) -> dict:
    now = clock.now()
    return {
        "bids_deadline": now + timedelta(days=days),
        "questions_deadline": now + timedelta(days=question_days or days - 10),
    }


def consultation_fields(**overrides) -> dict:
    fields = {
        "reference": "2026-001",
        "title": "Nettoyage des écoles",
        "object": "Prestations de nettoyage des groupes scolaires et de vitrerie.",
        "procedure": Procedure.AO_OUVERT,
        "nature": Nature.SERVICES,
        "cpv_main": "90910000-9",
        **deadlines(),
    }
    fields.update(overrides)
    return fields


def dce_file(name: str = "RC.pdf", content: bytes = b"%PDF-1.4 reglement") -> ContentFile:
    file = ContentFile(content)
    file.name = name
    return file


def name_commission(actor, consultation, count: int = 2, threshold: int = 2) -> list:
    """Name a commission of `count` new members of the consultation's organisation."""
    members = [make_commission_member(consultation.organisation) for _ in range(count)]
    opening_services.create_opening_commission(
        actor=actor, consultation=consultation, members=members, threshold=threshold
    )
    return members


def open_now(consultation, commission_members, shares) -> None:
    opening_services.open_plis(
        actor=commission_members[0],
        consultation_pk=consultation.pk,
        shares={1: shares[0], 2: shares[1]},
    )


@dataclass
class Bids:
    consultation: Consultation
    plis: list[Pli]  # in deposit order: Armor, Breizh, Océane


def mark(buyer, bids, pli, price, technical=None, **extra):
    technique = criterion(bids.consultation, CriterionKind.TECHNIQUE)
    return award_services.save_evaluation(
        actor=buyer,
        consultation=bids.consultation,
        lot=None,
        pli=pli,
        price=Decimal(price) if price is not None else None,
        marks={technique.pk: Decimal(technical)} if technical is not None else {},
        **extra,
    )


def exclude(buyer, bids, pli):
    return mark(
        buyer,
        bids,
        pli,
        None,
        excluded=True,
        exclusion_kind="irreguliere",
        exclusion_text="Acte d'engagement non fourni.",
    )


def start_over_http(client, consultation, files) -> dict:
    started = client.post(
        f"/marches/consultations/{consultation.pk}/depot/",
        data=json.dumps({"files": files}),
        content_type="application/json",
    )
    assert started.status_code == 201, started.content
    return started.json()


def put(client, url, body: bytes, offset: int):
    return client.put(
        url,
        data=body,
        content_type="application/octet-stream",
        headers={"Upload-Offset": str(offset)},
    )


def start(user, consultation, *sizes: int) -> tuple[int, list[PliFile]]:
    pli = deposit_services.start_deposit(
        actor=user,
        consultation=consultation,
        files=[
            deposit_services.DeclaredFile(kind="offre", name=f"o{i}.pdf", size=s)
            for i, s in enumerate(sizes)
        ],
    )
    return pli.pk, list(pli.files.order_by("pk"))


def send(user, pli_pk: int, f: PliFile, content: bytes, offset: int, length: int) -> int:
    return deposit_services.receive(
        actor=user,
        pli_pk=pli_pk,
        file_pk=f.pk,
        offset=offset,
        stream=io.BytesIO(content[offset : offset + length]),
        length=length,
    )


def send_cut(user, pli_pk: int, f: PliFile, content: bytes, cut: int) -> None:
    """Send the whole file from 0 in a request whose worker dies after ``cut`` bytes (no
    answer, no commit)."""
    with pytest.raises(RuntimeError):
        deposit_services.receive(
            actor=user,
            pli_pk=pli_pk,
            file_pk=f.pk,
            offset=0,
            stream=CutStream(content, cut),
            length=len(content),
        )


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def criterion(consultation, kind):
    return consultation.criteria.get(kind=kind)


class CutStream(io.BytesIO):
    """A request body whose worker dies once ``cut`` bytes were read."""

    def __init__(self, data: bytes, cut: int):
        super().__init__(data)
        self.cut = cut

    def read(self, size=-1):
        if self.tell() >= self.cut:
            raise RuntimeError("worker killed")
        return super().read(min(size, self.cut - self.tell()) if size >= 0 else -1)
