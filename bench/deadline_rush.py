"""The last minute before a deadline: 200 deposits of 1 MiB from 50 concurrent clients, on
PostgreSQL, through the real HTTP stack.

Creates a throw-away PostgreSQL database (DATABASE_URL's server, default
postgres://postgres@127.0.0.1:5432), starts `manage.py runserver --noreload` (threaded,
DEBUG off), prepares a consultation whose deadline falls 60 s after the rush starts (its
commission complete) and 50 companies, then 50 client threads each log in and deposit 1 MiB
offers back to back (start, PUT, confirm) until 200 deposits have been started. Prints:

- accepted (confirmed « reçu dans les délais »), late (confirmed « hors délai »), refused
  (an HTTP error or a deposit refused), lost (a deposit the server confirmed but the
  database does not hold as received, or the reverse — must be 0);
- p50 / p99 completion latency (from the first request of a deposit to its confirmation).

Arrival modes (``--mode``): ``back-to-back`` (the default above), ``spread`` (each deposit
arrives at a random moment of the last 60 s before the deadline) and ``burst`` (all of them
in the last 10 s); with ``spread``/``burst`` the latency runs from the deposit's scheduled
arrival (a client's queueing counts) and the deadline falls 5 s after the window.

``--topology``: against the production topology (scripts/topology/topology.py: two gunicorn
nodes behind HAProxy, PostgreSQL, S3 through moto, two db_workers, two run_periodic) instead
of a single runserver.

``--sqlite``: the single node on the embedded default database instead of PostgreSQL.

Usage: .venv/bin/python bench/deadline_rush.py [--deposits 200] [--clients 50]
       [--mode back-to-back|spread|burst] [--topology | --sqlite]
Not a test: `make test` does not run it.
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bid_upload import Client  # noqa: E402
from dce_download import (  # noqa: E402
    MIB,
    ROOT,
    running_topology,
    setup_environment,
    start_server,
    stop_server,
)
from sealed_setup import member, organisation, sealed_consultation  # noqa: E402


def prepare(clients: int, deadline_in: float) -> tuple[int, list[str]]:
    from emegalis.core import clock
    from emegalis.marches.consultations.models import Consultation
    from emegalis.organisations.roles import Role

    consultation = sealed_consultation(
        prefix="88800010",
        name="Commune du rush",
        reference="BENCH-RUSH",
        title="Consultation de la dernière minute",
        text="Dépôts en rafale avant la date limite.",
        domain="rush.test",
    )
    # The deadline is moved close (no service allows a deadline this short: bench only).
    Consultation.objects.filter(pk=consultation.pk).update(
        bids_deadline=clock.now() + timedelta(seconds=deadline_in)
    )
    emails = []
    for i in range(clients):
        company = organisation(f"889{i:05d}", f"Entreprise {i}", "entreprise")
        emails.append(member(f"entreprise{i}@rush.test", Role.ENTREPRISE, company).email)
    return consultation.pk, emails


WINDOWS = {"spread": 60.0, "burst": 10.0}


def rush(base: str, consultation: int, emails: list[str], offer: Path, args) -> dict:
    """Log the clients in, move the deadline, run the deposits; outcomes and latencies."""
    from django.db import connections

    from emegalis.core import clock
    from emegalis.marches.consultations.models import Consultation
    from emegalis.marches.deposit.models import Pli, PliStatus

    clients = []
    for email in emails:
        client = Client(base)
        client.login(email)
        clients.append(client)
    window = WINDOWS.get(args.mode)
    arrivals = sorted(random.uniform(0, window) for _ in range(args.deposits)) if window else None
    started_deposits = iter(range(args.deposits))
    lock = threading.Lock()
    results: list[tuple[str, float]] = []
    deadline_in = window + 5 if window else 60
    Consultation.objects.filter(pk=consultation).update(
        bids_deadline=clock.now() + timedelta(seconds=deadline_in)
    )
    connections.close_all()
    began_all = time.perf_counter()

    def work(client: Client) -> None:
        while True:
            with lock:
                index = next(started_deposits, None)
            if index is None:
                return
            began = time.perf_counter()
            if arrivals is not None:
                began = began_all + arrivals[index]
                time.sleep(max(0.0, began - time.perf_counter()))
            try:
                outcome = client.deposit_status(consultation, offer)
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                outcome = f"refused ({exc.__class__.__name__}: {str(exc)[:90]})"
            with lock:
                results.append((outcome, time.perf_counter() - began))

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began_all
    accepted = sum(1 for o, _ in results if o == "recu")
    late = sum(1 for o, _ in results if o == "hors_delai")
    held = Pli.objects.filter(
        consultation_id=consultation, status__in=[PliStatus.RECU, PliStatus.REMPLACE]
    ).count()
    held_late = Pli.objects.filter(
        consultation_id=consultation, status=PliStatus.HORS_DELAI
    ).count()
    latencies = sorted(t for o, t in results if o in ("recu", "hors_delai"))
    return {
        "results": results,
        "elapsed": elapsed,
        "accepted": accepted,
        "late": late,
        "refused": len(results) - accepted - late,
        "lost": abs(held - accepted) + abs(held_late - late),
        "p50": statistics.median(latencies) if latencies else 0,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0,
    }


def report(figures: dict, args, where: str) -> None:
    print(
        f"[{where}, {args.mode}] {len(figures['results'])} deposits of 1 MiB from "
        f"{args.clients} clients in {figures['elapsed']:.1f} s: accepted {figures['accepted']}, "
        f"late {figures['late']}, refused {figures['refused']}, lost {figures['lost']}; "
        f"latency p50 {figures['p50'] * 1000:.0f} ms, p99 {figures['p99'] * 1000:.0f} ms"
    )
    outcomes = {o for o, _ in figures["results"] if o.startswith("refused")}
    for outcome in sorted(outcomes):
        print(f"  {outcome}: {sum(1 for o, _ in figures['results'] if o == outcome)}")


def run_on_topology(args) -> int:
    with running_topology(args.workers, "emegalis-bench-rush-topo-") as (topology, workdir):
        consultation, emails = prepare(args.clients, deadline_in=600)
        offer = workdir / "offre.bin"
        offer.write_bytes(os.urandom(MIB))
        figures = rush(topology.url, consultation, emails, offer, args)
        report(figures, args, "topology: 2 gunicorn nodes, HAProxy, PostgreSQL, S3 (moto)")
        return 0 if figures["lost"] == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deposits", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--mode", choices=["back-to-back", "spread", "burst"], default="back-to-back"
    )
    parser.add_argument("--topology", action="store_true", help="two nodes, HAProxy, S3")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per node")
    parser.add_argument(
        "--sqlite", action="store_true", help="single node on the embedded default (SQLite)"
    )
    args = parser.parse_args()
    if args.topology:
        return run_on_topology(args)
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    base = server_url.rsplit("/", 1)[0]
    database = f"emegalis_rush_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="emegalis-bench-rush-"))
    env = setup_environment(workdir)
    env.update(
        {
            "DATABASE_URL": (
                f"sqlite:///{workdir / 'rush.sqlite3'}" if args.sqlite else f"{base}/{database}"
            ),
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
        }
    )
    os.environ.update(env)
    psql = ["psql", f"{base}/postgres", "-qc"]
    if not args.sqlite:
        subprocess.run([*psql, f"CREATE DATABASE {database}"], check=True)
    server = None
    try:
        for command in (["migrate", "--no-input", "-v0"], ["collectstatic", "--no-input", "-v0"]):
            subprocess.run([sys.executable, str(ROOT / "manage.py"), *command], env=env, check=True)
        sys.path.insert(0, str(ROOT / "src"))
        import django

        django.setup()
        consultation, emails = prepare(args.clients, deadline_in=600)
        server, port = start_server(env, workdir / "server.log")
        offer = workdir / "offre.bin"
        offer.write_bytes(os.urandom(MIB))
        figures = rush(f"http://127.0.0.1:{port}", consultation, emails, offer, args)
        database_name = "SQLite" if args.sqlite else "PostgreSQL"
        report(figures, args, f"single node: runserver, {database_name}, local storage")
        if figures["refused"]:
            log = (workdir / "server.log").read_text(errors="replace")
            errors = [line for line in log.splitlines() if "Error" in line or "error" in line]
            print("Server errors (last lines):", *errors[-8:], sep="\n  ")
        return 0 if figures["lost"] == 0 else 1
    finally:
        stop_server(server)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 - best effort before dropping the database
            pass
        if not args.sqlite:
            subprocess.run([*psql, f"DROP DATABASE IF EXISTS {database}"], check=False)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
