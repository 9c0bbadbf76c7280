"""The groupement from draft to dissolved: convention versions, signatures, avenants, and
each refusal in French with nothing half-saved."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from emegalis.core import clock
from emegalis.core.models import JournalEntry
from emegalis.core.pdf import extract_text
from emegalis.core.services_catalog import Service
from emegalis.groupements import services
from emegalis.groupements.lifecycle import MACHINE
from emegalis.groupements.models import Groupement, Need, State, SurveyState

from .helpers import constituted, open_survey, record, side, sign

pytestmark = pytest.mark.django_db


def test_the_state_machine_allows_only_the_documented_moves():
    assert MACHINE.may(None, State.BROUILLON)
    assert not MACHINE.may(None, State.CONSTITUE)
    assert MACHINE.may(State.BROUILLON, State.EN_SIGNATURE)
    assert not MACHINE.may(State.BROUILLON, State.CONSTITUE)
    assert MACHINE.may(State.CONSTITUE, State.EN_SIGNATURE)  # avenant
    assert MACHINE.allowed(State.DISSOUS) == frozenset()
    with pytest.raises(ValidationError, match="dissous"):
        MACHINE.check(State.DISSOUS, State.BROUILLON)


def test_from_draft_to_constituted_with_every_signature():
    agglo, commune = side(), side()
    groupement = services.create_groupement(
        actor=agglo.coordinator, coordinator=agglo.organisation, **record()
    )
    assert groupement.members.get().organisation == agglo.organisation
    with pytest.raises(ValidationError, match="au moins deux membres"):
        services.submit_for_signature(actor=agglo.coordinator, groupement=groupement)
    services.add_member(
        actor=agglo.coordinator, groupement=groupement, organisation=commune.organisation
    )
    version = services.submit_for_signature(actor=agglo.coordinator, groupement=groupement)
    text = extract_text(bytes(version.pdf))
    assert "Convention constitutive" in text and commune.organisation.name in text
    sign(agglo, groupement)
    groupement.refresh_from_db()
    assert groupement.state == State.EN_SIGNATURE
    sign(commune, groupement)
    groupement.refresh_from_db()
    assert groupement.state == State.CONSTITUE
    actions = set(JournalEntry.objects.values_list("action", flat=True))
    assert {"groupement.convention_signed", "groupement.constituted"} <= actions


def test_a_change_in_signature_makes_a_new_version_and_voids_the_signatures():
    agglo, commune = side(), side()
    groupement = services.create_groupement(
        actor=agglo.coordinator, coordinator=agglo.organisation, **record()
    )
    services.add_member(
        actor=agglo.coordinator, groupement=groupement, organisation=commune.organisation
    )
    services.submit_for_signature(actor=agglo.coordinator, groupement=groupement)
    sign(agglo, groupement)
    services.update_groupement(
        actor=agglo.coordinator, groupement=groupement, **record(cost_key="population")
    )
    latest = services.latest_version(groupement)
    assert latest.number == 2 and latest.signatures.count() == 0
    sign(commune, groupement)
    groupement.refresh_from_db()
    assert groupement.state == State.EN_SIGNATURE  # agglo must sign version 2 too
    sign(agglo, groupement)
    groupement.refresh_from_db()
    assert groupement.state == State.CONSTITUE


def test_signing_needs_the_referent_the_second_factor_and_the_acknowledged_act():
    agglo = side()
    commune = side(Service.GROUPEMENTS, Service.ACTES)
    groupement = services.create_groupement(
        actor=agglo.coordinator, coordinator=agglo.organisation, **record()
    )
    services.add_member(
        actor=agglo.coordinator, groupement=groupement, organisation=commune.organisation
    )
    services.submit_for_signature(actor=agglo.coordinator, groupement=groupement)
    with pytest.raises(PermissionDenied, match="référent"):
        services.sign_convention(
            actor=commune.coordinator,
            groupement=groupement,
            organisation=commune.organisation,
            deliberation_date=clock.today(),
            deliberation_number="1",
            two_factor_verified=True,
        )
    with pytest.raises(PermissionDenied, match="double authentification"):
        sign(commune, groupement, two_factor_verified=False)
    with pytest.raises(ValidationError) as refused:
        sign(commune, groupement)
    assert "transmet ses actes" in str(refused.value)
    with pytest.raises(ValidationError) as refused:
        sign(commune, groupement, acte_reference="DEL2026_999")
    assert "accusé de réception" in str(refused.value)
    assert services.latest_version(groupement).signatures.count() == 0


def test_a_member_without_the_service_open_and_bad_records_are_refused():
    agglo = side()
    outsider = side(Service.MARCHES)
    with pytest.raises(ValidationError, match="n'ouvre pas le service"):
        services.create_groupement(
            actor=outsider.coordinator, coordinator=outsider.organisation, **record()
        )
    groupement = services.create_groupement(
        actor=agglo.coordinator, coordinator=agglo.organisation, **record()
    )
    with pytest.raises(ValidationError, match="n'ouvre pas le service"):
        services.add_member(
            actor=agglo.coordinator, groupement=groupement, organisation=outsider.organisation
        )
    with pytest.raises(ValidationError) as refused:
        services.create_groupement(
            actor=agglo.coordinator,
            coordinator=agglo.organisation,
            **record(object=" ", kind="autre", end_date=clock.today() - timedelta(days=1)),
        )
    assert set(refused.value.message_dict) >= {"object", "kind", "end_date"}
    with pytest.raises(PermissionDenied):
        services.create_groupement(
            actor=side().coordinator, coordinator=agglo.organisation, **record()
        )
    assert Groupement.objects.count() == 1


def test_a_ponctuel_constituted_takes_no_member_and_a_permanent_one_takes_an_avenant():
    agglo, commune, late = side(), side(), side()
    ponctuel = constituted(agglo, commune)
    with pytest.raises(ValidationError, match="n'accueille plus"):
        services.add_member(
            actor=agglo.coordinator, groupement=ponctuel, organisation=late.organisation
        )
    permanent = constituted(agglo, commune, kind="permanent")
    services.add_member(
        actor=agglo.coordinator, groupement=permanent, organisation=late.organisation
    )
    permanent.refresh_from_db()
    assert permanent.state == State.EN_SIGNATURE
    assert services.latest_version(permanent).reason.startswith("Avenant")


def test_no_survey_before_constitution_and_a_late_member_takes_no_part():
    agglo, commune, late = side(), side(), side()
    draft = services.create_groupement(
        actor=agglo.coordinator, coordinator=agglo.organisation, **record()
    )
    with pytest.raises(ValidationError, match="une fois la convention signée"):
        open_survey(agglo, draft)
    groupement = constituted(agglo, commune, kind="permanent")
    with pytest.raises(ValidationError) as refused:
        services.open_survey(
            actor=agglo.coordinator,
            groupement=groupement,
            title="X",
            deadline=clock.now() - timedelta(minutes=1),
            items_text="1 ; Lot ; Article ; u ; abc\n",
        )
    assert set(refused.value.message_dict) == {"deadline", "items"}
    survey = open_survey(agglo, groupement)
    services.add_member(
        actor=agglo.coordinator, groupement=groupement, organisation=late.organisation
    )
    assert late.organisation not in [m.organisation for m in services.participating_members(survey)]
    item = survey.lots.get().items.first()
    with pytest.raises(PermissionDenied, match="ne participe pas"):
        services.record_needs(
            actor=late.coordinator,
            survey=survey,
            organisation=late.organisation,
            quantities={item.pk: "3"},
        )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-2", "négative"),
        ("douze", "n'est pas un nombre"),
        ("1e12", "hors de proportion"),
        ("1,2345", "trois décimales"),
        ("NaN", "n'est pas un nombre"),
    ],
)
def test_bad_quantities_are_refused_and_nothing_is_saved(value, message):
    agglo, commune = side(), side()
    survey = open_survey(agglo, constituted(agglo, commune))
    first, second = survey.lots.get().items.all()
    with pytest.raises(ValidationError, match=message):
        services.record_needs(
            actor=commune.coordinator,
            survey=survey,
            organisation=commune.organisation,
            quantities={first.pk: "12", second.pk: value},
        )
    assert not Need.objects.exists()


def test_the_scheduler_closes_a_due_survey_and_seals_its_snapshot():
    agglo, commune = side(), side()
    survey = open_survey(agglo, constituted(agglo, commune))
    item = survey.lots.get().items.first()
    services.record_needs(
        actor=commune.coordinator,
        survey=survey,
        organisation=commune.organisation,
        quantities={item.pk: "12,5"},
    )
    assert services.close_due_surveys() == 0
    with clock.shifted(timedelta(days=11)):
        assert services.close_due_surveys() == 1
        with pytest.raises(ValidationError, match="clos"):
            services.record_needs(
                actor=commune.coordinator,
                survey=survey,
                organisation=commune.organisation,
                quantities={item.pk: "13"},
            )
    survey.refresh_from_db()
    assert survey.state == SurveyState.CLOS and len(survey.snapshot_sha256) == 64
    entry = JournalEntry.objects.get(action="groupement.survey_closed")
    assert entry.payload["sha256"] == survey.snapshot_sha256


def test_a_dissolved_groupement_changes_no_more():
    agglo, commune = side(), side()
    groupement = constituted(agglo, commune)
    with pytest.raises(ValidationError):
        services.dissolve(actor=agglo.coordinator, groupement=groupement, reason="")
    services.dissolve(actor=agglo.coordinator, groupement=groupement, reason="Marché attribué")
    with pytest.raises(ValidationError, match="dissous"):
        services.dissolve(actor=agglo.coordinator, groupement=groupement, reason="encore")


def test_two_days_before_the_deadline_members_without_needs_get_one_reminder(mailoutbox):
    agglo, commune, silent = side(), side(), side()
    survey = open_survey(agglo, constituted(agglo, commune, silent))  # deadline in 10 days
    item = survey.lots.get().items.first()
    services.record_needs(
        actor=commune.coordinator,
        survey=survey,
        organisation=commune.organisation,
        quantities={item.pk: "3"},
    )
    assert services.remind_due_surveys() == 0
    with clock.shifted(timedelta(days=8, hours=1)):
        sent = services.remind_due_surveys()
        assert services.remind_due_surveys() == 0  # once per survey
    recipients = sorted(address for m in mailoutbox for address in m.to)
    expected = sorted(
        [
            silent.coordinator.email,
            silent.referent.email,
            agglo.coordinator.email,
            agglo.referent.email,
        ]
    )
    assert sent == 4 and recipients == expected
    assert "n'a pas encore saisi ses besoins" in mailoutbox[0].body
