"""Fixtures of the procurement room: two communes with a buyer each, a company and helpers
that build valid consultations (deadlines above the legal minimum)."""

from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile

from emegalis.core import clock
from emegalis.core.services_catalog import Service
from emegalis.marches.consultations import dce
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Nature, Procedure
from emegalis.marches.opening import services as opening_services
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from tests.factories import (
    OrganisationFactory,
    make_commission_member,
    make_convention,
    make_member,
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def commune_a(db):
    org = OrganisationFactory(name="Commune de Lorient", departement="056")
    make_convention(org, [Service.MARCHES], start=date(2020, 1, 1), end=None)
    return org


@pytest.fixture
def commune_b(db):
    org = OrganisationFactory(name="Commune de Quimper", departement="029")
    make_convention(org, [Service.MARCHES], start=date(2020, 1, 1), end=None)
    return org


@pytest.fixture
def buyer_a(commune_a):
    return make_member(commune_a, Role.ACHETEUR)


@pytest.fixture
def buyer_b(commune_b):
    return make_member(commune_b, Role.ACHETEUR)


@pytest.fixture
def company(db):
    return OrganisationFactory(
        name="Armor Bâtiment", kind=OrganisationKind.ENTREPRISE, insee_nature="", departement=""
    )


@pytest.fixture
def company_user(company):
    return make_member(company, Role.ENTREPRISE)


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


@pytest.fixture
def make_consultation(buyer_a, commune_a):
    """A consultation of commune A (published with a one-file DCE unless publish=False).

    Publishing needs the opening commission: unless `commission=False`, a 2-of-2 commission
    of two new members is named first (their shares stay uncollected: use the `opened`
    fixture of test_plis.py for a consultation open to deposits)."""

    def _make(
        *,
        publish: bool = True,
        commission: bool = True,
        actor=None,
        organisation=None,
        files=None,
        **overrides,
    ):
        actor = actor or buyer_a
        organisation = organisation or commune_a
        consultation = consultations_services.create_consultation(
            actor=actor, organisation=organisation, **consultation_fields(**overrides)
        )
        if files is None:
            files = [("", "RC.pdf", b"%PDF-1.4 reglement")]
        for folder, name, content in files:
            dce.add_dce_file(
                actor=actor,
                consultation=consultation,
                uploaded_file=dce_file(name, content),
                folder=folder,
            )
        if publish and commission and consultations_services.needs_commission(consultation):
            name_commission(actor, consultation)
        if publish:
            consultation = consultations_services.publish(actor=actor, consultation=consultation)
        consultation.refresh_from_db()
        return consultation

    return _make


@pytest.fixture
def client_for(client, login):
    """Log a user in through the real login form and return the client."""

    def _client_for(user):
        client.logout()
        return login(user)

    return _client_for
