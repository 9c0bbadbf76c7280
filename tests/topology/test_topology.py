"""Two application nodes behind HAProxy, PostgreSQL, S3 (moto), two db_workers and two
run_periodic (scripts/topology/topology.py): what only shows when several nodes run at once."""

import base64
import hashlib
import http.cookiejar
import itertools
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.topology

PASSWORD = "mot-de-passe-de-test-42"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def request(self, url, data=None, headers=None, raw=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else raw
        request = urllib.request.Request(url, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def csrf_token(self, page: bytes) -> str:
        return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()

    def login(self, base, email):
        status, _, page = self.request(f"{base}/compte/connexion/")
        assert status == 200
        status, headers, _ = self.request(
            f"{base}/compte/connexion/",
            {"csrfmiddlewaretoken": self.csrf_token(page), "username": email, "password": PASSWORD},
            headers={"Referer": f"{base}/compte/connexion/"},
        )
        assert status == 302, "la connexion a échoué"
        return headers


def make_users(topology, count: int, prefix: str) -> list[str]:
    """Members of one organisation, made with the test factories in the topology's database."""
    out = topology.manage(
        "shell",
        "-c",
        "import json\n"
        "import secrets\n"
        "from emegalis.organisations.identifiers import siren_from_prefix\n"
        "from tests.factories import OrganisationFactory, UserFactory, make_member\n"
        "siren = siren_from_prefix(str(secrets.randbelow(10**7) + 2 * 10**7))\n"
        "org = OrganisationFactory(siren=siren)\n"
        f"users = [make_member(org, user=UserFactory(email='{prefix}' + str(i) + '@example.test'))"
        f" for i in range({count})]\n"
        "print(json.dumps([u.email for u in users]))",
    )
    return json.loads(out.strip().splitlines()[-1])


def bid_upload_bench():
    """bench/bid_upload.py, whose client runs the deposit protocol as depot.js does."""
    bench = str(Path(__file__).resolve().parents[2] / "bench")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    import bid_upload

    return bid_upload


def sealed_consultation_and_company(topology, *, company_prefix, company_name, email, **fields):
    """A published consultation with its commission complete (bench/sealed_setup.py) and a
    company user, made in the topology's database; returns (consultation id, e-mail)."""
    out = topology.manage(
        "shell",
        "-c",
        "import json, sys\n"
        "sys.path.insert(0, 'bench')\n"
        "from sealed_setup import member, organisation, sealed_consultation\n"
        "from emegalis.organisations.roles import Role\n"
        f"c = sealed_consultation(**{fields!r})\n"
        f"company = organisation({company_prefix!r}, {company_name!r}, 'entreprise')\n"
        f"user = member({email!r}, Role.ENTREPRISE, company)\n"
        "print(json.dumps([c.pk, user.email]))",
    )
    consultation, email = json.loads(out.strip().splitlines()[-1])
    return consultation, email


def start_deposit(client, consultation: int, size: int) -> tuple[dict, dict]:
    """POST the deposit of one offer of ``size`` bytes: the server's answer (file URLs,
    confirmation URL) and the JSON headers for the calls that follow."""
    headers = {"X-CSRFToken": client.csrf(), "Content-Type": "application/json"}
    status, body = client.request(
        "POST",
        f"/marches/consultations/{consultation}/depot/",
        json.dumps({"files": [{"kind": "offre", "name": "offre.bin", "size": size}]}).encode(),
        headers,
    )
    assert status == 201, body
    return json.loads(body), headers


def received_plis(topology, consultation: int) -> list:
    """[status, total size, [(size, SHA-256) of each file]] of each pli of the consultation,
    as the topology's database holds them."""
    out = topology.manage(
        "shell",
        "-c",
        "import json\n"
        "from emegalis.marches.models import Pli\n"
        f"plis = Pli.objects.filter(consultation_id={consultation})\n"
        "print(json.dumps([[p.status, p.total_size, [(f.size, f.sha256) for f in p.files.all()]]"
        " for p in plis]))",
    )
    return json.loads(out.strip().splitlines()[-1])


def test_the_load_balancer_spreads_requests_over_both_nodes(topology):
    before = {n: topology.log(f"node_{n}").count("GET /sante/?tour") for n in "ab"}
    for i in range(8):
        with urllib.request.urlopen(f"{topology.url}/sante/?tour={i}", timeout=10) as response:
            assert response.read() == b"ok\n"
    # The access log line is written just after the response: wait for all eight.
    for _ in range(50):
        after = {n: topology.log(f"node_{n}").count("GET /sante/?tour") for n in "ab"}
        if sum(after.values()) - sum(before.values()) >= 8:
            break
        time.sleep(0.1)
    # Round robin without stickiness: each node served half of them.
    assert after["a"] - before["a"] == 4
    assert after["b"] - before["b"] == 4


def test_a_session_opened_on_node_a_continues_on_node_b(topology):
    (email,) = make_users(topology, 1, "session")
    browser = Browser()
    browser.login(topology.node_url("a"), email)
    status, headers, _ = browser.request(f"{topology.node_url('b')}/tableau-de-bord/")
    assert status == 200, headers.get("Location")
    # And a stranger is sent to the login page by node B.
    status, headers, _ = Browser().request(f"{topology.node_url('b')}/tableau-de-bord/")
    assert status == 302 and "/compte/connexion/" in headers["Location"]


def test_journal_appends_from_both_nodes_at_once_keep_the_chain_whole(topology):
    emails = make_users(topology, 6, "journal")
    errors = []

    def create_keys(email, node):
        try:
            browser = Browser()
            base = topology.node_url(node)
            browser.login(base, email)
            for i in range(4):
                _, _, page = browser.request(f"{base}/compte/cles-api/")
                status, _, _ = browser.request(
                    f"{base}/compte/cles-api/",
                    {"csrfmiddlewaretoken": browser.csrf_token(page), "name": f"clé {i}"},
                    headers={"Referer": f"{base}/compte/cles-api/"},
                )
                assert status in (200, 302), status
        except Exception as exc:  # collected and reported below
            errors.append(repr(exc))

    threads = [
        threading.Thread(target=create_keys, args=(email, "ab"[i % 2]))
        for i, email in enumerate(emails)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    count = topology.manage(
        "shell",
        "-c",
        "from emegalis.core.models import JournalEntry\n"
        "print(JournalEntry.objects.filter(action='api_key.created').count())",
    )
    assert int(count.strip().splitlines()[-1]) == 24
    out = topology.manage("verify_journal")
    assert "rompu" not in out.lower()


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = "----emegalis-topology-boundary"
    parts = []
    for name, value in fields.items():
        parts.append(
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, content) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_a_dce_uploaded_through_node_a_is_downloaded_through_node_b(topology):
    out = topology.manage(
        "shell",
        "-c",
        "import json, secrets\n"
        "from datetime import date\n"
        "from emegalis.core.services_catalog import Service\n"
        "from emegalis.marches.consultations import services\n"
        "from emegalis.organisations.identifiers import siren_from_prefix\n"
        "from emegalis.organisations.roles import Role\n"
        "from tests.factories import OrganisationFactory, UserFactory, make_convention,"
        " make_member\n"
        "from tests.marches.helpers import consultation_fields\n"
        "siren = siren_from_prefix(str(secrets.randbelow(10**7) + 3 * 10**7))\n"
        # Each shell process restarts the factories' convention counter: start it elsewhere.
        "import itertools, tests.factories\n"
        "tests.factories._convention_seq = itertools.count(secrets.randbelow(10**5))\n"
        "org = OrganisationFactory(siren=siren)\n"
        "make_convention(org, [Service.MARCHES], start=date(2020, 1, 1), end=None)\n"
        "buyer = make_member(org, Role.ACHETEUR,"
        " user=UserFactory(email='acheteur-dce@example.test'))\n"
        "c = services.create_consultation(actor=buyer, organisation=org, **consultation_fields())\n"
        "print(json.dumps([buyer.email, c.pk]))",
    )
    email, pk = json.loads(out.strip().splitlines()[-1])
    content = b"%PDF-1.4 " + bytes(range(256)) * (12 * 1024)  # 3 MiB: streamed, not in memory
    browser = Browser()
    node_a, node_b = topology.node_url("a"), topology.node_url("b")
    browser.login(node_a, email)
    _, _, page = browser.request(f"{node_a}/marches/acheteur/{pk}/")
    body, content_type = multipart(
        {"csrfmiddlewaretoken": browser.csrf_token(page), "folder": "Pièces"},
        {"file": ("CCTP.pdf", content)},
    )
    status, _, _ = browser.request(
        f"{node_a}/marches/acheteur/{pk}/dce/",
        raw=body,
        headers={"Content-Type": content_type, "Referer": f"{node_a}/marches/acheteur/{pk}/"},
    )
    assert status == 302
    out = topology.manage(
        "shell",
        "-c",
        "import json\n"
        "from emegalis.marches.models import DceFile\n"
        f"f = DceFile.objects.get(consultation_id={pk})\n"
        "print(json.dumps([f.pk, f.sha256, f.file.name]))",
    )
    file_pk, sha256, key = json.loads(out.strip().splitlines()[-1])
    assert sha256 == hashlib.sha256(content).hexdigest()
    # The file is in the bucket, not on a node's disk.
    s3 = topology.s3_client()
    stored = s3.get_object(Bucket=topology.env["S3_BUCKET"], Key=key)["Body"].read()
    assert stored == content
    # Node B serves it (no stickiness, nothing local to node A).
    status, headers, downloaded = browser.request(f"{node_b}/marches/acheteur/{pk}/dce/{file_pk}/")
    if status == 302:  # a redirect to a signed URL of the object storage
        with urllib.request.urlopen(headers["Location"], timeout=60) as response:
            downloaded = response.read()
    else:
        assert status == 200
    assert hashlib.sha256(downloaded).hexdigest() == sha256


def test_a_deposit_through_the_load_balancer_leaves_no_plaintext_in_the_bucket(topology, tmp_path):
    bench = bid_upload_bench()

    consultation, email = sealed_consultation_and_company(
        topology,
        prefix="77700010",
        name="Commune du nuage",
        reference="TOPO-1",
        title="Consultation sur deux nœuds",
        text="Dépôt à travers le répartiteur.",
        domain="nuage.test",
        company_prefix="77700020",
        company_name="Entreprise du nuage",
        email="depot@nuage.test",
    )
    offer = tmp_path / "offre.pdf"
    content = b"%PDF-1.4 OFFRE-EN-CLAIR " + os.urandom(2 * 1024 * 1024)  # several segments
    offer.write_bytes(content)
    client = bench.Client(topology.url)
    client.login(email)
    assert client.deposit_status(consultation, offer) == "recu"
    out = topology.manage(
        "shell",
        "-c",
        "import json\n"
        "from emegalis.marches.models import Pli, PliFile\n"
        f"plis = Pli.objects.filter(consultation_id={consultation})\n"
        "print(json.dumps([[p.status, [f.sha256 for f in p.files.all()]] for p in plis]))",
    )
    plis = json.loads(out.strip().splitlines()[-1])
    assert plis == [["recu", [hashlib.sha256(content).hexdigest()]]]
    # Every object of the bucket: no window of the offer's plaintext in any of them.
    s3 = topology.s3_client()
    bucket = topology.env["S3_BUCKET"]
    samples = [content[i : i + 48] for i in range(0, len(content) - 48, 256 * 1024 + 17)]
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
    assert any(key.startswith("marches/") for key in keys), keys
    for key in keys:
        stored = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert b"OFFRE-EN-CLAIR" not in stored, key
        assert not any(sample in stored for sample in samples), key


def test_node_b_killed_mid_deposit_the_client_resumes_through_the_load_balancer(topology, tmp_path):
    """kill -9 of node B while it receives a PUT: the client resumes through HAProxy (node A
    then), the pli is counted once, received with the SHA-256 of the whole offer."""
    import http.client

    bench = bid_upload_bench()

    consultation, email = sealed_consultation_and_company(
        topology,
        prefix="66600010",
        name="Commune de la panne",
        reference="TOPO-2",
        title="Un nœud tombe",
        text="Reprise par le répartiteur.",
        domain="panne.test",
        company_prefix="66600020",
        company_name="Entreprise de la panne",
        email="depot@panne.test",
    )
    size = 12 * bench.CHUNK
    content = os.urandom(size)
    offer = tmp_path / "offre.bin"
    offer.write_bytes(content)
    client = bench.Client(topology.url)
    client.login(email)
    created, headers = start_deposit(client, consultation, size)
    url = created["files"][0]["url"]
    cookies = "; ".join(f"{c.name}={c.value}" for c in client.jar)
    node_b = topology.node_url("b")
    with offer.open("rb") as source:
        # The first four chunks through node B, acknowledged.
        status, answer = bench._Uploader(node_b, cookies, client.csrf()).put(
            url, source, 0, 4 * bench.CHUNK
        )
        assert status == 200, answer
        assert json.loads(answer)["offset"] == 4 * bench.CHUNK
        # The next eight through node B, killed with -9 after about half of the body.
        port = int(node_b.rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.putrequest("PUT", url)
        for name, value in {
            "Cookie": cookies,
            "X-CSRFToken": client.csrf(),
            "Upload-Offset": str(4 * bench.CHUNK),
            "Content-Type": "application/octet-stream",
            "Content-Length": str(8 * bench.CHUNK),
        }.items():
            connection.putheader(name, value)
        connection.endheaders()
        connection.send(content[4 * bench.CHUNK : 8 * bench.CHUNK])
        topology.kill_node("b")
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            connection.send(content[8 * bench.CHUNK :])
            connection.getresponse().read()
        connection.close()
        # The client resumes through the load balancer from the offset the server gives.
        uploader = bench._Uploader(topology.url, cookies, client.csrf())
        offset = 4 * bench.CHUNK
        while offset < size:
            status, answer = uploader.put(url, source, offset, min(4 * bench.CHUNK, size - offset))
            if status in (502, 503):  # the PUT is safe to repeat (depot.js does the same)
                time.sleep(0.5)
                continue
            assert status in (200, 409), answer
            offset = json.loads(answer)["offset"]
    status, answer = client.request("POST", created["confirm_url"], b"{}", headers)
    assert status == 200, answer
    assert json.loads(answer)["status"] == "recu"
    # Counted once, received whole, with the right hash.
    assert received_plis(topology, consultation) == [
        ["recu", size, [[size, hashlib.sha256(content).hexdigest()]]]
    ]
    # Node B comes back for whatever runs next.
    topology.start_node("b")


def test_an_acte_sent_from_node_a_is_transmitted_by_a_worker_and_its_acknowledgement_applied(
    topology,
):
    """An agent sends the act from node A's form; a db_worker posts it to the prefecture
    counterpart through HAProxy, whose acknowledgement comes back through HAProxy to
    /actes/retour/ and is applied."""
    out = topology.manage(
        "shell",
        "-c",
        "import secrets\n"
        "from emegalis.organisations.identifiers import siren_from_prefix\n"
        "from emegalis.organisations.roles import Role\n"
        "from tests.actes.helpers import make_commune\n"
        "from tests.factories import UserFactory, make_member\n"
        "siren = siren_from_prefix(str(secrets.randbelow(10**7) + 4 * 10**7))\n"
        # Each shell process restarts the factories' convention counter: start it elsewhere.
        "import itertools, tests.factories\n"
        "tests.factories._convention_seq = itertools.count(secrets.randbelow(10**5))\n"
        "commune = make_commune(name='Commune des actes', siren=siren)\n"
        "agent = make_member(commune, Role.AGENT_ACTES,"
        " user=UserFactory(email=f'agent-{siren}@example.test'))\n"
        "print(agent.email)",
    )
    email = out.strip().splitlines()[-1]
    # The agent sends the act from node A's form, as in a browser.
    from tests.actes.helpers import acte_form

    browser = Browser()
    node_a = topology.node_url("a")
    browser.login(node_a, email)
    _, _, page = browser.request(f"{node_a}/actes/nouveau/")
    fields = acte_form()
    document = fields.pop("document")
    body, content_type = multipart(
        {"csrfmiddlewaretoken": browser.csrf_token(page), **fields},
        {"document": (document.name, document.read())},
    )
    status, headers, answer = browser.request(
        f"{node_a}/actes/nouveau/",
        raw=body,
        headers={"Content-Type": content_type, "Referer": f"{node_a}/actes/nouveau/"},
    )
    assert status == 302, answer[:2000]
    pk = int(re.search(r"/actes/(\d+)/", headers["Location"]).group(1))
    status = None
    for _ in range(120):
        status = (
            topology.manage(
                "shell",
                "-c",
                "from emegalis.actes.models import Transaction\n"
                f"print(Transaction.objects.get(pk={pk}).status)",
            )
            .strip()
            .splitlines()[-1]
        )
        if status == "4":  # ACQUITTEMENT_RECU
            break
        time.sleep(1)
    assert status == "4", (
        f"statut {status}; worker : {topology.log('db_worker_1')[-1500:]}"
        f"{topology.log('db_worker_2')[-1500:]}"
    )


def test_a_deposit_started_through_node_a_is_resumed_and_completed_through_node_b(topology):
    """Start and the first chunks on node A, the rest and the confirmation on node B: the
    running SHA-256 (PliFile.hash_state) and the segments travel through the database and the
    bucket, and the pli is received once with the hash of the whole offer."""
    import copy

    bench = bid_upload_bench()

    consultation, email = sealed_consultation_and_company(
        topology,
        prefix="66600030",
        name="Commune des deux nœuds",
        reference="TOPO-3",
        title="De A vers B",
        text="Reprise sur un autre nœud.",
        domain="deuxnoeuds.test",
        company_prefix="66600040",
        company_name="Entreprise des deux nœuds",
        email="depot@deuxnoeuds.test",
    )
    size = 6 * bench.CHUNK + 12345
    content = os.urandom(size)
    on_a = bench.Client(topology.node_url("a"))
    on_a.login(email)
    created, headers = start_deposit(on_a, consultation, size)
    url = created["files"][0]["url"]
    put = {"X-CSRFToken": on_a.csrf(), "Content-Type": "application/octet-stream"}
    status, answer = on_a.request(
        "PUT", url, content[: 3 * bench.CHUNK], {**put, "Upload-Offset": "0"}
    )
    assert status == 200 and json.loads(answer)["offset"] == 3 * bench.CHUNK, answer
    # The same session on node B: it knows the offset and continues the hash.
    on_b = copy.copy(on_a)  # the same cookies (session, CSRF), another node
    on_b.base = topology.node_url("b")
    status, answer = on_b.request("GET", url, None, {})
    assert status == 200 and json.loads(answer)["offset"] == 3 * bench.CHUNK, answer
    status, answer = on_b.request(
        "PUT", url, content[3 * bench.CHUNK :], {**put, "Upload-Offset": str(3 * bench.CHUNK)}
    )
    assert status == 200 and json.loads(answer)["offset"] == size, answer
    status, answer = on_b.request("POST", created["confirm_url"], b"{}", headers)
    assert status == 200, answer
    assert json.loads(answer)["status"] == "recu"
    assert received_plis(topology, consultation) == [
        ["recu", size, [[size, hashlib.sha256(content).hexdigest()]]]
    ]
    assert topology.log("node_a").count(f"PUT {url}") == 1
    assert topology.log("node_b").count(f"PUT {url}") == 1


SLOT_LINE = re.compile(r"Mise en file : (\S+) \(créneau (\S+)\)")
MINUTE_JOBS = ("marches.close_due_consultations", "marches.issue_missing_receipts")


def test_a_webdav_lock_taken_through_node_a_is_honoured_by_node_b(topology):
    out = topology.manage(
        "shell",
        "-c",
        "import io, json, secrets\n"
        "from datetime import date\n"
        "from emegalis.collaboratif import services\n"
        "from emegalis.core.services_catalog import Service\n"
        "from emegalis.organisations import services as accounts\n"
        "from emegalis.organisations.identifiers import siren_from_prefix\n"
        "from emegalis.organisations.roles import Role\n"
        "from tests.factories import OrganisationFactory, UserFactory, make_convention,"
        " make_member\n"
        "siren = siren_from_prefix(str(secrets.randbelow(10**7) + 5 * 10**7))\n"
        # Each shell process restarts the factories' convention counter: start it elsewhere.
        "import itertools, tests.factories\n"
        "tests.factories._convention_seq = itertools.count(secrets.randbelow(10**5))\n"
        "org = OrganisationFactory(siren=siren)\n"
        "make_convention(org, [Service.COLLABORATIF], start=date(2020, 1, 1), end=None)\n"
        "agents = [make_member(org, Role.MEMBRE_COLLABORATIF, user=UserFactory(email=f'dav{i}-'"
        " + siren + '@example.test')) for i in range(2)]\n"
        "ws = services.create_workspace(actor=agents[0], organisation=org,"
        " name='Espace ' + siren)\n"
        "_, invite = services.invite(actor=agents[0], workspace=ws, email=agents[1].email,"
        " role='contributeur')\n"
        "services.accept_invitation(actor=agents[1], organisation=org, secret=invite)\n"
        "services.upload(actor=agents[0], workspace=ws, folder=None, name='plan.txt',"
        " content=io.BytesIO(b'v1'))\n"
        "keys = [accounts.create_app_password(user=a, name='poste')[1] for a in agents]\n"
        "print(json.dumps([ws.slug, [a.email for a in agents], keys]))",
    )
    slug, emails, keys = json.loads(out.strip().splitlines()[-1])
    node_a, node_b = topology.node_url("a"), topology.node_url("b")
    url = f"/dav/{slug}/plan.txt"

    def dav(node, method, who, body=None, **headers):
        token = base64.b64encode(f"{emails[who]}:{keys[who]}".encode()).decode()
        request = urllib.request.Request(
            node + url,
            data=body,
            method=method,
            headers={"Authorization": f"Basic {token}", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    lock_body = (
        b'<?xml version="1.0" encoding="utf-8"?><lockinfo xmlns="DAV:"><lockscope>'
        b"<exclusive/></lockscope><locktype><write/></locktype><owner>A</owner></lockinfo>"
    )
    status, headers, _ = dav(
        node_a, "LOCK", 0, lock_body, **{"Content-Type": "application/xml", "Depth": "0"}
    )
    assert status == 200
    token = headers["Lock-Token"].strip("<>")
    # Node B knows the lock: the other agent is refused, even the holder without its token.
    assert dav(node_b, "PUT", 1, b"v2 de B")[0] == 423
    assert dav(node_b, "PUT", 0, b"v2 sans jeton")[0] == 423
    assert dav(node_b, "PUT", 0, b"v2", If=f"(<{token}>)")[0] == 204
    assert dav(node_a, "GET", 1)[2] == b"v2"
    assert dav(node_b, "UNLOCK", 0, **{"Lock-Token": f"<{token}>"})[0] == 204
    assert dav(node_a, "PUT", 1, b"v3")[0] == 204


def _enqueued_slots(topology) -> dict[str, list[tuple[str, str]]]:
    return {
        scheduler: SLOT_LINE.findall(topology.log(scheduler))
        for scheduler in ("run_periodic_1", "run_periodic_2")
    }


def test_each_periodic_slot_is_enqueued_once_with_two_schedulers(topology):
    """Last in the file: both schedulers tick every second from the topology's start; the test
    waits until each minute job has seen two slots, so both schedulers contended for a slot
    boundary, then reads every slot each one enqueued."""
    deadline = time.monotonic() + 130
    while True:
        per_scheduler = _enqueued_slots(topology)
        lines = [line for found in per_scheduler.values() for line in found]
        slots_of = {job: {slot for name, slot in lines if name == job} for job in MINUTE_JOBS}
        if all(len(slots) >= 2 for slots in slots_of.values()):
            break
        assert time.monotonic() < deadline, f"moins de deux créneaux en file : {per_scheduler}"
        time.sleep(1)
    assert len(lines) == len(set(lines)), f"créneau mis en file deux fois : {sorted(lines)}"
    for job, slots in slots_of.items():
        minutes = sorted(datetime.fromisoformat(slot) for slot in slots)
        gaps = {later - earlier for earlier, later in itertools.pairwise(minutes)}
        assert gaps == {timedelta(minutes=1)}, f"{job} : créneau manqué entre {minutes}"
    # Each slot logged is one task in the queue, no more.
    out = topology.manage(
        "shell",
        "-c",
        "import json\n"
        "from django_tasks_db.models import DBTaskResult\n"
        "paths = ['emegalis.marches.tasks.close_due_consultations',"
        " 'emegalis.marches.tasks.issue_missing_receipts']\n"
        "print(json.dumps({p: DBTaskResult.objects.filter(task_path=p).count() for p in paths}))",
    )
    queued = json.loads(out.strip().splitlines()[-1])
    for job in MINUTE_JOBS:
        path = "emegalis." + job.replace(".", ".tasks.", 1)
        logged = sum(1 for name, _slot in lines if name == job)
        # A slot enqueued after the logs were read may already be in the queue.
        assert queued[path] in (logged, logged + 1), (job, queued[path], logged)
