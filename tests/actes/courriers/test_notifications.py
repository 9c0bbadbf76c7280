"""E-mails of the contrôle de légalité: a prefecture courrier reaches the commune's agents;
acts still waiting for their acknowledgement a day after sending are reminded daily."""

from datetime import timedelta

import pytest
from django.core import mail

from emegalis.actes import protocol as p
from emegalis.actes.courriers import notifications
from emegalis.actes.models import Transaction
from emegalis.core import clock
from tests.actes.helpers import send_act

pytestmark = pytest.mark.django_db


def test_a_prefecture_letter_is_announced_to_the_agents(
    agent, agent_client, prefecture_letter, run_commits, wire
):
    acte = send_act(agent_client, run_commits)
    mail.outbox.clear()
    prefecture_letter("4-1", "Le montant de la subvention dépasse le plafond.")
    notices = [m for m in mail.outbox if "Courrier de la préfecture" in m.subject]
    assert [m.to for m in notices] == [[agent.email]]
    assert acte.numero_interne in notices[0].body
    assert f"/actes/{acte.pk}/" in notices[0].body


def test_acts_without_acknowledgement_after_a_day_are_reminded(
    agent, agent_client, run_commits, wire
):
    acte = send_act(agent_client, run_commits)
    # The counterpart answers at once in the tests: make the act look unacknowledged.
    Transaction.objects.filter(pk=acte.pk).update(status=p.ActStatus.TRANSMIS)
    acte.refresh_from_db()
    assert acte.sent_at is not None
    assert notifications.remind_stuck_acts(now=acte.sent_at + timedelta(hours=23)) == 0
    mail.outbox.clear()
    later = acte.sent_at + timedelta(hours=25)
    assert list(notifications.stuck_acts(now=later)) == [acte]
    assert notifications.remind_stuck_acts(now=later) == 1
    assert mail.outbox[0].to == [agent.email]
    assert acte.numero_interne in mail.outbox[0].body
    Transaction.objects.filter(pk=acte.pk).update(status=p.ActStatus.ACQUITTEMENT_RECU)
    assert notifications.remind_stuck_acts(now=clock.now() + timedelta(days=2)) == 0
