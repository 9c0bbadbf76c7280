"""DCE zip download: throughput and memory of a real server process.

Starts the project's HTTP server (`manage.py runserver --noreload`, DEBUG off) on 127.0.0.1
with a throw-away SQLite database and media folder, publishes a consultation whose DCE is
10 MiB, then one whose DCE is 1 GiB (files generated on disk in chunks, stored through the
default storage in chunks), downloads each DCE as one zip over HTTP and prints:

- the throughput of each download;
- the server process's resident memory: sampled peak during each download (VmRSS every
  20 ms) and the lifetime peak (VmHWM) after it;
- the growth of the peak between the two sizes (goal: under 64 MiB — the zip is streamed,
  never built in memory).

``--topology``: the same downloads through the production topology (two gunicorn nodes behind
HAProxy, PostgreSQL, the DCE in S3 through moto), with the summed memory of both nodes.

Usage: .venv/bin/python bench/dce_download.py [--big-mib 1024] [--small-mib 10] [--topology]
Not a test: `make test` does not run it. Needs Linux (/proc) and ~2.2 GiB of free disk.
"""

import argparse
import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_status(pid: int, key: str) -> int:
    """A memory figure of /proc/<pid>/status, in bytes."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


class RssSampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.02):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            self.peak = max(self.peak, proc_status(self.pid, "VmRSS"))
            time.sleep(self.interval)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak


def _tree(pid: int) -> list[int]:
    """A process and its descendants (a gunicorn master and its workers)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [pid] + [p for child in children for p in _tree(int(child))]


class TreeRssSampler(threading.Thread):
    """The peak of the summed resident memory of process trees, sampled every 20 ms."""

    def __init__(self, roots: list[int]):
        super().__init__(daemon=True)
        self.roots, self.peak = roots, 0
        self._halt = threading.Event()

    def sample(self) -> int:
        total = 0
        for pid in (p for root in self.roots for p in _tree(root)):
            with contextlib.suppress(OSError, ValueError):  # a worker just replaced
                total += proc_status(pid, "VmRSS")
        return total

    def run(self):
        while not self._halt.is_set():
            self.peak = max(self.peak, self.sample())
            time.sleep(0.02)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak


def write_file(path: Path, size: int) -> None:
    """Pseudo-random content (not compressible), written 1 MiB at a time."""
    block = os.urandom(MIB)
    with path.open("wb") as handle:
        written = 0
        while written < size:
            part = block[: min(MIB, size - written)]
            handle.write(part)
            written += len(part)


def setup_environment(workdir: Path) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "emegalis.settings",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain HTTP on the loopback: no HTTPS redirect (on by default outside DEBUG).
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "EMEGALIS_VAR_DIR": str(workdir / "var"),
            "MEDIA_ROOT": str(workdir / "media"),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "TASKS_BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT / "src"),
        }
    )
    os.environ.update(env)
    return env


def create_consultation(reference: str, files: list[tuple[str, Path]]) -> int:
    """A published consultation whose DCE holds the given files (stored in chunks)."""
    from datetime import date

    from django.core.files import File

    from emegalis.adhesions.models import (
        Convention,
        ConventionService,
        ConventionStatus,
        ConventionStatusChange,
    )
    from emegalis.core import clock
    from emegalis.marches.consultations import dce
    from emegalis.marches.consultations import services as consultations_services
    from emegalis.marches.opening import member_side
    from emegalis.marches.opening import services as opening_services
    from emegalis.organisations.identifiers import siren_from_prefix, siret_from_siren
    from emegalis.organisations.models import Membership, Organisation, User
    from emegalis.organisations.roles import Role

    siren = siren_from_prefix("88800001")
    organisation, created = Organisation.objects.get_or_create(
        siren=siren,
        defaults={
            "name": "Commune du banc d'essai",
            "kind": "commune",
            "siret": siret_from_siren(siren),
            "departement": "056",
        },
    )
    if created:
        convention = Convention.objects.create(
            organisation=organisation,
            kind="charte",
            reference="BENCH-1",
            start_date=date(2020, 1, 1),
            current_status=ConventionStatus.ADHERENT,
        )
        ConventionStatusChange.objects.create(
            convention=convention, status=ConventionStatus.ADHERENT, effective_on=date(2020, 1, 1)
        )
        ConventionService.objects.create(convention=convention, service="marches")
    buyer, _ = User.objects.get_or_create(email="acheteur@bench.test")
    membership, _ = Membership.objects.get_or_create(user=buyer, organisation=organisation)
    membership.roles.get_or_create(role=Role.ACHETEUR)
    now = clock.now()
    consultation = consultations_services.create_consultation(
        actor=buyer,
        organisation=organisation,
        reference=reference,
        title=f"Consultation du banc d'essai {reference}",
        object="Téléchargement du DCE en un seul zip.",
        procedure="mapa",
        nature="services",
        cpv_main="79000000-4",
        questions_deadline=now + timedelta(days=20),
        bids_deadline=now + timedelta(days=30),
    )
    for name, path in files:
        with path.open("rb") as handle:
            dce.add_dce_file(
                actor=buyer, consultation=consultation, uploaded_file=File(handle, name=name)
            )
    members = []
    for index in (1, 2):
        member, _ = User.objects.get_or_create(email=f"commission{index}@bench.test")
        seat, _ = Membership.objects.get_or_create(user=member, organisation=organisation)
        seat.roles.get_or_create(role=Role.COMMISSION)
        if opening_services.active_member_key(member) is None:
            member_side.create_key(member)  # as the member's browser does
        members.append(member)
    # Publication needs the opening commission (the DCE download does not need its shares).
    opening_services.create_opening_commission(
        actor=buyer, consultation=consultation, members=members, threshold=2
    )
    consultations_services.publish(actor=buyer, consultation=consultation)
    return consultation.pk


def wait_for_server(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server stopped during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start in time")


def start_server(env: dict, log: Path | None = None) -> tuple[subprocess.Popen, int]:
    """The project's HTTP server (`runserver --noreload`) on a free port, once it accepts
    connections; its errors go to ``log`` if given. The caller's database connections must be
    closed first (SQLite: the server writes too)."""
    from django.db import connections

    connections.close_all()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb") if log else subprocess.DEVNULL,
    )
    wait_for_server(port, server)
    return server, port


def stop_server(server: subprocess.Popen | None) -> None:
    if server is None:
        return
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def download(url: str, keep: bool) -> tuple[int, float, bytes]:
    """Read the whole response in 1 MiB chunks; keep it only if asked (small DCE check)."""
    kept = io.BytesIO() if keep else None
    total = 0
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as response:  # noqa: S310 — loopback only
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        while chunk := response.read(MIB):
            total += len(chunk)
            if kept is not None:
                kept.write(chunk)
    return total, time.perf_counter() - started, kept.getvalue() if kept else b""


@contextlib.contextmanager
def running_topology(workers: int, prefix: str):
    """The production topology (scripts/topology/topology.py) started, this process's Django
    set up on its database and bucket; yields it and a scratch folder, stops both after."""
    sys.path.insert(0, str(ROOT / "scripts" / "topology"))
    from topology import Topology

    topology = Topology(gunicorn_workers=workers)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        topology.start()
        os.environ.update(topology.env)
        sys.path.insert(0, str(ROOT / "src"))
        import django

        django.setup()
        yield topology, workdir
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 - best effort before the topology stops
            pass
        topology.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_on_topology(args) -> int:
    """The same downloads through HAProxy from two gunicorn nodes, the DCE in S3 (moto):
    throughput and the summed memory of both nodes' processes."""
    with running_topology(args.workers, "emegalis-bench-dce-topo-") as (topology, workdir):
        sizes = {"small": args.small_mib * MIB, "big": args.big_mib * MIB}
        consultations = {}
        for label, size in sizes.items():
            path = workdir / f"dce-{label}.bin"
            write_file(path, size)
            consultations[label] = create_consultation(f"TOPO-{label.upper()}", [("dce.bin", path)])
            path.unlink()
        nodes = [topology.processes["node_a"].pid, topology.processes["node_b"].pid]
        urllib.request.urlopen(f"{topology.url}/api/v1/marches/horloge", timeout=60).read()  # noqa: S310
        print(f"Topology {topology.url}: 2 nodes × {args.workers} gunicorn workers, DCE in S3")
        peaks = {}
        for label, size in sizes.items():
            sampler = TreeRssSampler(nodes)
            sampler.start()
            url = f"{topology.url}/marches/consultations/{consultations[label]}/dce.zip"
            total, elapsed, _ = download(url, keep=False)
            peaks[label] = sampler.stop()
            if total < size:
                raise RuntimeError(f"short download: {total} bytes for {size}")
            print(
                f"{size // MIB:>5} MiB DCE through HAProxy: {total / MIB / elapsed:.0f} MiB/s; "
                f"application RSS peak {peaks[label] / MIB:.1f} MiB"
            )
        growth = (peaks["big"] - peaks["small"]) / MIB
        print(f"Application RSS growth {args.small_mib} MiB → {args.big_mib} MiB: {growth:.1f} MiB")
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-mib", type=int, default=10)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--topology", action="store_true", help="two nodes, HAProxy, S3")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per node")
    args = parser.parse_args()
    if args.topology:
        return run_on_topology(args)
    workdir = Path(tempfile.mkdtemp(prefix="emegalis-bench-dce-"))
    env = setup_environment(workdir)
    server = None
    try:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v0"],
            env=env,
            check=True,
        )
        sys.path.insert(0, str(ROOT / "src"))
        import django

        django.setup()
        sizes = {"small": args.small_mib * MIB, "big": args.big_mib * MIB}
        consultations = {}
        for label, size in sizes.items():
            path = workdir / f"dce-{label}.bin"
            started = time.perf_counter()
            write_file(path, size)
            consultations[label] = create_consultation(
                f"BENCH-{label.upper()}", [("dce.bin", path)]
            )
            path.unlink()  # the stored copy is in the media folder
            print(
                f"DCE {size // MIB} MiB generated and stored in "
                f"{time.perf_counter() - started:.1f} s"
            )
        server, port = start_server(env)
        # Warm up (imports, URL resolver, first DB connection) with small API calls.
        for path in (
            "/api/v1/marches/horloge",
            f"/api/v1/marches/consultations/{consultations['small']}/dce",
        ):
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60).read()  # noqa: S310
        baseline = proc_status(server.pid, "VmRSS")
        print(f"Server pid {server.pid}, resident memory after warm-up: {baseline / MIB:.1f} MiB")
        peaks = {}
        for label, size in sizes.items():
            sampler = RssSampler(server.pid)
            sampler.start()
            url = f"http://127.0.0.1:{port}/marches/consultations/{consultations[label]}/dce.zip"
            total, elapsed, body = download(url, keep=label == "small")
            peak = sampler.stop()
            hwm = proc_status(server.pid, "VmHWM")
            peaks[label] = peak
            if body:
                with zipfile.ZipFile(io.BytesIO(body)) as archive:
                    assert archive.testzip() is None, "corrupt zip"
                    assert archive.getinfo("dce.bin").file_size == size
            elif total < size:
                raise RuntimeError(f"short download: {total} bytes for {size}")
            print(
                f"{size // MIB:>5} MiB DCE: zip {total / MIB:.1f} MiB in {elapsed:.2f} s "
                f"= {total / MIB / elapsed:.0f} MiB/s; server RSS peak during download "
                f"{peak / MIB:.1f} MiB (VmHWM {hwm / MIB:.1f} MiB)"
            )
        growth = peaks["big"] - peaks["small"]
        verdict = "OK" if growth < 64 * MIB else "ABOVE GOAL"
        print(
            f"RSS growth between {args.small_mib} MiB and {args.big_mib} MiB: "
            f"{growth / MIB:.1f} MiB (goal < 64 MiB: {verdict})"
        )
        return 0 if growth < 64 * MIB else 1
    finally:
        stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
