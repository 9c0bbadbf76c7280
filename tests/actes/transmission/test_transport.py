"""The HTTP(S) transport against real servers on this machine: multipart body, HTTP Basic of
the legacy protocol, 200/201 success, errors kept for a retry, TLS with a client certificate
and pinning of the server certificate."""

import hashlib
import io
import shutil
import ssl
import subprocess
import threading
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emegalis.actes.transmission.transport import TransportConfig, TransportError, post_archive

ARCHIVE = b"\x1f\x8b" + b"archive de test" * 1000


class Recorder(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = BytesParser(policy=default).parsebytes(
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body
        )
        parts = {
            part.get_param("name", header="content-disposition"): (
                part.get_filename(),
                part.get_payload(decode=True),
            )
            for part in message.iter_parts()
        }
        peer = getattr(self.connection, "getpeercert", lambda: None)()
        self.received.append(
            {"auth": self.headers.get("Authorization"), "parts": parts, "peer": peer}
        )
        status = self.answers.pop(0) if self.answers else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"OK" if status < 300 else b"erreur du serveur")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Recorder.answers, Recorder.received = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_post_sends_one_multipart_file_with_basic_auth(server):
    url = f"http://127.0.0.1:{server.server_port}/depot?x=1"
    config = TransportConfig(url=url, username="tdt", password="secret", field="enveloppe")
    status = post_archive(
        name="a.tar.gz", file=io.BytesIO(ARCHIVE), size=len(ARCHIVE), config=config
    )
    assert status == 200
    got = Recorder.received[0]
    assert got["parts"]["enveloppe"] == ("a.tar.gz", ARCHIVE)
    assert got["auth"].startswith("Basic ")


def test_201_is_success_and_500_an_error_to_retry(server):
    url = f"http://127.0.0.1:{server.server_port}/"
    Recorder.answers = [201, 500]
    config = TransportConfig(url=url)
    assert (
        post_archive(name="a.tar.gz", file=io.BytesIO(ARCHIVE), size=len(ARCHIVE), config=config)
        == 201
    )
    with pytest.raises(TransportError, match="HTTP 500") as exc:
        post_archive(name="a.tar.gz", file=io.BytesIO(ARCHIVE), size=len(ARCHIVE), config=config)
    assert not exc.value.permanent


def test_unreachable_server_and_missing_url():
    with pytest.raises(TransportError, match="injoignable"):
        post_archive(
            name="a",
            file=io.BytesIO(b"x"),
            size=1,
            config=TransportConfig(url="http://127.0.0.1:9/", timeout=2),
        )
    with pytest.raises(TransportError, match="ACTES_TRANSPORT_URL"):
        post_archive(name="a", file=io.BytesIO(b"x"), size=1, config=TransportConfig(url=""))


def make_cert(tmp_path, name):
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl est absent")
def test_https_with_client_certificate_and_pinning(tmp_path):
    server_cert, server_key = make_cert(tmp_path, "ministere")
    client_cert, client_key = make_cert(tmp_path, "tdt-emegalis")
    Recorder.answers, Recorder.received = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_cert, server_key)
    context.verify_mode = ssl.CERT_REQUIRED  # the ministry requires the TdT's certificate
    context.load_verify_locations(client_cert)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        der = ssl.PEM_cert_to_DER_cert(server_cert.read_text())
        pin = hashlib.sha256(der).hexdigest()
        url = f"https://127.0.0.1:{httpd.server_port}/depot"
        config = TransportConfig(
            url=url,
            client_cert=str(client_cert),
            client_key=str(client_key),
            ca_file=str(server_cert),
            pin_sha256=":".join(pin[i : i + 2] for i in range(0, 64, 2)),
        )
        assert (
            post_archive(
                name="a.tar.gz", file=io.BytesIO(ARCHIVE), size=len(ARCHIVE), config=config
            )
            == 200
        )
        assert Recorder.received[0]["peer"]["subject"] == ((("commonName", "tdt-emegalis"),),)
        wrong = TransportConfig(**{**config.__dict__, "pin_sha256": "00" * 32})
        with pytest.raises(TransportError, match="épinglée"):
            post_archive(name="a.tar.gz", file=io.BytesIO(ARCHIVE), size=len(ARCHIVE), config=wrong)
        without_cert = TransportConfig(url=url, ca_file=str(server_cert))
        with pytest.raises(TransportError):
            post_archive(
                name="a.tar.gz", file=io.BytesIO(ARCHIVE), size=len(ARCHIVE), config=without_cert
            )
        assert len(Recorder.received) == 1
    finally:
        httpd.shutdown()
        httpd.server_close()
