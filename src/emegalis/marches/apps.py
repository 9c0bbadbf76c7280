from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MarchesConfig(AppConfig):
    name = "emegalis.marches"
    label = "marches"
    verbose_name = "Salle des marchés"

    def ready(self):
        from emegalis.marches.consultations import search_backend

        post_migrate.connect(search_backend.install, sender=self, dispatch_uid="marches_fts")
