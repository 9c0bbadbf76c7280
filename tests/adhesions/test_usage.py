"""The usage registry and the figures the adhésions register."""

from datetime import date
from decimal import Decimal

import pytest

from emegalis.adhesions import services
from emegalis.core import clock, usage
from emegalis.core.services_catalog import Service
from emegalis.organisations.roles import Role
from tests.factories import make_convention, make_member

pytestmark = pytest.mark.django_db


def _figures(organisation, year):
    return {s.name: s.figures for s in usage.collect(organisation, year)}


def test_adhesions_register_their_figures(staff, agglo, communes):
    year = clock.today().year
    make_member(agglo, Role.REFERENT)
    make_member(agglo, Role.ACHETEUR)
    make_convention(agglo, [Service.MARCHES], start=date(2020, 1, 1), end=None)
    make_convention(agglo, [Service.ACTES], start=date(2000, 1, 1), end=date(2001, 1, 1))
    services.create_contribution(
        actor=staff, payer=agglo, year=year, amount_ht=Decimal("3000"), beneficiaries=communes
    )
    services.generate_calls(actor=staff, year=year)
    assert "adhesions" in usage.registered()
    assert _figures(agglo, year)["adhesions"] == {
        "Utilisateurs actifs": 2,
        "Conventions en vigueur": 1,
        "Appels de contribution émis": 1,
        "Appels de contribution impayés": 1,
    }
    # A past year counts the conventions in force at its end.
    assert _figures(agglo, 2000)["adhesions"]["Conventions en vigueur"] == 1
    assert _figures(agglo, 2000)["adhesions"]["Appels de contribution émis"] == 0


def test_other_apps_can_register_and_replace(agglo):
    @usage.register("essai", title="Essai")
    def essai(organisation, year):
        return {"Consultations": year - 2000, "Organisation": organisation.pk}

    try:
        sections = {s.name: s for s in usage.collect(agglo, 2026)}
        assert sections["essai"].title == "Essai"
        assert sections["essai"].figures == {"Consultations": 26, "Organisation": agglo.pk}
        usage.register("essai")(lambda organisation, year: {"Autre": 1})
        assert {s.name: s.figures for s in usage.collect(agglo, 2026)}["essai"] == {"Autre": 1}
    finally:
        usage.unregister("essai")
    assert "essai" not in usage.registered()


def test_the_service_apps_show_their_figures_beside_the_others():
    from emegalis.demo.region import load_demo_region
    from emegalis.organisations.models import Organisation

    load_demo_region()
    agglo = Organisation.objects.get(name__startswith="Lorient Agglomération")
    figures = _figures(agglo, clock.today().year)
    assert {"formations", "groupements", "collaboratif"} <= set(figures)
    assert figures["groupements"]["Groupements coordonnés"] == 3
    assert figures["collaboratif"]["Versions déposées par ses agents"] >= 3
    # The buyer, attested after the held session (the attestation is issued today).
    assert figures["formations"]["Personnes formées"] == 1
    assert figures["formations"]["Heures de formation"] == 7
