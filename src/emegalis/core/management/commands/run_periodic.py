import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from emegalis.core import periodic


class Command(BaseCommand):
    help = (
        "Met en file les tâches périodiques dues (clôture des consultations, alertes, relève "
        "de la boîte @CTES) ; tourne en boucle, ou une seule fois avec --once (cron)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Un seul passage, puis sortie.")
        parser.add_argument(
            "--interval", type=float, default=15.0, help="Secondes entre deux passages."
        )

    def handle(self, *args, once=False, interval=15.0, **options):
        while True:
            for name, slot in periodic.enqueue_due():
                # One line per slot, flushed: an operator (and the topology test) can check
                # from the logs that two schedulers never enqueued the same slot.
                self.stdout.write(f"Mise en file : {name} (créneau {slot.isoformat()})")
                self.stdout.flush()
            if once:
                return
            time.sleep(interval)
            # A long-running loop must not keep a connection the database has dropped.
            close_old_connections()
