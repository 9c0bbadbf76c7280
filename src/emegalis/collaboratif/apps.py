from django.apps import AppConfig


class CollaboratifConfig(AppConfig):
    name = "emegalis.collaboratif"
    label = "collaboratif"
    verbose_name = "Outils collaboratifs"
