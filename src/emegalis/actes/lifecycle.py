"""The transactions' status machine (the protocol's TRANSITIONS, brief §7), with its history and
journal entry, shared by acts, transmission and returns:

    act (type 1):     1 posté → 2 en attente de transmission → 3 transmis → 4 acquittement reçu
                                 ↘ −1 erreur (local check)      ↘ −1 (AnomalieActe/Enveloppe)
                      4 → 0 annulé (ARAnnulation of its cancel transaction)
    letters 3-1/4-1:  7 document reçu → 8 acquittement envoyé (automatic 3-2/4-2)
    letters 2-1/5-1:  21 document reçu (pas d'AR)
    replies, cancel, classification request: 1 → 2 → 3 → 4 (on their AR)
"""

from __future__ import annotations

from django.db import transaction as db_transaction

from emegalis.actes import protocol as p
from emegalis.actes.models import (
    StatusChange,
    Transaction,
)
from emegalis.core import clock, journal
from emegalis.core.state_machine import StateMachine
from emegalis.organisations.models import User


def _refusal(current: int | None, target: int) -> str:
    """The protocol's own French refusal (protocol.check_transition says why)."""
    if current is None:
        return f"Statut initial interdit : {target}."
    try:
        p.check_transition(current, target)
    except p.TransitionError as exc:
        return exc.message
    return f"Changement de statut interdit : {current} → {target}."


TRANSACTION_STATES = StateMachine(p.TRANSITIONS, refusal=_refusal, initial=p.INITIAL_STATUSES)


def set_status(
    tx: Transaction, target: int, *, message: str = "", actor: User | None = None
) -> None:
    """Move a transaction to ``target`` if the protocol allows it, with history and journal."""
    TRANSACTION_STATES.check(tx.status, target)
    previous = tx.status
    tx.status = int(target)
    tx.save(update_fields=["status", "updated_at"])
    StatusChange.objects.create(transaction=tx, status=tx.status, at=clock.now(), message=message)
    journal.record(
        action="actes.transaction.status",
        actor=actor,
        organisation=tx.organisation,
        target=tx,
        payload={"from": previous, "to": tx.status, "message": message[:500]},
    )


def new_transaction(*, status: int, message: str = "", **fields) -> Transaction:
    TRANSACTION_STATES.check(None, status)
    tx = Transaction.objects.create(status=status, **fields)
    StatusChange.objects.create(transaction=tx, status=status, at=clock.now(), message=message)
    return tx


def enqueue_send(tx: Transaction) -> None:
    from emegalis.actes.tasks import send_transaction

    pk = tx.pk
    db_transaction.on_commit(lambda: send_transaction.enqueue(pk))
