"""The platform's full path, a stage of ``bench/actes_envelopes.py``:

    .venv/bin/python bench/actes_envelopes.py --stage bench.actes_platform:service_path


Per act, what an agent's « Transmettre » costs on the platform, through the real services:
``acts_services.create_acte`` (permission and convention, NumeroInterne and uniqueness, date,
objet, classification path and typologies, the 1 MiB PDF opened and checked by pypdf, SHA-256
and storage of the file, the Acte built and validated against the XSD, rows, status history,
journal entry), then what the send task does before the POST:
``transmission_services.build_envelope``
(daily counter upsert, Acte + EnveloppeCLMISILL built and validated, the .tar.gz written and
stored, envelope row, journal). The codec's own archive (the arguments) is not reused.

Django is set up at import time on a throw-away SQLite database (settings_test: temporary
folder, immediate task backend), migrated once.
"""

import io
import os
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emegalis.settings_test")

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

call_command("migrate", verbosity=0)

from emegalis.actes import documents, lifecycle  # noqa: E402
from emegalis.actes import protocol as p  # noqa: E402
from emegalis.actes.acts import services as acts_services  # noqa: E402
from emegalis.actes.transmission import services as transmission_services  # noqa: E402
from emegalis.core.services_catalog import Service  # noqa: E402
from emegalis.organisations.roles import Role  # noqa: E402
from emegalis.prefecture.services import classification_bytes  # noqa: E402
from tests.factories import OrganisationFactory, make_convention, make_member  # noqa: E402

_state: dict = {}


def _setup():
    commune = OrganisationFactory(name="Commune du banc d'essai")
    make_convention(commune, [Service.ACTES])
    acts_services.import_classification(organisation=commune, xml=classification_bytes())
    _state["commune"] = commune
    _state["agent"] = make_member(commune, Role.AGENT_ACTES)
    from bench.actes_envelopes import make_pdf

    _state["pdf"] = make_pdf()


def service_path(index: int, archive_name: str, archive: bytes) -> None:
    if not _state:
        _setup()
    with transaction.atomic():
        acte = acts_services.create_acte(
            actor=_state["agent"],
            organisation=_state["commune"],
            data=acts_services.ActeInput(
                nature=1,
                numero_interne=f"PLAT{index}",
                decision_date=date(2025, 3, 1),
                objet=f"Délibération n° {index} : approbation du compte rendu de la séance",
                matieres=[5, 2],
                document=documents.Upload.of(
                    SimpleUploadedFile("deliberation.pdf", _state["pdf"]), "99_DE"
                ),
            ),
            confirm=False,  # no send task: the POST is not measured here
        )
        lifecycle.set_status(acte, p.ActStatus.POSTE)
        env = transmission_services.build_envelope(tx=acte)
    assert env.archive_size > 1024 * 1024
    if index == 0:  # the stored archive is what the codec reads back
        with env.archive.open("rb") as fh:
            p.read_archive(io.BytesIO(fh.read()))
