from django.core.management.base import BaseCommand

from emegalis.core import anchoring


class Command(BaseCommand):
    help = "Horodate (RFC 3161) l'empreinte de la dernière entrée du journal."

    def handle(self, *args, **options):
        anchor = anchoring.anchor_head()
        if anchor is None:
            self.stdout.write("Rien à ancrer : journal vide ou tête déjà ancrée.")
            return
        self.stdout.write(
            f"Entrée n° {anchor.entry_id} ancrée ({anchor.entries} entrées) par "
            f"{anchor.authority}, le {anchor.timestamped_at:%d/%m/%Y à %H:%M:%S} UTC."
        )
