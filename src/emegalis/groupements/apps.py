from django.apps import AppConfig


class GroupementsConfig(AppConfig):
    name = "emegalis.groupements"
    label = "groupements"
    verbose_name = "Groupements de commandes"
