from django.apps import AppConfig


class GroupementsConfig(AppConfig):
    name = "emegalis.groupements"
    label = "groupements"
    verbose_name = "Groupements de commandes"

    def ready(self) -> None:
        from emegalis.core import page_sections

        from . import public_section

        # Candidates see a groupement's members and their needs on the consultation's page.
        page_sections.register("marches.notice", public_section.render)
