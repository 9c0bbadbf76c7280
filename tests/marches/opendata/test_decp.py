"""DECP v2: the record of a notified contract, its checks (official schema + what the schema
leaves to us), the public and buyer files and pages, and the export_decp command."""

import copy
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from jsonschema import Draft7Validator

from emegalis.core import clock
from emegalis.marches.consultations.models import State
from emegalis.marches.opendata import decp
from tests.factories import OrganisationFactory
from tests.marches.helpers import add_modification, make_company, make_contract

SCHEMA = json.loads(decp.SCHEMA_PATH.read_text(encoding="utf-8"))


# The upstream example (139bercy/format-commande-publique, public domain), copied in the tests.
EXAMPLE = Path(__file__).parents[1] / "data" / "decp_marches_avec_modifications.json"


@pytest.fixture
def holder(db):
    return make_company()


@pytest.fixture
def contract(make_consultation, holder):
    consultation = make_consultation()
    consultation.state = State.ATTRIBUEE
    consultation.save(update_fields=["state"])
    return make_contract(consultation, holder)


def test_a_realistic_contract_is_a_valid_record_with_every_field_mapped(contract, holder):
    record = decp.marche_record(contract)
    document = decp.document([record])

    assert list(Draft7Validator(SCHEMA).iter_errors(document)) == []
    assert decp.schema_errors(document) == []
    assert decp.decp_errors(contract) == []
    assert record == {
        "id": "2026-042",
        "acheteur": {"id": contract.buyer.siret},
        "nature": "Marché",
        "objet": "Nettoyage des groupes scolaires et vitrerie",
        "codeCPV": "90910000",
        "procedure": "Appel d'offres ouvert",
        "techniques": {"technique": ["Accord-cadre"]},
        "modalitesExecution": {"modaliteExecution": ["Bons de commande"]},
        "marcheInnovant": False,
        "ccag": "Fournitures courantes et services",
        "offresRecues": 3,
        "attributionAvance": True,
        "tauxAvance": 0.05,
        "typeGroupementOperateurs": "Pas de groupement",
        "sousTraitanceDeclaree": False,
        "lieuExecution": {"code": "56", "typeCode": "Code département"},
        "dureeMois": 36,
        "dateNotification": "2026-03-02",
        "datePublicationDonnees": "2026-03-09",
        "montant": 480000,
        "formePrix": "Mixte",
        "typesPrix": {"typePrix": ["Définitif révisable"]},
        "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": holder.siret}}],
        "considerationsSociales": {"considerationSociale": ["Clause sociale"]},
        "considerationsEnvironnementales": {
            "considerationEnvironnementale": ["Pas de considération environnementale"]
        },
    }
    assert isinstance(record["montant"], int)


def test_cents_stay_cents_and_json_text_keeps_accents(contract):
    contract.amount = Decimal("123456.89")
    contract.save()
    record = decp.marche_record(contract)
    assert record["montant"] == 123456.89
    text = decp.dumps(decp.document([record]))
    assert "Définitif révisable" in text and "\\u00e9" not in text


def test_a_modification_is_appended_with_sequential_ids_and_initial_values_unchanged(contract, db):
    new_holder = make_company("Breizh Services")
    add_modification(contract, 1)
    add_modification(
        contract,
        2,
        notified_on=date(2026, 10, 5),
        data_published_on=date(2026, 10, 6),
        amount=None,
        duration_months=42,
        holder=new_holder,
    )
    record = decp.marche_record(contract)

    assert decp.decp_errors(contract) == []
    assert record["montant"] == 480000 and record["dureeMois"] == 36
    assert record["titulaires"][0]["titulaire"]["id"] == contract.holder.siret
    assert record["modifications"] == [
        {
            "modification": {
                "id": 1,
                "montant": 530000.5,
                "dateNotificationModification": "2026-09-01",
                "datePublicationDonneesModification": "2026-09-08",
            }
        },
        {
            "modification": {
                "id": 2,
                "dureeMois": 42,
                "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": new_holder.siret}}],
                "dateNotificationModification": "2026-10-05",
                "datePublicationDonneesModification": "2026-10-06",
            }
        },
    ]
    assert list(Draft7Validator(SCHEMA).iter_errors(decp.document([record]))) == []


def test_a_modification_before_the_notification_or_out_of_sequence_is_reported(contract):
    add_modification(contract, 1, notified_on=date(2026, 2, 1), data_published_on=date(2026, 2, 2))
    add_modification(contract, 3)
    errors = decp.decp_errors(contract)
    assert errors == [
        "modifications[0].modification.dateNotificationModification : la modification "
        "(2026-02-01) ne peut pas précéder la notification du marché (2026-03-02)",
        "modifications[1].modification.id : les modifications sont numérotées 1, 2, 3… dans "
        "l'ordre ; 2 est attendu, pas « 3 »",
    ]


def test_montant_zero_is_invalid_in_french(contract):
    contract.amount = Decimal("0")
    contract.save()
    assert decp.decp_errors(contract) == [
        "montant : la valeur 0 est trop petite : au moins 1 est attendu"
    ]


def test_a_bad_holder_siret_is_invalid(contract, holder):
    bad = holder.siret[:-1] + str((int(holder.siret[-1]) + 1) % 10)
    holder.siret = bad  # the record is built from what is stored; the model is not re-saved
    holder.save(update_fields=["siret"])
    contract.refresh_from_db()
    assert decp.decp_errors(contract) == [
        f"titulaires[0].titulaire.id : « {bad} » — ce SIRET n'est pas valide : sa clé de "
        "contrôle est fausse."
    ]


def test_la_poste_siret_passes_although_not_luhn(contract, holder):
    from stdnum import luhn

    la_poste = "35600000000001"  # La Poste: digit sum multiple of 5, Luhn wrong
    assert not luhn.is_valid(la_poste) and sum(map(int, la_poste)) % 5 == 0
    holder.siren, holder.siret = "356000000", la_poste
    holder.save(update_fields=["siren", "siret"])
    contract.refresh_from_db()
    assert decp.decp_errors(contract) == []


def test_empty_price_types_and_bad_id_are_reported(contract):
    contract.types_prix = []
    contract.number = "2026 01;A"
    contract.save()
    assert decp.decp_errors(contract) == [
        "typesPrix.typePrix : la liste doit contenir au moins 1 valeur",
        "id : caractère à éviter dans l'identifiant (espace, « ; »)",
    ]


def test_the_shipped_example_passes_the_official_schema_and_our_checks_flag_its_defects():
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert list(Draft7Validator(SCHEMA).iter_errors(data)) == []
    assert decp.schema_errors(data) == []
    # What the schema leaves to us finds real defects in it: an invalid buyer SIRET key, a
    # 15-digit SIRET, a 6-digit one, a modification notified before the contract.
    found = decp.validate_document(data)
    assert found[:4] == [
        "marches.marche[0].acheteur.id : « 21750001630066 » — ce SIRET n'est pas valide : "
        "sa clé de contrôle est fausse.",
        "marches.marche[0].actesSousTraitance[0].acteSousTraitance.sousTraitant.id : "
        "« 214356 » — le SIRET doit comporter exactement 14 chiffres.",
        "marches.marche[0].modifications[0].modification.titulaires[0].titulaire.id : "
        "« 868768687576575 » — le SIRET doit comporter exactement 14 chiffres.",
        "marches.marche[0].modifications[0].modification.dateNotificationModification : la "
        "modification (2022-10-18) ne peut pas précéder la notification du marché (2024-05-15)",
    ]


def test_a_broken_copy_of_the_example_is_rejected_in_french():
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    broken = copy.deepcopy(data)
    first = broken["marches"]["marche"][0]
    first["montant"] = "575000"
    del first["procedure"]
    first["dateNotification"] = "15/05/2024"
    first["couleur"] = "bleu"
    errors = decp.schema_errors(broken)
    assert errors == [
        "marches.marche[0] : champ inconnu du format DECP : « couleur »",
        "marches.marche[0] : le champ « procedure » est obligatoire et manque",
        "marches.marche[0].dateNotification : format invalide (« 15/05/2024 ») : une date au "
        "format AAAA-MM-JJ est attendue",
        "marches.marche[0].montant : un nombre est attendu, pas « 575000 »",
    ]


def test_public_decp_json_leaves_invalid_records_out(client, contract, make_consultation, db):
    other = make_consultation(reference="2026-002")
    broken = make_contract(other, make_company("Océane TP"), number="2026-043", amount=0)

    response = client.get("/marches/donnees-essentielles/decp.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert 'filename="decp-e-megalis.json"' in response["Content-Disposition"]
    data = json.loads(response.content)
    assert list(Draft7Validator(SCHEMA).iter_errors(data)) == []
    assert [m["id"] for m in data["marches"]["marche"]] == ["2026-042"]
    # Left out of the public page too; the buyer's page shows it with its errors.
    page = client.get("/marches/donnees-essentielles/").content.decode()
    assert "2026-042" in page and broken.number not in page


def test_public_decp_json_filters_and_refuses_bad_ones(client, contract):
    siret = contract.buyer.siret
    ids = lambda r: [m["id"] for m in json.loads(r.content)["marches"]["marche"]]  # noqa: E731
    assert ids(client.get(f"/marches/donnees-essentielles/decp.json?acheteur={siret}")) == [
        "2026-042"
    ]
    assert ids(client.get("/marches/donnees-essentielles/decp.json?annee=2025")) == []
    assert ids(client.get("/marches/donnees-essentielles/decp.json?annee=2026")) == ["2026-042"]
    other = OrganisationFactory().siret
    assert ids(client.get(f"/marches/donnees-essentielles/decp.json?acheteur={other}")) == []
    bad = client.get("/marches/donnees-essentielles/decp.json?acheteur=123&annee=26")
    assert bad.status_code == 400
    assert json.loads(bad.content)["errors"] == [
        "Le paramètre « acheteur » est un SIRET de 14 chiffres.",
        "Le paramètre « annee » est une année sur 4 chiffres, par exemple 2026.",
    ]


def test_no_contract_of_a_draft_and_none_before_its_publication_date(client, contract):
    contract.data_published_on = clock.today() + timedelta(days=3)
    contract.save()
    data = json.loads(client.get("/marches/donnees-essentielles/decp.json").content)
    assert data == {"marches": {"marche": []}}


def test_the_api_mirrors_the_public_file(client, contract):
    page = json.loads(client.get("/marches/donnees-essentielles/decp.json").content)
    api = client.get("/api/v1/marches/donnees-essentielles?annee=2026")
    assert api.status_code == 200 and api.json() == page
    assert client.get("/api/v1/marches/donnees-essentielles?annee=deux").status_code == 422


def test_public_page_explains_and_lists(client, contract):
    response = client.get("/marches/donnees-essentielles/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Données essentielles des marchés publics" in text
    assert "/marches/donnees-essentielles/decp.json" in text
    assert contract.number in text and contract.holder.name in text
    assert f"/marches/consultations/{contract.consultation_id}/ocds.json" in text


def test_buyer_page_shows_verdicts_and_buyer_b_sees_nothing_of_a(
    client_for, contract, buyer_a, buyer_b, make_consultation
):
    other = make_consultation(reference="2026-003")
    make_contract(other, make_company("Océane TP"), number="2026-044", amount=0)

    page = client_for(buyer_a).get("/marches/acheteur/donnees-essentielles/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "2026-042" in text and "2026-044" in text
    assert "montant : la valeur 0 est trop petite : au moins 1 est attendu" in text
    own = json.loads(
        client_for(buyer_a).get("/marches/acheteur/donnees-essentielles/decp.json").content
    )
    assert [m["id"] for m in own["marches"]["marche"]] == ["2026-042"]

    page_b = client_for(buyer_b).get("/marches/acheteur/donnees-essentielles/")
    assert page_b.status_code == 200
    assert "2026-042" not in page_b.content.decode() and "2026-044" not in page_b.content.decode()
    file_b = json.loads(
        client_for(buyer_b).get("/marches/acheteur/donnees-essentielles/decp.json").content
    )
    assert file_b == {"marches": {"marche": []}}


def test_buyer_page_needs_login(client, contract):
    response = client.get("/marches/acheteur/donnees-essentielles/")
    assert response.status_code == 302 and "connexion" in response["Location"]


def test_the_buyer_panel_shows_the_contract_verdict(client_for, contract, buyer_a, buyer_b):
    page = client_for(buyer_a).get(f"/marches/acheteur/{contract.consultation_id}/")
    text = page.content.decode()
    assert 'id="opendata"' in text and "données essentielles conformes" in text
    assert f"/marches/consultations/{contract.consultation_id}/ocds.json" in text
    assert (
        client_for(buyer_b).get(f"/marches/acheteur/{contract.consultation_id}/").status_code == 404
    )


def test_export_decp_writes_a_valid_file(contract, tmp_path, capsys):
    target = tmp_path / "decp.json"
    call_command("export_decp", "--output", str(target), "--annee", "2026")
    data = json.loads(target.read_text(encoding="utf-8"))
    assert list(Draft7Validator(SCHEMA).iter_errors(data)) == []
    assert [m["id"] for m in data["marches"]["marche"]] == ["2026-042"]
    assert "1 marché(s) exporté(s)" in capsys.readouterr().out


def test_export_decp_fails_on_invalid_data_and_writes_nothing(contract, tmp_path, capsys):
    contract.amount = Decimal("0")
    contract.save()
    target = tmp_path / "decp.json"
    with pytest.raises(CommandError, match="non conformes"):
        call_command("export_decp", "--output", str(target))
    assert not target.exists()
    assert "Marché 2026-042" in capsys.readouterr().err


def test_export_decp_refuses_bad_filters(db):
    with pytest.raises(CommandError, match="SIRET de 14 chiffres"):
        call_command("export_decp", "--acheteur", "12")


def test_the_public_file_costs_the_same_queries_for_one_or_many_contracts(
    client, contract, make_consultation
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    add_modification(contract, 1)
    with CaptureQueriesContext(connection) as one:
        client.get("/marches/donnees-essentielles/decp.json")
    for n in range(3):
        other = make_consultation(reference=f"2026-1{n}")
        add_modification(make_contract(other, make_company(f"Société {n}"), number=f"M-{n}"), 1)
    with CaptureQueriesContext(connection) as four:
        response = client.get("/marches/donnees-essentielles/decp.json")
    assert len(json.loads(response.content)["marches"]["marche"]) == 4
    assert len(four.captured_queries) == len(one.captured_queries)
