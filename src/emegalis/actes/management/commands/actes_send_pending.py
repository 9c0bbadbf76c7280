from django.core.management.base import BaseCommand

from emegalis.actes.tasks import send_transaction
from emegalis.actes.transmission.services import pending_sends


class Command(BaseCommand):
    help = "Remet en file les transmissions @CTES en attente (après une panne du transport)."

    def handle(self, *args, **options):
        pks = pending_sends()
        for pk in pks:
            send_transaction.enqueue(pk)
        self.stdout.write(f"{len(pks)} transmission(s) remise(s) en file.")
