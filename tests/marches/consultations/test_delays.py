"""Legal minimum delays: refused with their reason, in the service and on the form."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from emegalis.core import clock
from emegalis.marches import delays
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Consultation, Procedure
from tests.marches.helpers import consultation_fields

pytestmark = pytest.mark.django_db


def _check(procedure, days, *, question_days=None, electronic=True, pin=False, urgency=False):
    now = clock.now()
    delays.check_deadlines(
        procedure=procedure,
        publication=now,
        questions_deadline=now + timedelta(days=question_days or max(days - 7, 1)),
        bids_deadline=now + timedelta(days=days),
        electronic=electronic,
        prior_information=pin,
        urgency=urgency,
    )


@pytest.mark.parametrize(
    ("procedure", "kwargs", "minimum"),
    [
        (Procedure.AO_OUVERT, {"electronic": False}, 35),
        (Procedure.AO_OUVERT, {"electronic": True}, 30),
        (Procedure.AO_OUVERT, {"pin": True}, 15),
        (Procedure.AO_OUVERT, {"urgency": True}, 15),
        (Procedure.AO_RESTREINT, {}, 30),
        (Procedure.NEGOCIATION, {}, 30),
        (Procedure.DIALOGUE, {}, 30),
    ],
)
def test_minimum_is_accepted_and_one_day_less_is_refused(procedure, kwargs, minimum):
    lead = 4 if kwargs.get("urgency") else 6
    _check(procedure, minimum, question_days=minimum - lead, **kwargs)
    with pytest.raises(ValidationError) as exc:
        _check(procedure, minimum - 1, question_days=minimum - 1 - lead, **kwargs)
    message = exc.value.message_dict["bids_deadline"][0]
    assert "Délai trop court" in message
    assert f"{minimum} jours" in message
    assert "CCP R2161" in message


def test_mapa_has_no_legal_minimum_but_a_warning():
    _check(Procedure.MAPA, 5, question_days=2)
    now = clock.now()
    warning = delays.mapa_warning(
        procedure=Procedure.MAPA, publication=now, bids_deadline=now + timedelta(days=10)
    )
    assert "20 jours" in warning
    assert not delays.mapa_warning(
        procedure=Procedure.MAPA, publication=now, bids_deadline=now + timedelta(days=25)
    )


def test_questions_must_close_six_days_before_bids_in_formalised_procedures():
    with pytest.raises(ValidationError) as exc:
        _check(Procedure.AO_OUVERT, 40, question_days=36)
    assert "6 jours" in exc.value.message_dict["questions_deadline"][0]
    _check(Procedure.MAPA, 40, question_days=36)  # no such rule for an adapted procedure


def test_question_deadline_after_bids_deadline_is_refused():
    with pytest.raises(ValidationError) as exc:
        _check(Procedure.MAPA, 20, question_days=25)
    assert "précéder" in exc.value.message_dict["questions_deadline"][0]


def test_service_refuses_a_short_open_procedure_with_its_reason(buyer_a, commune_a):
    now = clock.now()
    with pytest.raises(ValidationError) as exc:
        consultations_services.create_consultation(
            actor=buyer_a,
            organisation=commune_a,
            **consultation_fields(
                bids_deadline=now + timedelta(days=20), questions_deadline=now + timedelta(days=5)
            ),
        )
    assert "30 jours" in exc.value.message_dict["bids_deadline"][0]
    assert not Consultation.objects.exists()


def test_form_shows_the_legal_reason(client_for, buyer_a):
    client = client_for(buyer_a)
    local = timezone.localtime(clock.now())
    response = client.post(
        "/marches/acheteur/nouvelle/",
        {
            "reference": "2026-002",
            "title": "Travaux de voirie",
            "object": "Réfection de chaussées.",
            "procedure": Procedure.AO_OUVERT,
            "nature": "travaux",
            "cpv_main": "45000000-7",
            "electronic_submission": "on",
            "questions_deadline": (local + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
            "bids_deadline": (local + timedelta(days=15)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Délai trop court" in html
    assert "CCP R2161-2" in html
    assert not Consultation.objects.exists()


def test_publication_rechecks_the_delay_against_the_publication_day(
    buyer_a, make_consultation, monkeypatch
):
    consultation = make_consultation(
        publish=False,
        **{
            "bids_deadline": clock.now() + timedelta(days=31),
            "questions_deadline": clock.now() + timedelta(days=20),
        },
    )
    later = clock.now() + timedelta(days=3)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(ValidationError) as exc:
        consultations_services.publish(actor=buyer_a, consultation=consultation)
    assert "Délai trop court" in " ".join(exc.value.messages)
