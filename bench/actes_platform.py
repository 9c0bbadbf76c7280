"""The platform's full path for one act, as a stage of ``bench/actes_envelopes.py`` (one core):

    .venv/bin/python bench/actes_envelopes.py --stage bench.actes_platform:service_path

or on its own, several processes at once, each for its own commune, as the platform's workers
run on a machine (PostgreSQL by default, a throw-away database; ``--sqlite`` for the embedded
one, whose single writer serialises them):

    .venv/bin/python bench/actes_platform.py -n 400            # one process per core
    .venv/bin/python bench/actes_platform.py -n 400 --processes 1

Per act, what an agent's « Transmettre » costs on the platform, through the real services:
``acts_services.create_acte`` (permission and convention, NumeroInterne and uniqueness, date,
objet, classification path and typologies, the 1 MiB PDF opened and checked by pypdf, SHA-256
and durable storage of the file, the Acte built and validated against the XSD, rows, status
history, journal entry), then what the send task does before the POST:
``transmission_services.build_envelope`` (daily counter upsert, Acte + EnveloppeCLMISILL built
and validated, the .tar.gz written and stored durably, envelope row, journal). The codec's own
archive (the stage's arguments) is not reused.

The machine's own limit is measured in the same run: a durable write of 1 MiB (write, fsync,
directory fsync) on the disk the files go to; each act makes two (its PDF, its archive).
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emegalis.settings_test")

_state: dict = {}


def _django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _make_commune(n: int) -> tuple[int, int]:
    from emegalis.actes.acts import services as acts_services
    from emegalis.core.services_catalog import Service
    from emegalis.organisations.roles import Role
    from emegalis.prefecture.services import classification_bytes
    from tests.factories import OrganisationFactory, make_convention, make_member

    commune = OrganisationFactory(name=f"Commune du banc d'essai {n}")
    make_convention(commune, [Service.ACTES])
    acts_services.import_classification(organisation=commune, xml=classification_bytes())
    return commune.pk, make_member(commune, Role.AGENT_ACTES).pk


def _use(commune_pk: int, agent_pk: int) -> None:
    from bench.actes_envelopes import make_pdf
    from emegalis.organisations.models import Organisation, User

    _state.update(
        commune=Organisation.objects.get(pk=commune_pk),
        agent=User.objects.get(pk=agent_pk),
        pdf=make_pdf(),
    )


def service_path(index: int, archive_name: str = "", archive: bytes = b"") -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction

    from emegalis.actes import documents, lifecycle
    from emegalis.actes import protocol as p
    from emegalis.actes.acts import services as acts_services
    from emegalis.actes.transmission import services as transmission_services

    if not _state:
        _use(*_make_commune(0))
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


def durable_write_ms(folder: Path, rounds: int = 30) -> float:
    """Median time of one durable 1 MiB write on the disk of ``folder``."""
    from emegalis.core.durable import write_file

    data = os.urandom(1024 * 1024)
    times = []
    for i in range(rounds):
        t0 = time.perf_counter()
        write_file(folder / f"probe-{i}", [data])
        times.append(time.perf_counter() - t0)
        (folder / f"probe-{i}").unlink()
    return statistics.median(times) * 1000


def _worker(commune: tuple[int, int], first: int, count: int, barrier, out) -> None:
    from django.db import connections

    connections.close_all()
    _use(*commune)
    service_path(first)  # warm-up (caches, first archive read back), not timed
    barrier.wait()
    t0 = time.perf_counter()
    for i in range(first + 1, first + 1 + count):
        service_path(i)
    out.put(time.perf_counter() - t0)


def _throwaway_postgres() -> str:
    import psycopg

    name = f"bench_actes_{os.getpid()}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=400, help="actes en tout (400)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sqlite", action="store_true", help="SQLite au lieu de PostgreSQL")
    args = parser.parse_args(argv)
    database = None
    if not args.sqlite:
        database = _throwaway_postgres()
        os.environ["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{database}"
    try:
        _django()
        from django.conf import settings
        from django.db import connections

        communes = [_make_commune(k) for k in range(args.processes)]
        media = Path(settings.MEDIA_ROOT)
        media.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=media) as probe:
            floor_ms = durable_write_ms(Path(probe))
        connections.close_all()
        per = args.n // args.processes
        ctx = multiprocessing.get_context("fork")
        barrier, out = ctx.Barrier(args.processes + 1), ctx.Queue()
        procs = [
            ctx.Process(target=_worker, args=(communes[k], k * 1_000_000, per, barrier, out))
            for k in range(args.processes)
        ]
        for proc in procs:
            proc.start()
        barrier.wait()
        t0 = time.perf_counter()
        busy = [out.get(timeout=3600) for _ in procs]
        wall = time.perf_counter() - t0
        for proc in procs:
            proc.join()
            if proc.exitcode:
                raise SystemExit(f"un processus a échoué (code {proc.exitcode})")
    finally:
        if database:
            from django.db import connections

            connections.close_all()
            _drop_postgres(database)
    total = per * args.processes
    engine = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"Plateforme actes — {total} actes (PDF de 1 Mio), {args.processes} processus, {engine}")
    print(f"  débit                      {total / wall:8.1f} actes/s  ({wall:.2f} s)")
    print(f"  par processus              {per / statistics.mean(busy):8.1f} actes/s")
    print(f"  écriture durable de 1 Mio  {floor_ms:8.2f} ms (deux par acte : le PDF et l'archive)")
    floor_rate = 1000 / (2 * floor_ms) * args.processes
    print(
        f"  si seul le disque comptait {floor_rate:8.1f} actes/s "
        f"(la plateforme en atteint {total / wall / floor_rate:.0%})"
    )


if __name__ == "__main__":
    sys.exit(main())
else:  # a stage of bench/actes_envelopes.py: ready before its timed loop starts
    _django()
