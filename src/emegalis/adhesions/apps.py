from django.apps import AppConfig


class AdhesionsConfig(AppConfig):
    name = "emegalis.adhesions"
    label = "adhesions"
    verbose_name = "Adhésions"
