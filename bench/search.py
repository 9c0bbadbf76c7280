"""Consultation search over 100 000 generated consultations, on SQLite and on PostgreSQL.

For each backend, a fresh database is migrated, 100 000 consultations of 60 buyers are
generated (bulk_create, realistic French titles and objects, CPV codes, procedures, natures,
départements, deadlines), then a mix of searches is run exactly as the search page runs them
(`consultations_selectors.search_consultations` + the paginator: one COUNT and one page of
20), and the
p50/p95/max latencies are printed. Goal: p95 under 100 ms on PostgreSQL.

Full text uses each backend's own index (see emegalis/marches/search_backend.py): FTS5 on
SQLite, a GIN index on to_tsvector('french', search_document) on PostgreSQL.

Usage: .venv/bin/python bench/search.py [--count 100000] [--runs 20] [--backend sqlite|postgresql]
PostgreSQL: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/emegalis_bench_search);
the database is dropped and created again. Not a test: `make test` does not run it.
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/emegalis_bench_search"

PLACES = [
    "Lorient",
    "Vannes",
    "Quimper",
    "Brest",
    "Rennes",
    "Saint-Brieuc",
    "Lannion",
    "Morlaix",
    "Pontivy",
    "Auray",
    "Ploemeur",
    "Lanester",
    "Hennebont",
    "Concarneau",
    "Douarnenez",
    "Quimperlé",
    "Guingamp",
    "Dinan",
    "Fougères",
    "Vitré",
    "Redon",
    "Ploërmel",
    "Carhaix",
    "Landerneau",
    "Paimpol",
    "Loudéac",
    "Saint-Malo",
    "Dinard",
    "Josselin",
    "Quiberon",
]
SUBJECTS = [
    ("Nettoyage des locaux", "services", "90910000-9"),
    ("Nettoyage des vitres et vitrerie", "services", "90911200-8"),
    ("Entretien des espaces verts", "services", "77000000-0"),
    ("Réfection de la voirie communale", "travaux", "45000000-7"),
    ("Construction d'une salle de sport", "travaux", "45000000-7"),
    ("Réhabilitation thermique de l'école", "travaux", "45000000-7"),
    ("Fourniture de postes informatiques", "fournitures", "30200000-1"),
    ("Fourniture de mobilier scolaire", "fournitures", "39000000-2"),
    ("Restauration scolaire", "services", "55000000-0"),
    ("Transport scolaire", "services", "60000000-8"),
    ("Collecte des déchets ménagers", "services", "90000000-7"),
    ("Maintenance des ascenseurs", "services", "50000000-5"),
    ("Assurance dommages aux biens", "services", "66000000-0"),
    ("Maîtrise d'œuvre pour la médiathèque", "services", "71000000-8"),
    ("Fourniture d'électricité", "fournitures", "09310000-5"),
    ("Logiciel de gestion financière", "fournitures", "48000000-8"),
    ("Formation des agents", "services", "80500000-9"),
    ("Vêtements de travail", "fournitures", "18100000-0"),
    ("Véhicules électriques", "fournitures", "34110000-1"),
    ("Équipements de sécurité incendie", "fournitures", "35000000-4"),
]
PHRASES = [
    "Le marché comprend la fourniture, la livraison et la mise en service.",
    "Les prestations sont exécutées dans les bâtiments communaux et les écoles.",
    "Accord-cadre à bons de commande d'une durée de quatre ans.",
    "Les candidats visitent le site avant de remettre leur offre.",
    "Clause d'insertion sociale et critères environnementaux.",
    "Travaux en site occupé, phasage imposé pendant les vacances scolaires.",
    "Maintenance préventive et corrective, astreinte le week-end.",
    "Reprise des données de l'ancien système et formation des utilisateurs.",
    "Prestations d'hydrocurage, d'inspection télévisée et de désamiantage ponctuelles.",
    "Allotissement géographique par secteur de l'agglomération.",
    "Les produits biosourcés et le réemploi sont encouragés.",
    "Variantes autorisées sur les matériaux de couverture.",
]
PROCEDURES = ["mapa"] * 5 + ["ao_ouvert"] * 3 + ["ao_restreint", "negociation", "dialogue"]


def queries(today):
    from emegalis.marches.consultations.selectors import SearchParams

    return [
        ("texte : un mot fréquent", SearchParams(q="nettoyage")),
        ("texte : un mot des objets", SearchParams(q="hydrocurage")),
        ("texte : deux mots", SearchParams(q="voirie communale")),
        ("texte : préfixe", SearchParams(q="informat")),
        ("texte : acheteur", SearchParams(q="Quimperlé")),
        ("texte : aucun résultat", SearchParams(q="zzzzzz")),
        ("CPV (division 45)", SearchParams(cpv="45000000-7")),
        ("procédure + département", SearchParams(procedure="ao_ouvert", departement="029")),
        (
            "nature + période",
            SearchParams(
                nature="fournitures", deadline_from=today, deadline_to=today + timedelta(days=15)
            ),
        ),
        (
            "texte + CPV + département",
            SearchParams(q="nettoyage", cpv="90910000-9", departement="056"),
        ),
        ("tout, tri par date limite", SearchParams()),
        ("tout, plus récentes", SearchParams(sort="-publication")),
        ("closes comprises, texte", SearchParams(q="restauration", include_closed=True)),
    ]


def generate(count: int) -> None:
    from datetime import date

    from django.db import connection, transaction

    from emegalis.core import clock
    from emegalis.marches.consultations.models import Consultation, State
    from emegalis.marches.consultations.services import build_search_document
    from emegalis.organisations.identifiers import siren_from_prefix, siret_from_siren
    from emegalis.organisations.models import Organisation

    rng = random.Random(20260322)  # noqa: S311 — reproducible data, not security
    departements = ["022", "029", "035", "056"]
    buyers = []
    for n, place in enumerate(PLACES * 2):
        siren = siren_from_prefix(f"777{n:05d}")
        kind = "commune" if n < len(PLACES) else "cc"
        name = f"Commune de {place}" if kind == "commune" else f"Communauté {place} Agglo"
        buyers.append(
            Organisation.objects.create(
                name=name,
                kind=kind,
                siren=siren,
                siret=siret_from_siren(siren),
                departement=departements[n % 4],
            )
        )
    now = clock.now()
    batch = []
    started = time.perf_counter()
    with transaction.atomic():
        for n in range(count):
            buyer = buyers[n % len(buyers)]
            title, nature, cpv_code = SUBJECTS[rng.randrange(len(SUBJECTS))]
            place = rng.choice(PLACES)
            published = now - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 1440))
            deadline = published + timedelta(days=rng.randint(20, 90))
            state = State.PUBLIEE
            roll = rng.random()
            if roll < 0.05:
                state = State.BROUILLON
            elif deadline < now:
                state = rng.choice([State.CLOTUREE, State.ATTRIBUEE, State.INFRUCTUEUSE])
            consultation = Consultation(
                organisation=buyer,
                reference=f"B{n:06d}",
                title=f"{title} — {place}",
                object=" ".join(rng.sample(PHRASES, 3)),
                procedure=rng.choice(PROCEDURES),
                nature=nature,
                cpv_main=cpv_code,
                cpv_search=f" {cpv_code}",
                place_of_execution=place,
                departement=buyer.departement,
                questions_deadline=deadline - timedelta(days=7),
                bids_deadline=deadline,
                state=state,
                published_at=None if state == State.BROUILLON else published,
            )
            consultation.search_document = build_search_document(consultation, buyer.name)
            batch.append(consultation)
            if len(batch) == 5000:
                Consultation.objects.bulk_create(batch)
                batch = []
        if batch:
            Consultation.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"  {count} consultations generated in {time.perf_counter() - started:.1f} s "
        f"({Consultation.objects.filter(state=State.PUBLIEE).count()} published and open "
        f"or not yet closed)",
        flush=True,
    )
    del date


def measure(runs: int) -> None:
    from django.db import connection, reset_queries
    from django.utils import timezone

    from emegalis.core import clock
    from emegalis.marches.consultations import selectors as consultations_selectors

    today = timezone.localdate(clock.now())
    timings: list[float] = []
    per_query: list[tuple[str, float, float, int]] = []
    cases = queries(today)
    for _, params in cases:  # warm-up: caches, plans
        page = consultations_selectors.paginate(
            consultations_selectors.search_consultations(params), 1
        )
        list(page.object_list)
    for label, params in cases:
        samples = []
        for run in range(runs):
            page_number = 1 if run % 2 == 0 else 5
            started = time.perf_counter()
            page = consultations_selectors.paginate(
                consultations_selectors.search_consultations(params), page_number
            )
            rows = list(page.object_list)
            count = page.paginator.count
            samples.append((time.perf_counter() - started) * 1000)
            del rows
        reset_queries()
        timings.extend(samples)
        per_query.append((label, statistics.median(samples), max(samples), count))
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"  {'recherche':<32} {'médiane':>9} {'max':>9} {'résultats':>10}")
    for label, median, worst, count in per_query:
        print(f"  {label:<32} {median:>7.1f}ms {worst:>7.1f}ms {count:>10}")
    print(
        f"  {connection.vendor}: {len(timings)} searches, p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"max {timings[-1]:.1f} ms",
        flush=True,
    )
    return p95


def child(backend: str, count: int, runs: int) -> int:
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    generate(count)
    p95 = measure(runs)
    if backend == "postgresql":
        print(f"  goal p95 < 100 ms on PostgreSQL: {'OK' if p95 < 100 else 'ABOVE GOAL'}")
    return 0


def prepare_postgres(url: str) -> bool:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL unreachable ({exc}); skipped.")
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20, help="runs of each search")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.backend, args.count, args.runs)
    backends = [args.backend] if args.backend else ["sqlite", "postgresql"]
    status = 0
    for backend in backends:
        workdir = Path(tempfile.mkdtemp(prefix="emegalis-bench-search-"))
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "emegalis.settings",
                "DEBUG": "0",
                "SECRET_KEY": "bench-only-secret-key",
                "EMEGALIS_VAR_DIR": str(workdir),
                "LOG_LEVEL": "WARNING",
            }
        )
        if backend == "sqlite":
            env["DATABASE_URL"] = f"sqlite:///{workdir / 'search.sqlite3'}"
        else:
            url = os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL)
            sys.path.insert(0, str(ROOT / "src"))
            if not prepare_postgres(url):
                continue
            env["DATABASE_URL"] = url
        print(f"{backend}:", flush=True)
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--backend",
                backend,
                "--count",
                str(args.count),
                "--runs",
                str(args.runs),
            ],
            env=env,
            check=False,
        )
        status = status or result.returncode
        shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
