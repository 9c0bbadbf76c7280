from django.core.management.base import BaseCommand, CommandError

from emegalis.core import anchoring
from emegalis.core.journal import first_break
from emegalis.core.models import JournalAnchor, JournalEntry


class Command(BaseCommand):
    help = (
        "Vérifie le chaînage du journal et ses ancrages horodatés ; signale la première "
        "entrée altérée ou le premier ancrage qui ne correspond plus."
    )

    def handle(self, *args, **options):
        broken = first_break()
        if broken is not None:
            raise CommandError(f"Journal altéré : entrée n° {broken.entry_id} — {broken.reason}.")
        problems = anchoring.problems()
        if problems:
            first = problems[0]
            raise CommandError(f"Journal altéré : ancrage n° {first.anchor_id} — {first.reason}.")
        count = JournalEntry.objects.count()
        anchors = JournalAnchor.objects.count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Journal intègre : {count} entrées vérifiées, {anchors} ancrage(s) horodaté(s) "
                "vérifié(s)."
            )
        )
