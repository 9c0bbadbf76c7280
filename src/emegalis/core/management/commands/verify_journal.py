from django.core.management.base import BaseCommand, CommandError

from emegalis.core.journal import first_break
from emegalis.core.models import JournalEntry


class Command(BaseCommand):
    help = "Vérifie le chaînage du journal et signale la première entrée altérée."

    def handle(self, *args, **options):
        broken = first_break()
        if broken is not None:
            raise CommandError(f"Journal altéré : entrée n° {broken.entry_id} — {broken.reason}.")
        count = JournalEntry.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Journal intègre : {count} entrées vérifiées."))
