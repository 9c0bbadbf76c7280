"""The send task: retried later with a growing delay on a transport error (when the backend
can defer), given up after the last delay, idempotent once sent; the recovery command."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.tasks import default_task_backend

from emegalis.actes import documents
from emegalis.actes import protocol as p
from emegalis.actes.acts import services as acts_services
from emegalis.actes.models import Transaction
from emegalis.actes.tasks import send_transaction
from emegalis.core import clock
from tests.actes.helpers import acte_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def acte(agent, commune, wire):
    wire.mode = "fail"
    data = acte_form()
    acte = acts_services.create_acte(
        actor=agent,
        organisation=commune,
        data=acts_services.ActeInput(
            nature=1,
            numero_interne=data["numero_interne"],
            decision_date=clock.today(),
            objet=data["objet"],
            matieres=[5, 2],
            document=documents.Upload.of(data["document"], "99_DE"),
        ),
    )
    return acte


def test_a_failed_send_is_enqueued_again_with_backoff(acte, settings, wire):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.ACTES_SEND_BACKOFF = "30,120"
    before = clock.now()
    assert send_transaction.call(acte.pk) == "nouvel essai dans 30 s"
    (retry,) = default_task_backend.results
    assert retry.args == [acte.pk]
    assert retry.task.run_after - before >= timedelta(seconds=30)
    assert send_transaction.call(acte.pk) == "nouvel essai dans 120 s"
    assert send_transaction.call(acte.pk) == "abandonné"
    assert len(default_task_backend.results) == 2
    acte.refresh_from_db()
    assert acte.status == p.ActStatus.EN_ATTENTE_TRANSMISSION
    assert acte.envelopes.get().attempts == 3

    wire.mode = "ok"
    assert send_transaction.call(acte.pk) == "envoyé"
    assert send_transaction.call(acte.pk) == "rien à faire"
    assert len(wire.sent) == 4 and len({name for name, _ in wire.sent}) == 1


def test_the_recovery_command_requeues_pending_transmissions(acte, wire, capsys):
    Transaction.objects.filter(pk=acte.pk).update(status=p.ActStatus.POSTE)
    wire.mode = "ok"
    call_command("actes_send_pending")
    assert "1 transmission(s)" in capsys.readouterr().out
    acte.refresh_from_db()
    assert acte.status == p.ActStatus.TRANSMIS
