from django.apps import AppConfig


class FormationsConfig(AppConfig):
    name = "emegalis.formations"
    label = "formations"
    verbose_name = "Formations"
