"""The procedure's costs shared by the convention's key, to the cent, each part reaching the
member's contributions page (HT, TVA, TTC)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from emegalis.adhesions.models import Charge
from emegalis.groupements import services

from .helpers import constituted, open_survey, side

pytestmark = pytest.mark.django_db


def _shares(cost):
    return {int(k): Decimal(v) for k, v in cost.shares.items()}


def test_equal_shares_reconcile_and_reach_each_members_charges(client, login):
    agglo, lorient, lanester = side(), side(), side()
    groupement = constituted(agglo, lorient, lanester)
    cost = services.share_costs(
        actor=agglo.coordinator,
        groupement=groupement,
        label="Publication BOAMP",
        amount_ht="1000",
        year=2027,
    )
    assert sorted(_shares(cost).values()) == [
        Decimal("333.33"),
        Decimal("333.33"),
        Decimal("333.34"),
    ]
    charges = Charge.objects.filter(source=f"groupements.cost:{cost.pk}")
    assert charges.count() == 3
    assert sum(c.amount_ht for c in charges) == Decimal("1000.00")
    mine = charges.get(payer=lanester.organisation)
    assert mine.amount_ttc == mine.amount_ht + mine.vat_amount
    login(lanester.referent)
    page = client.get(f"/organisations/{lanester.organisation.pk}/contributions/").content.decode()
    assert "Publication BOAMP" in page
    client.logout()
    login(side().referent)  # another organisation sees nothing of it
    assert (
        client.get(f"/organisations/{lanester.organisation.pk}/contributions/").status_code == 404
    )


def test_by_needs_by_population_and_fixed_plus_variable():
    agglo, lorient = side(), side()
    groupement = constituted(agglo, lorient, cost_key="besoins")
    with pytest.raises(ValidationError, match="Aucun besoin"):
        services.share_costs(
            actor=agglo.coordinator, groupement=groupement, label="AMO", amount_ht="90", year=2027
        )
    survey = open_survey(agglo, groupement)
    ream, pens = survey.lots.get().items.all()
    services.record_needs(  # 100 × 3.20 = 320 €
        actor=agglo.coordinator,
        survey=survey,
        organisation=agglo.organisation,
        quantities={ream.pk: "100"},
    )
    services.record_needs(  # 10 × 3.20 + 10 × 9.90 = 131 €... 32 + 99
        actor=lorient.coordinator,
        survey=survey,
        organisation=lorient.organisation,
        quantities={ream.pk: "10", pens.pk: "10"},
    )
    cost = services.share_costs(
        actor=agglo.coordinator, groupement=groupement, label="AMO", amount_ht="451", year=2027
    )
    assert _shares(cost) == {
        agglo.organisation.pk: Decimal("320.00"),
        lorient.organisation.pk: Decimal("131.00"),
    }
    groupement.cost_key, groupement.fixed_part_percent = "fixe_variable", Decimal("20")
    groupement.save()
    cost = services.share_costs(
        actor=agglo.coordinator, groupement=groupement, label="Avis", amount_ht="451", year=2027
    )
    # fixed 90.20 → 45.10 each; variable 360.80 by 320 / 131
    assert sum(_shares(cost).values()) == Decimal("451.00")
    assert _shares(cost)[agglo.organisation.pk] == Decimal("45.10") + Decimal("256.00")
    groupement.cost_key = "population"
    groupement.save()
    with pytest.raises(ValidationError, match="population"):
        services.share_costs(
            actor=agglo.coordinator, groupement=groupement, label="X", amount_ht="10", year=2027
        )


def test_bad_costs_are_refused_and_nothing_is_charged():
    agglo, lorient = side(), side()
    groupement = constituted(agglo, lorient)
    for amount in ("-5", "abc", "0", "12,345"):
        with pytest.raises(ValidationError):
            services.share_costs(
                actor=agglo.coordinator,
                groupement=groupement,
                label="X",
                amount_ht=amount,
                year=2027,
            )
    with pytest.raises(Exception, match="coordinateurs de groupement"):
        services.share_costs(
            actor=lorient.coordinator, groupement=groupement, label="X", amount_ht="10", year=2027
        )
    assert not Charge.objects.exists()
