"""From the closed survey to one consultation for all, then the awarded lot shared out to
the cent, the members' amounts adding up to the awarded amount."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from emegalis.core import clock
from emegalis.core.services_catalog import Service
from emegalis.groupements import services
from emegalis.groupements.models import AwardedPrice, LotAllocation
from emegalis.marches.award.models import AwardDecision, DecisionOutcome
from emegalis.marches.consultations.models import DceFile
from emegalis.organisations.roles import Role
from tests.factories import make_member
from tests.marches.helpers import consultation_fields, make_company, make_pli

from .helpers import constituted, open_survey, side

pytestmark = pytest.mark.django_db

ITEMS = (
    "1 ; Papeterie ; Ramette A4 ; ramette ; 3,20\n"
    "1 ; Papeterie ; Stylos ; boîte ; 9,90\n"
    "2 ; Toner ; Cartouche noire ; cartouche ; 64,00\n"
)


@pytest.fixture
def closed_survey():
    agglo = side(Service.GROUPEMENTS, Service.MARCHES)
    make_member(agglo.organisation, Role.ACHETEUR, user=agglo.coordinator)
    lorient, lanester = side(), side()
    groupement = constituted(agglo, lorient, lanester)
    survey = open_survey(agglo, groupement, items=ITEMS)
    ream, pens = survey.lots.get(number=1).items.all()
    toner = survey.lots.get(number=2).items.get()
    for member, quantities in (
        (lorient, {ream.pk: "1200", pens.pk: "2,5", toner.pk: "4"}),
        (lanester, {ream.pk: "301", pens.pk: "7"}),
    ):
        services.record_needs(
            actor=member.coordinator,
            survey=survey,
            organisation=member.organisation,
            quantities=quantities,
        )
    return agglo, lorient, lanester, survey, (ream, pens, toner)


def test_no_consultation_before_the_survey_closes(closed_survey):
    agglo, _lorient, _lanester, survey, _items = closed_survey
    with pytest.raises(ValidationError, match="recensement clos"):
        services.create_consultation(
            actor=agglo.coordinator, survey=survey, **consultation_fields()
        )


def test_the_consultation_carries_the_lots_the_estimates_the_members_and_the_statement(
    closed_survey,
):
    agglo, lorient, lanester, survey, _items = closed_survey
    services.close_survey(survey=survey)
    consultation = services.create_consultation(
        actor=agglo.coordinator, survey=survey, **consultation_fields()
    )
    assert consultation.organisation == agglo.organisation
    lots = {lot.number: lot.estimated_value for lot in consultation.lots.all()}
    # lot 1: (1200 + 301) × 3.20 + (2.5 + 7) × 9.90 = 4803.20 + 94.05; lot 2: 4 × 64
    assert lots == {1: Decimal("4897.25"), 2: Decimal("256.00")}
    assert consultation.estimated_value == Decimal("5153.25")
    assert lorient.organisation.name in consultation.object
    assert lanester.organisation.name in consultation.object
    names = set(DceFile.objects.filter(consultation=consultation).values_list("name", flat=True))
    assert names == {"etat-des-besoins-par-membre.xlsx", "etat-des-besoins-par-membre.pdf"}
    with pytest.raises(ValidationError, match="existe déjà"):
        services.create_consultation(
            actor=agglo.coordinator, survey=survey, **consultation_fields()
        )


def _award(consultation, lot_number, amount):
    pli = make_pli(consultation, make_company())
    return AwardDecision.objects.create(
        consultation=consultation,
        lot=consultation.lots.get(number=lot_number),
        outcome=DecisionOutcome.ATTRIBUE,
        winner=pli,
        amount=Decimal(amount),
        decided_at=clock.now(),
    )


def test_an_awarded_lot_is_shared_out_to_the_cent_and_reconciles(closed_survey):
    agglo, lorient, lanester, survey, (ream, pens, toner) = closed_survey
    services.close_survey(survey=survey)
    consultation = services.create_consultation(
        actor=agglo.coordinator, survey=survey, **consultation_fields()
    )
    lot = survey.lots.get(number=1)
    prices = {ream.pk: "2,99", pens.pk: "8,33"}
    with pytest.raises(ValidationError, match="n'est pas attribué"):
        services.allocate_lot(actor=agglo.coordinator, survey=survey, lot=lot, unit_prices=prices)
    # lorient: 1200 × 2.99 = 3588.00, 2.5 × 8.33 = 20.825 → 20.83; lanester: 301 × 2.99 =
    # 899.99, 7 × 8.33 = 58.31
    _award(consultation, 1, "4567.13")
    with pytest.raises(ValidationError, match="attribué pour 4567.13"):
        services.allocate_lot(
            actor=agglo.coordinator,
            survey=survey,
            lot=lot,
            unit_prices={ream.pk: "2,98", pens.pk: "8,33"},
        )
    with pytest.raises(ValidationError, match="prix"):
        services.allocate_lot(
            actor=agglo.coordinator,
            survey=survey,
            lot=lot,
            unit_prices={ream.pk: "-1", pens.pk: "8,33"},
        )
    assert not LotAllocation.objects.exists() and not AwardedPrice.objects.exists()
    allocation = services.allocate_lot(
        actor=agglo.coordinator, survey=survey, lot=lot, unit_prices=prices
    )
    amounts = services.member_amounts(
        lot, {p.item_id: p.unit_price for p in allocation.prices.all()}
    )
    by_org = {survey.participants.get(pk=k).organisation: v for k, v in amounts.items()}
    assert by_org == {
        lorient.organisation: Decimal("3608.83"),
        lanester.organisation: Decimal("958.30"),
    }
    assert sum(amounts.values()) == allocation.awarded_amount == Decimal("4567.13")
    with pytest.raises(ValidationError, match="déjà réparti"):
        services.allocate_lot(actor=agglo.coordinator, survey=survey, lot=lot, unit_prices=prices)


def test_a_survey_without_any_need_launches_nothing(closed_survey):
    agglo, lorient, lanester, _survey, _items = closed_survey
    groupement = _survey.groupement
    empty = services.open_survey(
        actor=agglo.coordinator,
        groupement=groupement,
        title="Vide",
        deadline=clock.now() + timedelta(days=1),
        items_text=ITEMS,
    )
    services.close_survey(survey=empty)
    with pytest.raises(ValidationError, match="rien à mettre en concurrence"):
        services.create_consultation(actor=agglo.coordinator, survey=empty, **consultation_fields())


def test_through_the_pages_the_coordinator_launches_and_shares_out_and_each_member_sees_its_own(
    client, login, closed_survey
):
    agglo, lorient, lanester, survey, (ream, pens, _toner) = closed_survey
    services.close_survey(survey=survey)
    login(agglo.coordinator)
    url = f"/groupements/recensements/{survey.pk}/"
    assert "Lancer la consultation" in client.get(url).content.decode()
    fields = consultation_fields()
    data = {
        **{k: v for k, v in fields.items() if "deadline" not in k},
        "questions_deadline": fields["questions_deadline"].strftime("%Y-%m-%dT%H:%M"),
        "bids_deadline": fields["bids_deadline"].strftime("%Y-%m-%dT%H:%M"),
    }
    response = client.post(f"{url}consultation/", data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    survey.refresh_from_db()
    _award(survey.consultation, 1, "4567.13")
    lot = survey.lots.get(number=1)
    response = client.post(
        f"{url}lots/{lot.pk}/repartition/", {f"p-{ream.pk}": "2,99", f"p-{pens.pk}": "8,00"}
    )
    assert "attribué pour 4567.13" in response.content.decode()
    client.post(
        f"{url}lots/{lot.pk}/repartition/", {f"p-{ream.pk}": "2,99", f"p-{pens.pk}": "8,33"}
    )
    page = client.get(url).content.decode()
    assert "3608,83 €" in page and "958,30 €" in page
    client.logout()
    login(lanester.coordinator)
    page = client.get(url).content.decode()
    assert "958,30 €" in page and "3608,83" not in page
    assert client.get(f"{url}lots/{lot.pk}/repartition/").status_code == 403


def _allocated_with_contract(closed_survey, missions):
    from emegalis.groupements.models import Groupement
    from tests.marches.helpers import make_contract

    agglo, lorient, lanester, survey, (ream, pens, _toner) = closed_survey
    Groupement.objects.filter(pk=survey.groupement_id).update(missions=missions)
    services.close_survey(survey=survey)
    consultation = services.create_consultation(
        actor=agglo.coordinator, survey=survey, **consultation_fields()
    )
    contract = make_contract(
        consultation, make_company(), lot=consultation.lots.get(number=1), amount=Decimal("4567.13")
    )
    AwardDecision.objects.filter(pk=contract.decision_id).update(amount=Decimal("4567.13"))
    survey.refresh_from_db()
    services.allocate_lot(
        actor=agglo.coordinator,
        survey=survey,
        lot=survey.lots.get(number=1),
        unit_prices={ream.pk: "2,99", pens.pk: "8,33"},
    )
    return survey


def test_decp_one_record_for_the_coordinator_signing_for_all_and_ocds_lists_every_member(
    closed_survey,
):
    from emegalis.groupements import opendata
    from emegalis.marches.opendata import decp, ocds

    agglo, lorient, lanester, *_ = closed_survey
    survey = _allocated_with_contract(closed_survey, "signature")
    # Published (through the salle des marchés; written here as its services would).
    type(survey.consultation).objects.filter(pk=survey.consultation_id).update(
        state="publiee", published_at=clock.now()
    )
    survey.refresh_from_db()
    records = opendata.decp_document(survey)["marches"]["marche"]
    assert [r["acheteur"]["id"] for r in records] == [agglo.organisation.siret]
    assert decp.schema_errors(opendata.decp_document(survey)) == []
    package = opendata.ocds_package(survey)
    assert ocds.package_errors(package) == []
    for release in package["releases"]:
        buyers = {p["identifier"]["id"] for p in release["parties"] if "buyer" in p["roles"]}
        assert {
            agglo.organisation.siret,
            lorient.organisation.siret,
            lanester.organisation.siret,
        } <= buyers


def test_the_public_page_names_the_members_and_their_needs_once_published(client, closed_survey):
    from django.urls import reverse

    _agglo, lorient, lanester, survey, _items = closed_survey
    services.close_survey(survey=survey)
    consultation = services.create_consultation(
        actor=_agglo.coordinator, survey=survey, **consultation_fields()
    )
    url = reverse("marches_notice", args=[consultation.pk])
    assert client.get(url).status_code == 404  # a draft: nobody outside sees the needs
    type(consultation).objects.filter(pk=consultation.pk).update(
        state="publiee", published_at=clock.now()
    )
    page = client.get(url).content.decode()
    section = page[page.index('id="h-groupement"') : page.index('id="h-dce"')]
    assert lorient.organisation.name in section and lanester.organisation.name in section
    assert _agglo.organisation.name in section  # the coordinator, a member too
    # Ramette A4: 1200 (Lorient) + 301 (Lanester); cartouche noire: 4 (Lorient only).
    assert ">1200<" in section and ">301<" in section and ">1501<" in section
    assert ">4<" in section and "Cartouche noire" in section
