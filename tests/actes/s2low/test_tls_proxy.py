"""Client certificates through a real TLS proxy: Debian's HAProxy terminates TLS in front of a
live server, verifies the client certificate against the CA, and forwards its verdict and the
certificate's SHA-256 in headers it sets itself (the configuration given in docs/actes-api.md).
A certificate bound to an account then opens the API; a forged header opens nothing."""

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from emegalis.organisations.services import create_api_key, register_client_certificate
from scripts.topology.topology import free_port

HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
)

# What docs/actes-api.md gives operators, with the test's ports and files.
CONFIG = """global
    maxconn 64
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend api
    bind 127.0.0.1:{port} ssl crt {server_pem} ca-file {ca_pem} verify optional
    http-request del-header X-SSL-Client-Verify
    http-request del-header X-SSL-Client-SHA256
    acl cert_used ssl_c_used
    acl cert_ok ssl_c_verify 0
    http-request set-header X-SSL-Client-Verify SUCCESS if cert_used cert_ok
    http-request set-header X-SSL-Client-SHA256 %[ssl_c_der,sha2(256),hex] if cert_used cert_ok
    default_backend app
backend app
    server live 127.0.0.1:{app_port}
"""


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(subject: str, issuer_key, issuer_name, *, ca=False, server=False, key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name or _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return key, builder.sign(issuer_key or key, hashes.SHA256())


def _pem(key, cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture
def tls_proxy(live_server, tmp_path, settings):
    if HAPROXY is None:
        if os.environ.get("EMEGALIS_REQUIRE_HAPROXY") == "1":
            pytest.fail("haproxy est requis (EMEGALIS_REQUIRE_HAPROXY=1) : apt-get install haproxy")
        pytest.skip("haproxy est absent")
    settings.CLIENT_CERT_HEADERS_TRUSTED = True
    ca_key, ca = _issue("AC de test e-mégalis", None, None, ca=True)
    server_key, server = _issue("localhost", ca_key, ca.subject, server=True)
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "server.pem").write_bytes(_pem(server_key, server))
    port = free_port()
    app_port = int(live_server.url.rsplit(":", 1)[1])
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(
        CONFIG.format(
            port=port,
            server_pem=tmp_path / "server.pem",
            ca_pem=tmp_path / "ca.pem",
            app_port=app_port,
        )
    )
    process = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stderr=subprocess.PIPE)
    url = f"https://localhost:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"{url}/sante/", verify=str(tmp_path / "ca.pem"), timeout=2)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(process.stderr.read().decode()) from None
            time.sleep(0.2)

    def client_cert(cn: str, *, trusted: bool = True):
        issuer_key, issuer = (ca_key, ca) if trusted else _issue("AC inconnue", None, None, ca=True)
        key, cert = _issue(cn, issuer_key, issuer.subject)
        path = tmp_path / f"{cn}.pem"
        path.write_bytes(_pem(key, cert))
        return str(path), cert.public_bytes(serialization.Encoding.PEM)

    yield url, str(tmp_path / "ca.pem"), client_cert
    process.terminate()
    process.wait(timeout=10)


def test_a_bound_certificate_opens_the_api_through_the_tls_proxy(tls_proxy, agent, commune):
    url, ca, client_cert = tls_proxy
    cert_path, cert_pem = client_cert("Agent Kerbihan")
    register_client_certificate(user=agent, organisation=commune, name="Poste", data=cert_pem)
    r = requests.get(f"{url}/api/test-connexion.php", cert=cert_path, verify=ca, timeout=10)
    assert (r.status_code, r.text) == (200, "OK")
    r = requests.get(f"{url}/admin/users/api-list-login.php", cert=cert_path, verify=ca, timeout=10)
    assert r.text == f"{agent.email}\n"


def test_the_bound_account_needs_its_certificate_even_with_its_key(tls_proxy, agent, commune):
    url, ca, client_cert = tls_proxy
    cert_path, cert_pem = client_cert("Agent Kerbihan")
    other_path, _ = client_cert("Autre poste")
    register_client_certificate(user=agent, organisation=commune, name="Poste", data=cert_pem)
    _, key = create_api_key(user=agent, organisation=commune, name="Pastell")
    auth = (agent.email, key)
    r = requests.get(f"{url}/api/test-connexion.php", auth=auth, verify=ca, timeout=10)
    assert r.status_code == 403
    r = requests.get(
        f"{url}/api/test-connexion.php", auth=auth, cert=other_path, verify=ca, timeout=10
    )
    assert r.status_code == 403
    r = requests.get(
        f"{url}/api/test-connexion.php", auth=auth, cert=cert_path, verify=ca, timeout=10
    )
    assert r.status_code == 200


def test_forged_headers_and_foreign_certificates_open_nothing(tls_proxy, agent, commune):
    url, ca, client_cert = tls_proxy
    _, cert_pem = client_cert("Agent Kerbihan")
    register_client_certificate(user=agent, organisation=commune, name="Poste", data=cert_pem)
    fingerprint = x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256()).hex()
    forged = {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-SHA256": fingerprint}
    r = requests.get(f"{url}/api/test-connexion.php", headers=forged, verify=ca, timeout=10)
    assert r.status_code == 401  # the proxy removed what the client claimed
    foreign_path, _ = client_cert("Usurpateur", trusted=False)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{url}/api/test-connexion.php", cert=foreign_path, verify=ca, timeout=10)
