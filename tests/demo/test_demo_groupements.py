"""The demo region's groupements: one in each main state, the awarded one shared out through
the real salle des marchés, its open data valid; loading twice duplicates nothing."""

import pytest

from emegalis.adhesions.models import Charge
from emegalis.demo.region import load_demo_region
from emegalis.groupements import opendata
from emegalis.groupements.models import (
    Groupement,
    LotAllocation,
    MemberContract,
    State,
    SurveyState,
)
from emegalis.marches.award.models import Contract
from emegalis.marches.opendata import decp

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_groupement_in_each_main_state_and_one_awarded_and_shared_out():
    load_demo_region()
    states = dict(Groupement.objects.values_list("object", "state"))
    assert states["Fournitures de bureau 2027"] == State.CONSTITUE
    assert states["Maintenance des défibrillateurs des bâtiments publics"] == State.EN_SIGNATURE
    paper = Groupement.objects.get(object="Papier et toner 2026")
    survey = paper.surveys.get()
    assert survey.state == SurveyState.CLOS and survey.consultation.state == "attribuee"
    allocations = LotAllocation.objects.filter(lot__survey=survey)
    assert allocations.count() == 2
    # « Procédure seule »: no marché of the coordinator's for all; each member's own.
    assert not Contract.objects.filter(consultation=survey.consultation).exists()
    contracts = MemberContract.objects.filter(allocation__lot__survey=survey)
    assert sorted(c.state_label for c in contracts) == ["Notifié", "Notifié", "Notifié", "À signer"]
    assert all(c.message_id for c in contracts if c.notified_on)
    document = opendata.decp_document(survey)
    assert decp.schema_errors(document) == []
    assert len(document["marches"]["marche"]) == 3  # the notified ones
    charges = Charge.objects.filter(label__contains="Papier et toner 2026")
    assert sorted(str(c.amount_ht) for c in charges) and sum(c.amount_ht for c in charges) == 480
    open_survey = Groupement.objects.get(object="Fournitures de bureau 2027").surveys.get()
    assert open_survey.state == SurveyState.OUVERT
    load_demo_region()
    assert Groupement.objects.count() == 3
