"""Issue 10 end to end, against the project's real server process (`manage.py runserver
--noreload`, DEBUG off) on a file SQLite database and a media folder in a temporary var dir:

- under strace, the server fsyncs while it serves the PUTs of a deposit (the acknowledged
  offset is on disk before the answer);
- kill -9 of the server at random points of multi-MiB deposits (mid-PUT, mid-confirmation,
  between requests), ~20 times: each deposit resumes through a restarted server and ends
  « reçu » with the right SHA-256; never a 409 but the offset answers (which carry the
  offset to resume from); and a pli counted « reçu » always has every file whole — checked
  after every kill by decrypting it with the commission's shares (sealing.check_stream).

The consultation is set up in that database by bench/sealed_setup.py (commission named,
shares collected with member_side, published). The company uses the deposit API with an API
key (docs/plis-api.md), as tests/marches/deposit/plis_client.sh does.
"""

import contextlib
import hashlib
import http.client
import io
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from emegalis.core import sealing

ROOT = Path(__file__).resolve().parents[3]
MIB = 1024 * 1024

pytestmark = [
    pytest.mark.live_server_process,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux seulement (kill -9)"),
]

SETUP = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, "bench")
    import django
    django.setup()
    from sealed_setup import member, organisation, sealed_consultation
    from emegalis.organisations.roles import Role
    from emegalis.organisations.services import create_api_key
    shares = []
    consultation = sealed_consultation(
        prefix="88800012", name="Commune du test de panne", reference="PANNE-1",
        title="Consultation du test de panne", text="Dépôts interrompus par kill -9.",
        domain="panne.test", shares=shares,
    )
    company = organisation("88800013", "Entreprise du test de panne", "entreprise")
    user = member("entreprise@panne.test", Role.ENTREPRISE, company)
    _, key = create_api_key(user=user, organisation=company, name="test de panne")
    print(json.dumps({
        "consultation": consultation.pk, "key": key, "shares": shares,
        "public_key": consultation.opening_commission.public_key_bytes.hex(),
    }))
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Platform:
    """The var dir, its database and the server process (started, killed, restarted)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "emegalis.settings",
            "DEBUG": "0",
            "SECRET_KEY": "crash-test-only-secret-key",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "EMEGALIS_VAR_DIR": str(workdir / "var"),
            "MEDIA_ROOT": str(workdir / "media"),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "TASKS_BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "ERROR",
            "PYTHONPATH": str(ROOT / "src"),
        }
        self.server: subprocess.Popen | None = None
        self.port = 0
        self.kills = 0

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, timeout=300
        )

    def setup(self) -> dict:
        self.manage("migrate", "--no-input", "-v0")
        out = subprocess.run(
            [sys.executable, "-c", SETUP],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    def start(self, prefix: list[str] | None = None) -> None:
        self.port = _free_port()
        command = [
            sys.executable,
            "manage.py",
            "runserver",
            "--noreload",
            "--skip-checks",
            f"127.0.0.1:{self.port}",
        ]
        log = (self.workdir / "server.log").open("ab")
        self.server = subprocess.Popen(
            [*(prefix or []), *command],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,  # one group: strace and its server stop together
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.server.poll() is None, self.log_tail()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("le serveur n'a pas démarré")

    def kill(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.kill(self.server.pid, signal.SIGKILL)
            self.kills += 1
        if self.server is not None:
            self.server.wait(timeout=30)

    def stop(self) -> None:
        if self.server is None:
            return
        if self.server.poll() is None:
            self._signal_group(signal.SIGINT)
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        # strace detaches from the server when it is interrupted: end whatever is left.
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.server.pid, sig)

    def log_tail(self) -> str:
        log = self.workdir / "server.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""


class Down(Exception):
    """The server went away during the exchange (killed)."""


class Api:
    def __init__(self, platform: Platform, key: str):
        self.platform = platform
        self.key = key

    def call(self, method: str, path: str, body: bytes = b"", headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.platform.port, timeout=120)
        try:
            connection.request(
                method,
                path,
                body=body,
                headers={
                    "Authorization": f"Bearer {self.key}",
                    "Connection": "close",
                    **(headers or {}),
                },
            )
            response = connection.getresponse()
            data = response.read()
            return response.status, response.headers, data
        except (OSError, http.client.HTTPException) as exc:
            raise Down() from exc
        finally:
            connection.close()

    def start(self, consultation: int, size: int) -> dict:
        files = [{"kind": "offre", "name": "offre.bin", "size": size}]
        status, _, data = self.call(
            "POST",
            f"/api/v1/marches/entreprise/consultations/{consultation}/plis",
            json.dumps({"files": files}).encode(),
            {"Content-Type": "application/json"},
        )
        assert status == 201, data
        return json.loads(data)

    def offset(self, url: str) -> int:
        status, headers, data = self.call("HEAD", url)
        assert status == 200, (status, data)
        return int(headers["Upload-Offset"])

    def put(self, url: str, content: bytes, offset: int, length: int) -> int:
        status, _, data = self.call(
            "PUT",
            url,
            content[offset : offset + length],
            {"Upload-Offset": str(offset), "Content-Type": "application/octet-stream"},
        )
        answer = json.loads(data)
        # 409 only for an offset mismatch, and it carries the offset to resume from.
        assert status in (200, 409), (status, answer)
        assert "offset" in answer, (status, answer)
        return answer["offset"]

    def put_torn(self, url: str, content: bytes, offset: int, length: int, sent: int, pause):
        """A PUT whose body stops after ``sent`` bytes; the server is killed while it waits
        for the rest (after ``pause`` seconds, during which it seals and stores what came)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.platform.port, timeout=120)
        try:
            connection.putrequest("PUT", url, skip_accept_encoding=True)
            for name, value in (
                ("Authorization", f"Bearer {self.key}"),
                ("Upload-Offset", str(offset)),
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", str(length)),
            ):
                connection.putheader(name, value)
            connection.endheaders()
            connection.send(content[offset : offset + sent])
            time.sleep(pause)
            self.platform.kill()
        except OSError:
            pass
        finally:
            connection.close()
        raise Down()

    def confirm(self, url: str) -> tuple[int, dict]:
        status, _, data = self.call(
            "POST", url, b'{"backup_copy": false}', {"Content-Type": "application/json"}
        )
        return status, json.loads(data)

    def detail(self, pli_pk: int) -> dict:
        status, _, data = self.call("GET", f"/api/v1/marches/entreprise/plis/{pli_pk}")
        assert status == 200, data
        return json.loads(data)


def counted_plis_are_whole(platform: Platform, private_key: bytes, expected: dict[int, str]):
    """Every pli counted in the database (« reçu », or « remplacé » by a later one): every
    file whole, its SHA-256 the one the client sent, and it opens with the shares. Returns
    the pks checked."""
    db = sqlite3.connect(f"file:{platform.workdir / 'db.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT p.id, p.consultation_id, f.id, f.header, f.size, f.sha256 "
            "FROM marches_pli p JOIN marches_plifile f ON f.pli_id = p.id "
            "WHERE p.status IN ('recu', 'remplace')"
        ).fetchall()
    finally:
        db.close()
    for pli_pk, consultation_pk, file_pk, header, size, sha256 in rows:
        folder = platform.workdir / "media" / f"marches/plis/{consultation_pk}/{pli_pk}/{file_pk}"
        names = sorted(n for n in os.listdir(folder) if n.isdigit())
        sealed = io.BytesIO(bytes(header) + b"".join((folder / n).read_bytes() for n in names))
        result = sealing.check_stream(sealed, private_key)
        assert result.ok, (pli_pk, result.error)
        assert result.size == size
        assert result.sha256 == sha256 == expected[pli_pk], pli_pk
    return {row[0] for row in rows}


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("depot-durable")
    platform = Platform(workdir)
    setup = platform.setup()
    public_key = bytes.fromhex(setup["public_key"])
    platform.private_key = sealing.combine_shares(setup["shares"][:2], 2, public_key)
    platform.consultation = setup["consultation"]
    platform.key = setup["key"]
    platform.expected = {}  # pli pk → SHA-256 of what the client sent, for every test
    yield platform
    platform.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def _strace() -> str | None:
    found = shutil.which("strace")
    if found is None and os.environ.get("EMEGALIS_REQUIRE_STRACE") == "1":
        pytest.fail("strace est requis (EMEGALIS_REQUIRE_STRACE=1) : apt-get install strace")
    return found


def test_the_server_fsyncs_while_it_serves_the_puts(platform):
    strace = _strace()
    if strace is None:
        pytest.skip("strace est absent (paquet Debian « strace ») : fsync non observé")
    trace = platform.workdir / "strace.log"
    platform.start([strace, "-f", "-y", "-ttt", "-e", "trace=fsync,fdatasync", "-o", str(trace)])
    try:
        api = Api(platform, platform.key)
        content = os.urandom(6 * MIB + 123)
        created = api.start(platform.consultation, len(content))
        platform.expected[created["id"]] = hashlib.sha256(content).hexdigest()
        url = created["files"][0]["url"]
        windows = []
        offset = 0
        while offset < len(content):
            began = time.time()
            offset = api.put(url, content, offset, 2 * MIB)
            windows.append((began, time.time()))
        status, answer = api.confirm(created["confirm_url"])
        assert status == 200 and answer["status"] == "recu", answer
    finally:
        platform.stop()
    calls = []  # (time, path of the synced file descriptor, strace -y)
    for line in trace.read_text().splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[2].startswith(("fsync(", "fdatasync(")):
            calls.append((float(parts[1]), parts[2].split("<", 1)[1].split(">", 1)[0]))
    folder = str(platform.workdir / "media" / "marches" / "plis")
    during = [[p for t, p in calls if a <= t <= b] for a, b in windows]
    for synced in during:
        # Each PUT stores one segment: its bytes under a temporary name, then its directory;
        # and the database commits the new offset (SQLite's WAL, synchronous=FULL).
        assert any(p.startswith(folder) and ".tmp-" in p for p in synced), (synced, calls)
        assert any(p.startswith(folder) and ".tmp-" not in p for p in synced), synced
        assert any(p.endswith("db.sqlite3-wal") for p in synced), synced


class Killer:
    """Kills the server process after a delay, from another thread (mid-request)."""

    def __init__(self, platform: Platform, delay: float):
        self.timer = threading.Timer(delay, platform.kill)
        self.timer.start()

    def cancel(self) -> None:
        self.timer.cancel()
        self.timer.join()  # a kill under way ends before the caller restarts the server


def test_kill_9_at_random_points_never_loses_or_half_counts_a_deposit(platform):
    seed = int(os.environ.get("EMEGALIS_CRASH_SEED", time.time()))
    print(f"EMEGALIS_CRASH_SEED={seed} replays this run", file=sys.stderr)
    rng = random.Random(seed)
    kills_wanted = int(os.environ.get("EMEGALIS_CRASH_KILLS", "20"))
    api = Api(platform, platform.key)
    expected = platform.expected
    checked: set[int] = set()
    platform.start()
    places = {"mid-put": 0, "mid-confirm": 0, "between": 0}
    deposits = 0
    try:
        while platform.kills < kills_wanted:
            deposits += 1
            content = os.urandom(rng.randint(4 * MIB, 6 * MIB) + rng.randint(0, 4096))
            created = None
            while created is None:
                try:
                    created = api.start(platform.consultation, len(content))
                except Down:  # a start whose answer was lost leaves an incomplete deposit
                    platform.kill()
                    platform.start()
            pli_pk, url = created["id"], created["files"][0]["url"]
            expected[pli_pk] = hashlib.sha256(content).hexdigest()
            offset, done, kills_before = 0, False, platform.kills
            while not done:
                place = None
                # At most 4 kills per deposit, so that deposits also complete after kills.
                if platform.kills < min(kills_wanted, kills_before + 4):
                    weights = (5, 3, 2) if offset < len(content) else (0, 4, 1)
                    place = rng.choices(list(places), weights=weights)[0]
                where = place
                try:
                    while offset < len(content):
                        killer = None
                        if place == "mid-put" and rng.random() < 0.5:
                            length = min(rng.choice([1, 2]) * MIB, len(content) - offset)
                            api.put_torn(
                                url,
                                content,
                                offset,
                                length,
                                rng.randint(0, length - 1),
                                rng.uniform(0.0, 0.1),
                            )
                        if place == "mid-put":
                            killer = Killer(platform, rng.uniform(0.0, 0.05))
                        try:
                            offset = api.put(url, content, offset, rng.choice([1, 2]) * MIB)
                        finally:
                            if killer:
                                killer.cancel()
                        if place == "between" and rng.random() < 0.5:
                            platform.kill()
                            raise Down()
                    if place == "between":  # after the last PUT, before the confirmation
                        platform.kill()
                        raise Down()
                    if place == "mid-put":  # the PUTs all ended first: try the confirmation
                        where = "mid-confirm"
                    killer = None
                    if where == "mid-confirm":
                        killer = Killer(platform, rng.uniform(0.0, 0.4))
                    try:
                        status, answer = api.confirm(created["confirm_url"])
                    finally:
                        if killer:
                            killer.cancel()
                    if status == 409 and "déjà terminé" in answer["detail"]:
                        # The previous confirmation completed before its answer was lost.
                        answer = api.detail(pli_pk)
                        status = 200
                    assert status == 200, answer
                    assert answer["status"] == "recu", answer
                    done = True
                except Down:
                    places[where] += 1
                    platform.kill()
                    checked |= counted_plis_are_whole(platform, platform.private_key, expected)
                    platform.start()
                    offset = api.offset(url)
                    assert offset % sealing.CHUNK_SIZE == 0 or offset == len(content)
    finally:
        platform.stop()
    counted = counted_plis_are_whole(platform, platform.private_key, expected)
    assert set(expected) <= counted  # every deposit ended « reçu », whole, right SHA-256
    assert platform.kills >= kills_wanted
    print(f"{platform.kills} kill -9, {deposits} dépôts, {places}", file=sys.stderr)
