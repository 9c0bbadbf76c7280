from django.core.management.base import BaseCommand

from emegalis.marches.tasks import send_search_alerts


class Command(BaseCommand):
    help = "Met en file l'envoi quotidien des alertes de recherche (à lancer chaque jour)."

    def handle(self, *args, **options):
        result = send_search_alerts.enqueue()
        self.stdout.write(f"Envoi des alertes mis en file (tâche {result.id}).")
