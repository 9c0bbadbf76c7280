"""The salle des marchés' fixtures (organisations, buyers, companies, a consultation opened
for deposits, its commission, bids and decisions), registered in tests/conftest.py so that the
core, security and browser tests use them too."""

from datetime import date

import pytest

from emegalis.core.services_catalog import Service
from emegalis.marches.award import services as award_services
from emegalis.marches.award.models import (
    DecisionOutcome,
)
from emegalis.marches.consultations import dce
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Consultation
from emegalis.marches.opening import services as opening_services
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from tests.factories import (
    OrganisationFactory,
    collect_share,
    make_commission_member,
    make_convention,
    make_member,
)
from tests.marches.helpers import (
    Bids,
    after_deadline,
    consultation_fields,
    dce_file,
    deposit,
    exclude,
    mark,
    name_commission,
    open_now,
)


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


@pytest.fixture
def make_consultation(buyer_a, commune_a):
    """A consultation of commune A (published with a one-file DCE unless publish=False).

    Publishing needs the opening commission: unless `commission=False`, a 2-of-2 commission
    of two new members is named first (their shares stay uncollected: use the `opened`
    fixture for a consultation open to deposits)."""

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


@pytest.fixture
def opened(make_consultation, buyer_a, commune_a):
    """A published consultation with a complete 2-of-3 commission; returns it and the shares."""
    consultation = make_consultation(publish=False)
    members = [make_commission_member(commune_a) for _ in range(3)]
    opening_services.create_opening_commission(
        actor=buyer_a, consultation=consultation, members=members, threshold=2
    )
    shares = [collect_share(m, consultation.pk) for m in members]
    consultation = consultations_services.publish(actor=buyer_a, consultation=consultation)
    consultation.refresh_from_db()
    return consultation, shares


@pytest.fixture
def company_b_user(db):
    company = OrganisationFactory(
        name="Breizh Nettoyage", kind=OrganisationKind.ENTREPRISE, insee_nature="", departement=""
    )
    return make_member(company, Role.ENTREPRISE)


@pytest.fixture
def members(opened):  # noqa: F811
    consultation, _ = opened
    return [m.user for m in consultation.opening_commission.members.order_by("position")]


@pytest.fixture
def company_c_user(db):
    company = OrganisationFactory(
        name="Océane Services", kind=OrganisationKind.ENTREPRISE, insee_nature="", departement=""
    )
    return make_member(company, Role.ENTREPRISE)


@pytest.fixture
def bids(
    opened,  # noqa: F811
    members,  # noqa: F811
    company_user,
    company_b_user,  # noqa: F811
    company_c_user,
    monkeypatch,
):
    """Three companies' offers for a consultation without lots, opened with 2 shares of 3.
    The place of execution is set (département 056) for the contract's DECP record."""
    consultation, shares = opened
    Consultation.objects.filter(pk=consultation.pk).update(departement="056")
    deposited = [
        deposit(user, consultation, f"offre {index}".encode(), name=f"offre-{index}.pdf")
        for index, user in enumerate((company_user, company_b_user, company_c_user))
    ]
    after_deadline(monkeypatch, consultation, 3600)
    open_now(consultation, members, shares)
    consultation.refresh_from_db()
    return Bids(consultation, deposited)


@pytest.fixture
def decided(bids, buyer_a):
    award_services.set_default_criteria(actor=buyer_a, consultation=bids.consultation, lot=None)
    armor, breizh, oceane = bids.plis
    mark(buyer_a, bids, armor, "100000", "14")
    mark(buyer_a, bids, breizh, "125000", "18")
    exclude(buyer_a, bids, oceane)
    decision = award_services.decide(
        actor=buyer_a,
        consultation=bids.consultation,
        lot=None,
        outcome=DecisionOutcome.ATTRIBUE,
        reason="Meilleur rapport qualité-prix.",
    )
    return bids, decision
