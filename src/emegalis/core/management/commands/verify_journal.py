from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from emegalis.core import journal_audit


class Command(BaseCommand):
    help = (
        "Vérifie le chaînage du journal, ses ancrages horodatés et ses témoins extérieurs "
        "(documents signés, registre des témoins) ; signale la première entrée altérée ou "
        "manquante. --document vérifie aussi un PDF signé par la plateforme."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--document",
            action="append",
            default=[],
            metavar="PDF",
            help="PDF signé par la plateforme (accusé de réception, PV…) dont le témoin du "
            "journal doit se retrouver dans le journal (option répétable)",
        )

    def handle(self, *args, **options):
        documents = []
        for name in options["document"]:
            try:
                documents.append(journal_audit.Document(name, Path(name).read_bytes()))
            except OSError as exc:
                raise CommandError(f"{name} : fichier illisible ({exc.strerror}).") from exc
        try:
            report = journal_audit.verify(documents=documents)
        except journal_audit.DocumentError as exc:
            raise CommandError(str(exc)) from exc
        if report.unreadable_log_lines:
            lines = ", ".join(str(n) for n in report.unreadable_log_lines[:10])
            self.stderr.write(
                f"Attention : ligne(s) illisible(s) dans le registre des témoins : {lines}."
            )
        problem = report.first_problem
        if problem is not None:
            more = len(report.problems) - 1
            suffix = f" ({more} autre(s) anomalie(s))" if more else ""
            raise CommandError(f"Journal altéré : {problem.message}.{suffix}")
        if report.last_witnessed is None:
            witnessed = "aucune entrée encore attestée par un témoin extérieur"
        else:
            witnessed = (
                f"dernière entrée attestée : n° {report.last_witnessed} "
                f"({report.last_witness_source})"
            )
            after = (report.last_entry or 0) > report.last_witnessed
            if after:
                witnessed += "; des entrées plus récentes ne sont pas encore attestées"
        for document in documents:
            self.stdout.write(f"{document.name} : témoin du journal retrouvé dans le journal.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Journal intègre : {report.entries} entrées vérifiées, {report.anchors} "
                f"ancrage(s) horodaté(s) vérifié(s), {report.claims} témoignage(s) ; "
                f"{witnessed}."
            )
        )
