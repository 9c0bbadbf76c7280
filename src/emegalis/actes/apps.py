from django.apps import AppConfig


class ActesConfig(AppConfig):
    name = "emegalis.actes"
    label = "actes"
    verbose_name = "Contrôle de légalité"
