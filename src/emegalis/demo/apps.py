from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "emegalis.demo"
    label = "demo"
    verbose_name = "Région de démonstration"
