"""Background work of the contrôle de légalité (django.tasks).

`send_transaction` builds and posts one archive; on a transport error it is enqueued again
after a growing delay (ACTES_SEND_BACKOFF) when the backend can defer tasks (the database
backend can; the immediate backend of the tests cannot, and the error is then only recorded —
`manage.py actes_send_pending` re-queues what is left). `poll_mailbox` reads the return mailbox.
"""

import logging
from datetime import timedelta

from django.tasks import task

from emegalis.actes import conf
from emegalis.actes.courriers import notifications
from emegalis.actes.transmission import services as transmission_services
from emegalis.core import clock

logger = logging.getLogger(__name__)


@task()
def send_transaction(transaction_id: int) -> str:
    try:
        return transmission_services.send_transaction(transaction_id=transaction_id)
    except transmission_services.SendLater as exc:
        backoff = conf.send_backoff()
        if exc.attempts > len(backoff):
            logger.error("Envoi abandonné après %s essais : %s", exc.attempts, exc)
            return "abandonné"
        if send_transaction.get_backend().supports_defer:
            delay = timedelta(seconds=backoff[exc.attempts - 1])
            send_transaction.using(run_after=clock.now() + delay).enqueue(transaction_id)
            return f"nouvel essai dans {int(delay.total_seconds())} s"
        logger.warning("Envoi en échec (pas de report possible) : %s", exc)
        return "échec"


@task()
def poll_mailbox() -> int:
    from emegalis.actes.returns.mailbox import poll

    return poll().processed


@task()
def remind_stuck_acts() -> int:
    """E-mail each organisation its acts still waiting for an acknowledgement (daily)."""
    return notifications.remind_stuck_acts()
