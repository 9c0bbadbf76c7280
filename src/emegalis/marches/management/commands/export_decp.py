"""Write the DECP v2 file of the platform's notified contracts (what /marches/donnees-
essentielles/decp.json serves), for a deposit on data.gouv.fr. Fails, listing the French
errors, when a record is not valid: then nothing is written."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from emegalis.marches.opendata import decp
from emegalis.marches.opendata import selectors as opendata_selectors


class Command(BaseCommand):
    help = "Exporte les données essentielles (DECP v2) des marchés notifiés au format JSON."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="fichier à écrire (par défaut : sortie standard)")
        parser.add_argument("--annee", default="", help="année de notification (AAAA)")
        parser.add_argument("--acheteur", default="", help="SIRET de l'acheteur")

    def handle(self, *args, **options):
        try:
            filters = opendata_selectors.parse_filters(
                {"acheteur": options["acheteur"], "annee": options["annee"]}
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        export = decp.build_export(filters.apply(opendata_selectors.public_contracts()))
        problems = [
            f"Marché {contract.number} ({contract.buyer.name}) — {error}"
            for contract, errors in export.rejected
            for error in errors
        ] + decp.schema_errors(export.document)
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(
                f"{len(export.rejected)} marché(s) aux données essentielles non conformes : "
                "aucun fichier écrit."
            )
        text = decp.dumps(export.document)
        if options["output"]:
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
            self.stdout.write(
                f"{len(export.included)} marché(s) exporté(s) dans {options['output']}."
            )
        else:
            self.stdout.write(text)
