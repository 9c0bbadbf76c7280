from django.apps import AppConfig


class AdhesionsConfig(AppConfig):
    name = "emegalis.adhesions"
    label = "adhesions"
    verbose_name = "Adhésions"

    def ready(self) -> None:
        from emegalis.core import service_access

        from . import access

        service_access.install(
            enabled_services=access.enabled_services, require_service=access.require_service
        )
