"""The production topology on 127.0.0.1, started with one command.

PostgreSQL (already running), an S3-compatible object store (moto_server, from PyPI), two
application nodes (two gunicorn instances, several workers each), HAProxy in front of them
(round robin, health checks on /sante/, no stickiness), two db_workers and two run_periodic.

    .venv/bin/python scripts/topology/topology.py     # or: make prod

prints the load balancer's URL and runs until Ctrl-C; every process is stopped on exit. The
tests (tests/topology, marker ``topology``) use :class:`Topology` from a session fixture.
Standard library only (plus boto3, a dependency of django-storages[s3], to make the bucket).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432"
HAPROXY_CFG = """global
    maxconn 2048

defaults
    mode http
    timeout connect 5s
    timeout client 600s
    timeout server 600s
    timeout check 5s
    # A node killed between two health checks: the request goes to the other node at once
    # (every retry may pick another server), so the client sees no 502 for it.
    option redispatch 1
    retries 3
    retry-on conn-failure empty-response
    # No server connection kept for another request: a killed node's dead connections are
    # never reused for a PUT that could then not be retried.
    http-reuse never

frontend emegalis
    bind 127.0.0.1:{lb_port}
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /sante/
    http-check expect status 200
    option forwardfor
{servers}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 — loopback
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@dataclass
class Topology:
    """Start with :meth:`start`, stop with :meth:`stop` (idempotent, kills every child)."""

    gunicorn_workers: int = 3
    database_url: str | None = None  # a fresh database on the local PostgreSQL if None
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="emegalis-topo-")))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    _created_db: str | None = None

    # --- public ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['lb']}"

    def node_url(self, node: str) -> str:
        return f"http://127.0.0.1:{self.ports[f'node_{node}']}"

    def start(self) -> Topology:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()
        if self._created_db:
            subprocess.run(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-qc",
                    f"DROP DATABASE IF EXISTS {self._created_db} WITH (FORCE)",
                ],
                capture_output=True,
                check=False,
            )
            self._created_db = None

    def kill_node(self, node: str) -> None:
        """kill -9 a whole application node (the gunicorn master and its workers)."""
        process = self.processes.pop(f"node_{node}")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def start_node(self, node: str) -> None:
        port = self.ports[f"node_{node}"]
        self._spawn(
            f"node_{node}",
            [
                str(BIN / "gunicorn"),
                "emegalis.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(self.gunicorn_workers),
                "--timeout",
                "600",
                "--access-logfile",
                "-",
                "--no-control-socket",
            ],
            extra={"EMEGALIS_NODE": node},
        )
        wait_http(f"http://127.0.0.1:{port}/sante/", self.processes[f"node_{node}"])

    def manage(self, *args: str, input: str | None = None) -> str:  # noqa: A002
        """Run a manage.py command with the topology's environment; its stdout."""
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env,
            cwd=ROOT,
            input=input,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)}: {result.stderr[-3000:]}")
        return result.stdout

    def s3_client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.env["S3_ENDPOINT_URL"],
            region_name=self.env["S3_REGION"],
            aws_access_key_id=self.env["S3_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["S3_SECRET_ACCESS_KEY"],
        )

    def log(self, name: str) -> str:
        path = self.workdir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- internals --------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], extra: dict | None = None) -> None:
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        log = (logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            argv,
            env={**self.env, **(extra or {})},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() kills the workers too
        )

    def _database(self) -> str:
        if self.database_url:
            return self.database_url
        prefix = os.environ.get("EMEGALIS_TOPOLOGY_DB_PREFIX", "emegalis_topology")
        name = f"{prefix}_{os.getpid()}_{int(time.time())}"
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-qc",
                f"CREATE DATABASE {name}",
            ],
            check=True,
            capture_output=True,
        )
        self._created_db = name
        return f"{DEFAULT_PG}/{name}"

    def _start(self) -> None:
        if not shutil.which("haproxy") and not Path("/usr/sbin/haproxy").exists():
            raise RuntimeError("haproxy est introuvable : sudo apt-get install haproxy")
        for name in ("lb", "node_a", "node_b", "s3"):
            self.ports[name] = free_port()
        var = self.workdir / "var"  # shared by every process: PKI, local TSA, journal key file
        lb = f"http://127.0.0.1:{self.ports['lb']}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))},
            "DJANGO_SETTINGS_MODULE": "emegalis.settings",
            "PYTHONPATH": str(ROOT / "src"),
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": f"{lb},http://127.0.0.1:{self.ports['node_a']},"
            f"http://127.0.0.1:{self.ports['node_b']}",
            "SITE_URL": lb,
            # Plain HTTP on 127.0.0.1 (no TLS proxy here): no redirect, no HSTS, no Secure cookies.
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "TRUSTED_PROXY_COUNT": "1",
            "DATABASE_URL": self._database(),
            "DATABASE_CONN_MAX_AGE": "0",
            "EMEGALIS_VAR_DIR": str(var),
            "STATIC_ROOT": str(self.workdir / "static"),
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": "emegalis-topology",
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{self.ports['s3']}",
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "topology",
            "S3_SECRET_ACCESS_KEY": "topology-secret",
            "JOURNAL_KEY": secrets.token_hex(32),
            "JOURNAL_WITNESS_DIR": str(var / "journal"),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "PREFECTURE_COUNTERPART_ENABLED": "1",
            "ACTES_TRANSPORT_URL": f"{lb}/prefecture/depot/",
            "ACTES_RETURN_TOKEN": secrets.token_urlsafe(24),
            "PREFECTURE_RETURN_URL": f"{lb}/actes/retour/",
            "ACTES_SEND_BACKOFF": "1,2,5",
            "AXES_FAILURE_LIMIT": "50",
            "AXES_ADDRESS_FAILURE_LIMIT": "10000",
        }
        var.mkdir(parents=True, exist_ok=True)
        # Object storage: moto's S3 server, and the bucket.
        self._spawn(
            "s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.ports["s3"])]
        )
        wait_http(f"http://127.0.0.1:{self.ports['s3']}/", self.processes["s3"])
        self.s3_client().create_bucket(Bucket=self.env["S3_BUCKET"])
        self.manage("migrate", "--no-input", "-v0")
        self.manage("collectstatic", "--no-input", "-v0")
        # The signing PKI and the local TSA key are made once here, in the shared VAR_DIR,
        # before two nodes race to create them.
        self.manage(
            "shell",
            "-c",
            "from emegalis.core import signing; signing.local_pki(); signing.local_timestamper()",
        )
        self.start_node("a")
        self.start_node("b")
        servers = "\n".join(
            f"    server node_{n} 127.0.0.1:{self.ports[f'node_{n}']}"
            " check inter 500ms fall 2 rise 2"
            for n in ("a", "b")
        )
        cfg = self.workdir / "haproxy.cfg"
        cfg.write_text(HAPROXY_CFG.format(lb_port=self.ports["lb"], servers=servers))
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self._spawn("lb", [haproxy, "-db", "-f", str(cfg)])
        wait_http(f"{lb}/sante/", self.processes["lb"])
        for i in (1, 2):
            self._spawn(f"db_worker_{i}", [sys.executable, str(ROOT / "manage.py"), "db_worker"])
            self._spawn(
                f"run_periodic_{i}",
                # Ticking every second, so that both schedulers contend for every slot.
                [sys.executable, str(ROOT / "manage.py"), "run_periodic", "--interval", "1"],
            )
        time.sleep(1)
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {self.log(name)[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL database (default: a fresh one)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per node")
    parser.add_argument("--demo", action="store_true", help="load the demo region")
    args = parser.parse_args()
    topology = Topology(gunicorn_workers=args.workers, database_url=args.database_url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        topology.start()
        if args.demo:
            topology.manage("load_demo")
        print(f"e-mégalis (topologie de production) : {topology.url}")
        print(f"  nœud A {topology.node_url('a')}, nœud B {topology.node_url('b')}")
        print(
            f"  stockage objet {topology.env['S3_ENDPOINT_URL']},"
            f" base {topology.env['DATABASE_URL']}"
        )
        print(f"  journaux des processus : {topology.workdir / 'logs'} — Ctrl-C pour tout arrêter")
        while all(p.poll() is None for p in topology.processes.values()):
            time.sleep(1)
        print(
            "un processus s'est arrêté :",
            [n for n, p in topology.processes.items() if p.poll() is not None],
        )
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        topology.stop()


if __name__ == "__main__":
    sys.exit(main())
