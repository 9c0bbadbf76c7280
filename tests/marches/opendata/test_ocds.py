"""OCDS: one release package per public consultation, valid against the official release
package schema (resolved locally), in each state; drafts and unknown consultations are 404."""

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from emegalis.core import clock
from emegalis.marches.award import services as award_services
from emegalis.marches.award.models import AwardDecision, DecisionOutcome, Evaluation
from emegalis.marches.consultations.models import Nature, Procedure, Question, State
from emegalis.marches.opendata import decp, ocds
from emegalis.marches.opening.models import OpeningSession
from tests.marches.helpers import (
    CONTRACT_DEFAULTS,
    add_modification,
    at,
    make_company,
    make_contract,
    make_pli,
    paris_noon,
)

LOTS = [
    {"number": 1, "title": "Nettoyage", "cpv": "90910000-9", "estimated_value": Decimal("300000")},
    {"number": 2, "title": "Vitrerie", "cpv": "90919200-4", "estimated_value": Decimal("80000")},
]


def official_validator() -> Draft4Validator:
    """Written here again on purpose: the test checks with jsonschema directly."""
    package = json.loads((ocds.SCHEMAS / "release-package-schema.json").read_text())
    release = json.loads((ocds.SCHEMAS / "release-schema.json").read_text())
    registry = Registry().with_resource(
        "https://standard.open-contracting.org/schema/1__1__5/release-schema.json",
        Resource.from_contents(release, DRAFT4),
    )
    return Draft4Validator(package, registry=registry, format_checker=FormatChecker())


def assert_valid(package: dict) -> None:
    assert [e.message for e in official_validator().iter_errors(package)] == []
    assert ocds.package_errors(package) == []
    for release in package["releases"]:
        assert datetime.fromisoformat(release["date"]).tzinfo is not None


@pytest.fixture
def published(make_consultation):
    return make_consultation(lots=LOTS, estimated_value=Decimal("380000"))


def test_published_consultation_has_a_valid_tender_release(published, client):
    Question.objects.create(consultation=published, text="Visite ?", asked_at=clock.now())
    response = client.get(f"/marches/consultations/{published.pk}/ocds.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    ocid = f"ocds-emegal-{published.pk}"
    assert f'filename="{ocid}.json"' in response["Content-Disposition"]
    package = json.loads(response.content)
    assert_valid(package)

    assert package["version"] == "1.1"
    assert package["uri"].endswith(f"/marches/consultations/{published.pk}/ocds.json")
    [release] = package["releases"]
    assert release["ocid"] == ocid and release["tag"] == ["tender"]
    tender = release["tender"]
    assert tender["status"] == "active"
    assert tender["procurementMethod"] == "open"
    assert tender["mainProcurementCategory"] == "services"
    assert tender["tenderPeriod"]["endDate"] == ocds.when(published.bids_deadline)
    deadline = published.bids_deadline.replace(microsecond=0)
    assert datetime.fromisoformat(tender["tenderPeriod"]["endDate"]) == deadline
    assert tender["enquiryPeriod"]["endDate"] == ocds.when(published.questions_deadline)
    assert tender["value"] == {"amount": 380000, "currency": "EUR"}
    assert [lot["id"] for lot in tender["lots"]] == ["lot-1", "lot-2"]
    assert tender["lots"][1]["value"] == {"amount": 80000, "currency": "EUR"}
    assert [(i["relatedLot"], i["classification"]["id"]) for i in tender["items"]] == [
        ("lot-1", "90910000"),
        ("lot-2", "90919200"),
    ]
    assert "numberOfTenderers" not in tender
    assert tender["hasEnquiries"] is False  # an unanswered question is not public
    buyer = published.organisation
    assert release["parties"] == [
        {
            "id": f"FR-RCS-{buyer.siret}",
            "name": buyer.name,
            "identifier": {"scheme": "FR-RCS", "id": buyer.siret, "legalName": buyer.name},
            "roles": ["buyer", "procuringEntity"],
        }
    ]
    assert release["buyer"] == {"id": f"FR-RCS-{buyer.siret}", "name": buyer.name}


def test_awarded_consultation_with_a_contract(published, client, db):
    winner, loser = make_company("Armor Propreté"), make_company("Breizh Nettoyage")
    loser_pli = make_pli(published, loser)
    OpeningSession.objects.create(consultation=published, opened_at=clock.now())
    lot = published.lots.get(number=1)
    contract = make_contract(published, winner, lot=lot)
    Evaluation.objects.create(
        consultation=published, lot=lot, pli=loser_pli, price=Decimal("517333.33")
    )
    add_modification(contract, 1)
    unsuccessful = AwardDecision.objects.create(
        consultation=published,
        lot=published.lots.get(number=2),
        outcome=DecisionOutcome.INFRUCTUEUX,
        decided_at=clock.now(),
        letters_sent_at=clock.now(),
    )
    published.state = State.ATTRIBUEE
    published.save(update_fields=["state"])

    package = json.loads(client.get(f"/marches/consultations/{published.pk}/ocds.json").content)
    assert_valid(package)
    text = json.dumps(package)
    assert "517333" not in text  # a non-winning offer's price never leaks
    releases = package["releases"]
    assert [r["tag"][0] for r in releases] == [
        "tender",
        "tenderUpdate",
        "award",
        "contract",
        "contractAmendment",
        "award",
    ]
    assert releases[1]["tender"]["numberOfTenderers"] == 2
    award = releases[2]["awards"][0]
    assert award["status"] == "active"
    assert award["suppliers"] == [{"id": f"FR-RCS-{winner.siret}", "name": winner.name}]
    assert award["value"] == {"amount": 480000, "currency": "EUR"}
    assert award["relatedLots"] == ["lot-1"]
    assert releases[2]["tender"]["status"] == "complete"
    roles = {p["name"]: p["roles"] for p in releases[2]["parties"]}
    assert roles[winner.name] == ["tenderer", "supplier"]
    assert roles[loser.name] == ["tenderer"]
    signed = releases[3]["contracts"][0]
    assert signed["awardID"] == award["id"]
    assert signed["value"] == {"amount": 480000, "currency": "EUR"}
    assert signed["dateSigned"] == "2026-03-02T00:00:00+01:00"
    assert signed["period"]["endDate"] == "2029-03-02T00:00:00+01:00"
    amended = releases[4]["contracts"][0]
    assert amended["value"] == {"amount": 530000.5, "currency": "EUR"}
    assert amended["amendments"][0]["date"] == "2026-09-01T00:00:00+02:00"
    last = releases[5]["awards"][0]
    assert last["id"] == f"attribution-{unsuccessful.pk}" and last["status"] == "unsuccessful"
    assert "suppliers" not in last and "value" not in last


def test_an_award_not_yet_communicated_is_not_published(published, client):
    pli = make_pli(published, make_company())
    AwardDecision.objects.create(
        consultation=published,
        outcome=DecisionOutcome.ATTRIBUE,
        winner=pli,
        amount=Decimal("1000"),
        decided_at=clock.now(),
    )
    package = json.loads(client.get(f"/marches/consultations/{published.pk}/ocds.json").content)
    assert [r["tag"] for r in package["releases"]] == [["tender"]]


def test_cancelled_restricted_works_consultation(make_consultation, client):
    consultation = make_consultation(
        reference="2026-T",
        procedure=Procedure.AO_RESTREINT,
        nature=Nature.TRAVAUX,
        cpv_main="45000000-7",
    )
    consultation.state = State.ANNULEE
    consultation.state_changed_at = clock.now()
    consultation.save(update_fields=["state", "state_changed_at"])
    package = json.loads(client.get(f"/marches/consultations/{consultation.pk}/ocds.json").content)
    assert_valid(package)
    tender = package["releases"][0]["tender"]
    assert (tender["procurementMethod"], tender["mainProcurementCategory"]) == (
        "selective",
        "works",
    )
    assert package["releases"][-1]["tag"] == ["tenderCancellation"]
    assert package["releases"][-1]["tender"]["status"] == "cancelled"


def test_draft_and_unknown_consultations_are_404(make_consultation, client, client_for, buyer_a):
    draft = make_consultation(publish=False)
    assert client.get(f"/marches/consultations/{draft.pk}/ocds.json").status_code == 404
    assert client.get("/marches/consultations/999999/ocds.json").status_code == 404
    assert client.get(f"/api/v1/marches/consultations/{draft.pk}/ocds").status_code == 404
    # Not even its own buyer gets a package for a draft.
    own = client_for(buyer_a).get(f"/marches/consultations/{draft.pk}/ocds.json")
    assert own.status_code == 404


def test_api_mirrors_the_file_and_prefix_is_a_setting(published, client, settings):
    settings.OCDS_OCID_PREFIX = "ocds-abc123"
    page = json.loads(client.get(f"/marches/consultations/{published.pk}/ocds.json").content)
    api = client.get(f"/api/v1/marches/consultations/{published.pk}/ocds")
    assert api.status_code == 200 and api.json() == page
    assert page["releases"][0]["ocid"] == f"ocds-abc123-{published.pk}"


def test_the_validator_rejects_a_broken_package(published):
    package = ocds.release_package(published)
    package["releases"][0]["date"] = "2026-03-02T10:00:00"  # no time zone
    package["releases"][0]["tender"]["status"] = "open"
    del package["publisher"]
    assert ocds.package_errors(package) == [
        "document : 'publisher' is a required property",
        "releases[0].date : '2026-03-02T10:00:00' is not a 'date-time'",
        "releases[0].tender.status : 'open' is not one of ['planning', 'planned', 'active', "
        "'cancelled', 'unsuccessful', 'complete', 'withdrawn', None]",
    ]


def test_dates_of_days_are_paris_midnight():
    assert ocds.when(date(2026, 1, 15)) == "2026-01-15T00:00:00+01:00"
    assert ocds.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)


# --- Through the real award services ----------------------------------------------------------


def test_a_contract_notified_by_the_award_services_is_valid_decp_and_ocds(
    decided,  # noqa: F811
    buyer_a,
    monkeypatch,
    client,
):
    contest, decision = decided
    armor, breizh, _ = contest.plis
    at(monkeypatch, paris_noon(date(2027, 3, 3)))
    award_services.send_letters(actor=buyer_a, decision=decision)
    decision.refresh_from_db()
    at(monkeypatch, paris_noon(date(2027, 3, 15)))
    contract = award_services.notify_contract(
        actor=buyer_a, decision=decision, number="2027-001", **CONTRACT_DEFAULTS
    )

    assert decp.decp_errors(contract) == []
    data = json.loads(client.get("/marches/donnees-essentielles/decp.json?annee=2027").content)
    [record] = data["marches"]["marche"]
    assert (record["id"], record["montant"], record["offresRecues"]) == ("2027-001", 100000, 3)
    assert record["titulaires"][0]["titulaire"]["id"] == armor.company.siret

    package = json.loads(
        client.get(f"/marches/consultations/{contest.consultation.pk}/ocds.json").content
    )
    assert_valid(package)
    assert [r["tag"][0] for r in package["releases"]] == [
        "tender",
        "tenderUpdate",
        "award",
        "contract",
    ]
    assert package["releases"][1]["tender"]["numberOfTenderers"] == 3
    award = package["releases"][2]["awards"][0]
    assert award["suppliers"][0]["name"] == armor.company.name
    assert award["value"] == {"amount": 100000, "currency": "EUR"}
    text = json.dumps(package) + json.dumps(data)
    assert "125000" not in text  # Breizh's price (not retained) is never published
    assert breizh.company.name in text  # but, the award being communicated, it was a tenderer
