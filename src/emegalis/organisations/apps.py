from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "emegalis.organisations"
    label = "organisations"
    verbose_name = "Organisations et comptes"
