from django.apps import AppConfig


class MarchesConfig(AppConfig):
    name = "emegalis.marches"
    label = "marches"
    verbose_name = "Salle des marchés"
