from django.core.management.base import BaseCommand

from emegalis.actes.returns.mailbox import poll
from emegalis.actes.tasks import poll_mailbox


class Command(BaseCommand):
    help = "Relève la boîte de retour @CTES (IMAP) et traite les archives reçues."

    def add_arguments(self, parser):
        parser.add_argument(
            "--enqueue", action="store_true", help="Met la relève en file (db_worker)."
        )

    def handle(self, *args, enqueue=False, **options):
        if enqueue:
            poll_mailbox.enqueue()
            self.stdout.write("Relève mise en file.")
            return
        result = poll()
        self.stdout.write(
            f"{result.mails} courriel(s) lu(s), {result.processed} archive(s) traitée(s), "
            f"{result.ignored} sans archive."
        )
        for error in result.errors:
            self.stderr.write(error)
