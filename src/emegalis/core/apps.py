from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "emegalis.core"
    label = "core"
    verbose_name = "Noyau"
