from django.core.management.base import BaseCommand

from emegalis.marches.consultations import services as consultations_services


class Command(BaseCommand):
    help = "Clôture les consultations publiées dont la date limite de remise des plis est passée."

    def handle(self, *args, **options):
        closed = consultations_services.close_due_consultations()
        self.stdout.write(f"{closed} consultation(s) clôturée(s).")
