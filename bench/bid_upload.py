"""Deposit of a pli through the real HTTP stack: throughput against the machine's raw
SHA-256 + AES-256-GCM + write limit, and the server's memory.

Starts the project's HTTP server (`manage.py runserver --noreload`, DEBUG off) on 127.0.0.1
with a throw-away SQLite database and media folder, prepares a published consultation whose
opening commission is complete, logs a company user in over HTTP, and deposits a 10 MiB then
a 1 GiB offer with the deposit protocol as static/marches/depot.js runs it (POST; PUTs at
an offset, 4 MiB first, growing to 32 MiB while each takes under a second; confirm), each body
streamed from the file as a browser sends a slice of a File. Prints, in the same run:

- the deposit throughput of each size (from the first PUT to the confirmation, receipt
  signed), and the raw limit: exactly the deposit's work — SHA-256 (rehashes), AES-256-GCM
  seal of 1 MiB chunks under a data key per segment, each segment written to a temporary,
  fsynced, renamed and its directory fsynced (core/durable.py) — on the same data, in this
  process;
- their ratio (goal ≥ 0.6);
- the server's RSS peak during each deposit and the growth between the two sizes (goal under
  64 MiB: the body is read and sealed chunk by chunk, never held whole);
- how long the confirmation took (SHA-256 check, signed receipt, e-mail: a fixed cost that
  dominates small files), and the machine's load average before and after each deposit (other
  work on the machine lowers the throughput more than the raw limit: note it with the figures).

``--topology``: the same deposits against the production topology (scripts/topology/topology.py:
two gunicorn nodes behind HAProxy, PostgreSQL, S3 through moto): throughput and the summed
memory of both nodes' processes; moto's own memory apart (it keeps the bucket in RAM).

Usage: .venv/bin/python bench/bid_upload.py [--small-mib 10] [--big-mib 1024] [--topology]
Not a test: `make test` does not run it. Needs Linux (/proc) and ~3 GiB of free disk.
"""

import argparse
import http.client
import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dce_download import (  # noqa: E402
    MIB,
    ROOT,
    RssSampler,
    TreeRssSampler,
    proc_status,
    running_topology,
    setup_environment,
    start_server,
    stop_server,
    write_file,
)
from sealed_setup import PASSWORD, member, organisation, sealed_consultation  # noqa: E402

CHUNK = MIB  # sealing.CHUNK_SIZE
# The request sizes of static/marches/depot.js: 4 chunks first, doubled while a request takes
# under a second, up to 32, halved above 4 s.
REQUEST_CHUNKS_FIRST = 4
REQUEST_CHUNKS_MAX = 32


def next_request_chunks(chunks: int, seconds: float) -> int:
    if seconds < 1:
        return min(chunks * 2, REQUEST_CHUNKS_MAX)
    if seconds > 4:
        return max(chunks // 2, 1)
    return chunks


def prepare() -> tuple[int, str]:
    """A published consultation with a complete 2-of-3 commission, and a company user."""
    from emegalis.organisations.roles import Role

    consultation = sealed_consultation(
        prefix="88800002",
        name="Commune du banc d'essai",
        reference="BENCH-PLIS",
        title="Consultation du banc d'essai des plis",
        text="Dépôt de plis chiffrés à la volée.",
        domain="bench.test",
    )
    company = organisation("88800003", "Entreprise du banc d'essai", "entreprise")
    return consultation.pk, member("entreprise@bench.test", Role.ENTREPRISE, company).email


def raw_limit(path: Path, workdir: Path) -> float:
    """MiB/s of exactly the deposit's work on the same file, in this process: SHA-256 with
    the deposit's resumable hash (rehashes), AES-256-GCM in 1 MiB chunks under a data key per
    segment of 8 chunks (sealing.SegmentSealer), and each segment written durably as the
    deposit's storage does (core/durable.py: temporary, fsync, rename, directory fsync),
    with the server process's allocator settings (core/process_tuning.py)."""
    import rehashes

    from emegalis.core import durable, process_tuning, sealing

    # The allocator settings of the server process (emegalis.wsgi): without them each 1 MiB
    # buffer is faulted in again and the loop measures page faults, not the deposit's work.
    process_tuning.keep_freed_memory()

    keys = sealing.generate_opening_key_pair()
    header = sealing.new_file_header()
    size = path.stat().st_size
    out = workdir / "raw"
    digest = rehashes.PySha256()
    started = time.perf_counter()
    durable.make_directories(out)
    with path.open("rb") as source:
        index = 0
        done = 0
        while done < size:
            sealer = sealing.SegmentSealer(header, keys.public_key, index)
            parts = [sealer.framed_header()]
            while done < size and sealer.count < sealing.SEGMENT_CHUNKS:
                chunk = source.read(sealing.CHUNK_SIZE)
                done += len(chunk)
                digest.update(chunk)
                parts.append(sealer.seal(chunk, done == size))
                index += 1
            sealer.forget()
            durable.write_file(out / f"{sealer.header.first_index:08d}", parts)
        digest.finalize()
    elapsed = time.perf_counter() - started
    shutil.rmtree(out)
    return size / MIB / elapsed


class _Uploader:
    """The PUTs of one file, each body streamed from the file a megabyte at a time (as a
    browser sends a slice of a File): the client never holds a request's worth of data.

    One connection per request: on a kept-alive connection, runserver's answer (headers and
    body in two small writes) waits for the client's delayed ACK, ~40 ms per request."""

    def __init__(self, base: str, cookies: str, csrf: str):
        parsed = urllib.parse.urlsplit(base)
        self.address = (parsed.hostname, parsed.port)
        self.cookies = cookies
        self.csrf = csrf
        self.connection: http.client.HTTPConnection | None = None

    def put(self, url: str, source, offset: int, length: int) -> tuple[int, bytes]:
        headers = {
            "Cookie": self.cookies,
            "X-CSRFToken": self.csrf,
            "Upload-Offset": str(offset),
            "Content-Type": "application/octet-stream",
            "Content-Length": str(length),
            "Connection": "close",
        }
        for attempt in range(6):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    *self.address, timeout=600, blocksize=MIB
                )
            source.seek(offset)
            try:
                self.connection.request("PUT", url, body=_Slice(source, length), headers=headers)
                response = self.connection.getresponse()
                answer = response.status, response.read()
                self.close()
                return answer
            except (ConnectionError, http.client.HTTPException):
                self.close()  # safe to repeat: the server answers its offset (409)
                if attempt == 5:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class _Slice:
    """``length`` bytes of an open file from its current position, read as they are sent."""

    def __init__(self, source, length: int):
        self.source = source
        self.left = length

    def read(self, size: int = -1) -> bytes:
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self.source.read(size)
        self.left -= len(data)
        return data


class Client:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.confirm_seconds = 0.0
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def request(self, method, path, data=None, headers=None, retry=False):
        """One HTTP exchange; ``retry``: again after a connection reset (as depot.js does for
        requests the protocol makes safe to repeat). HTTP errors return their status."""
        for attempt in range(6):
            request = urllib.request.Request(
                self.base + path, data=data, method=method, headers=headers or {}
            )
            try:
                with self.opener.open(request, timeout=600) as response:  # noqa: S310
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.read()
            except (ConnectionError, urllib.error.URLError, http.client.HTTPException):
                if not retry or attempt == 5:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def login(self, email: str) -> None:
        self.request("GET", "/compte/connexion/", retry=True)
        body = urllib.parse.urlencode(
            {"username": email, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf()}
        ).encode()
        self.request(
            "POST",
            "/compte/connexion/",
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )

    def deposit(self, consultation: int, path: Path) -> float:
        """Deposit one offer and return the seconds from the first PUT to the receipt
        (``self.confirm_seconds``: of which the confirmation)."""
        status, upload_began = self._deposit(consultation, path)
        if status != "recu":
            raise RuntimeError(f"deposit not received in time: {status}")
        return time.perf_counter() - upload_began

    def deposit_status(self, consultation: int, path: Path) -> str:
        """Deposit one offer and return its status (« recu » or « hors_delai »)."""
        return self._deposit(consultation, path)[0]

    def _deposit(self, consultation: int, path: Path) -> tuple[str, float]:
        size = path.stat().st_size
        headers = {"X-CSRFToken": self.csrf(), "Content-Type": "application/json"}
        files = [{"kind": "offre", "name": path.name, "size": size}]
        # Safe to repeat: a deposit started twice leaves an incomplete one, never counted.
        status, body = self.request(
            "POST",
            f"/marches/consultations/{consultation}/depot/",
            json.dumps({"files": files}).encode(),
            headers,
            retry=True,
        )
        if status != 201:
            raise RuntimeError(f"deposit refused ({status}): {json.loads(body).get('detail')}")
        created = json.loads(body)
        target = created["files"][0]
        started = time.perf_counter()
        offset = 0
        uploader = _Uploader(self.base, self._cookie_header(), self.csrf())
        per_request = REQUEST_CHUNKS_FIRST
        try:
            with path.open("rb") as source:
                while offset < size:
                    length = min(per_request * CHUNK, size - offset)
                    began = time.perf_counter()
                    status, answer = uploader.put(target["url"], source, offset, length)
                    if status not in (200, 409):  # 409: resume from the server's offset
                        raise RuntimeError(f"PUT refused ({status}): {answer[:200]!r}")
                    offset = json.loads(answer)["offset"]
                    per_request = next_request_chunks(per_request, time.perf_counter() - began)
        finally:
            uploader.close()
        confirm_began = time.perf_counter()
        status, answer = self.request("POST", created["confirm_url"], b"{}", headers)
        self.confirm_seconds = time.perf_counter() - confirm_began
        result = json.loads(answer)
        if status != 200:
            raise RuntimeError(f"deposit not confirmed: {answer[:200]!r}")
        return result["status"], started


def run_on_topology(args) -> int:
    """The same deposits through HAProxy to two gunicorn nodes, PostgreSQL and S3 (moto): the
    throughput and the memory of the application processes (both nodes' masters and workers);
    moto keeps the bucket in its own memory, reported apart."""
    with running_topology(args.workers, "emegalis-bench-plis-topo-") as (topology, workdir):
        consultation, email = prepare()
        client = Client(topology.url)
        client.login(email)
        # Warm every worker of both nodes up (imports, botocore's service models, the first
        # S3 client, the PKI): a deposit of many requests, spread over them by HAProxy.
        warm = workdir / "warm-up.bin"
        write_file(warm, 64 * MIB)
        client.deposit(consultation, warm)
        nodes = [topology.processes["node_a"].pid, topology.processes["node_b"].pid]
        s3 = topology.processes["s3"].pid
        print(f"Topology {topology.url}: 2 nodes × {args.workers} gunicorn workers, S3 (moto)")
        print(f"Application RSS after warm-up: {TreeRssSampler(nodes).sample() / MIB:.1f} MiB")
        peaks = {}
        for label, mib in (("small", args.small_mib), ("big", args.big_mib)):
            path = workdir / f"offre-{label}.bin"
            write_file(path, mib * MIB)
            app, bucket = TreeRssSampler(nodes), TreeRssSampler([s3])
            app.start()
            bucket.start()
            elapsed = client.deposit(consultation, path)
            peaks[label] = app.stop()
            bucket_peak = bucket.stop()
            path.unlink()
            print(
                f"{mib} MiB: {mib / elapsed:.1f} MiB/s through HAProxy ({elapsed:.1f} s, of which "
                f"confirmation {client.confirm_seconds:.2f} s); application RSS peak "
                f"{peaks[label] / MIB:.1f} MiB; moto RSS peak {bucket_peak / MIB:.1f} MiB"
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
    workdir = Path(tempfile.mkdtemp(prefix="emegalis-bench-plis-"))
    env = setup_environment(workdir)
    # Plain HTTP on the loopback: no redirect to HTTPS, no cookie marked Secure.
    env.update(
        {"SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0", "SECURE_SSL_REDIRECT": "0"}
    )
    os.environ.update(env)
    server = None
    try:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v0"],
            env=env,
            check=True,
        )
        # The login page is rendered with DEBUG off: it needs the static files manifest.
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--no-input", "-v0"],
            env=env,
            check=True,
        )
        sys.path.insert(0, str(ROOT / "src"))
        import django

        django.setup()
        consultation, email = prepare()
        server, port = start_server(env, workdir / "server.log")
        client = Client(f"http://127.0.0.1:{port}")
        client.login(email)
        warm = workdir / "warm-up.bin"
        write_file(warm, MIB)
        client.deposit(consultation, warm)  # imports, PKI creation, first signature
        baseline = proc_status(server.pid, "VmRSS")
        print(f"Server pid {server.pid}, resident memory after warm-up: {baseline / MIB:.1f} MiB")
        peaks = {}
        ratios = {}
        for label, mib in (("small", args.small_mib), ("big", args.big_mib)):
            path = workdir / f"offre-{label}.bin"
            write_file(path, mib * MIB)
            # The offer file's own write-back must not compete with either measurement.
            os.sync()
            limit = raw_limit(path, workdir)
            os.sync()
            load_before = os.getloadavg()[0]
            sampler = RssSampler(server.pid)
            sampler.start()
            elapsed = client.deposit(consultation, path)
            peaks[label] = sampler.stop()
            load_after = os.getloadavg()[0]
            throughput = mib / elapsed
            ratio = throughput / limit
            ratios[mib] = (ratio, client.confirm_seconds, limit)
            print(
                f"{mib:>5} MiB offer: deposited in {elapsed:.2f} s = {throughput:.0f} MiB/s; raw "
                f"SHA-256+AES-GCM+write+fsync limit {limit:.0f} MiB/s; ratio {ratio:.2f} "
                f"(goal ≥ 0.6); server RSS peak {peaks[label] / MIB:.1f} MiB"
            )
            upload = mib / max(elapsed - client.confirm_seconds, 1e-6)
            print(
                f"      of which confirmation {client.confirm_seconds:.2f} s (PUTs alone "
                f"{upload:.0f} MiB/s, ratio {upload / limit:.2f}); load average "
                f"{load_before:.2f} → {load_after:.2f} on {os.cpu_count()} CPUs"
            )
            path.unlink()
        growth = peaks["big"] - peaks["small"]
        print(
            f"RSS growth between {args.small_mib} MiB and {args.big_mib} MiB: "
            f"{growth / MIB:.1f} MiB (goal < 64 MiB: {'OK' if growth < 64 * MIB else 'ABOVE'})"
        )
        verdicts = []
        for mib, (ratio, confirm, limit) in ratios.items():
            verdict = f"{mib} MiB {'met' if ratio >= 0.6 else 'NOT met'} ({ratio:.2f})"
            if ratio < 0.6:
                verdict += (
                    f": the raw loop needs {mib / limit * 1000:.0f} ms, the deposit pays "
                    f"{confirm * 1000:.0f} ms of signed receipt and a few ms per request"
                )
            verdicts.append(verdict)
        print("Ratio goal ≥ 0.6: " + "; ".join(verdicts))
        met = growth < 64 * MIB and all(r >= 0.6 for r, _, _ in ratios.values())
        return 0 if met else 1
    except Exception:
        log = workdir / "server.log"
        if log.exists():
            print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
        raise
    finally:
        stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
