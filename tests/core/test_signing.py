"""PAdES signature with an RFC 3161 timestamp (core/signing.py), the local test PKI and the
local TSA endpoint."""

import io

import pytest
from asn1crypto import algos, tsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from emegalis.core import signing
from emegalis.core.pdf import DocumentBuilder, extract_text

# Signing reads the journal head and records the document as its witness.
pytestmark = pytest.mark.django_db


def validate(pdf: bytes):
    """Validate the only signature of the PDF against the local root."""
    pki = signing.local_pki()
    reader = PdfFileReader(io.BytesIO(pdf))
    assert len(reader.embedded_signatures) == 1
    context = ValidationContext(trust_roots=[pki.root], allow_fetching=False)
    # Through the async API: a test thread may already run an event loop (Playwright).
    return signing.run_async(
        lambda: async_validate_pdf_signature(
            reader.embedded_signatures[0],
            signer_validation_context=context,
            ts_validation_context=context,
        )
    )


def a_pdf(text: str = "Accusé de réception") -> bytes:
    doc = DocumentBuilder(title="Essai")
    doc.paragraph(text)
    return doc.build()


def test_signed_pdf_is_pades_with_a_trusted_timestamp():
    signed = signing.sign_pdf(a_pdf(), reason="Essai de signature")
    status = validate(signed)
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.valid and status.timestamp_validity.trusted
    reader = PdfFileReader(io.BytesIO(signed))
    sig = reader.embedded_signatures[0]
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert "Accusé de réception" in extract_text(signed)


def test_a_changed_byte_breaks_the_signature():
    signed = bytearray(signing.sign_pdf(a_pdf("Montant : 1 000 €"), reason="Signature"))
    position = signed.index(b"(Essai)")  # the document title, inside the signed byte range
    signed[position + 1 : position + 6] = b"Autre"
    status = validate(bytes(signed))
    assert not status.intact and not status.bottom_line


def test_local_pki_is_created_once_and_reused(settings, tmp_path):
    settings.SIGNING_LOCAL_PKI_DIR = tmp_path / "pki"
    first = signing.local_pki()
    assert (tmp_path / "pki" / "tsa-key.pem").exists()
    signing._cache.clear()
    again = signing.local_pki()
    assert again.root.dump() == first.root.dump()
    assert oct((tmp_path / "pki" / "signer-key.pem").stat().st_mode & 0o777) == "0o600"


def _request(data: bytes = b"document") -> bytes:
    import hashlib

    return tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": hashlib.sha256(data).digest(),
            },
            "nonce": 12345,
            "cert_req": True,
        }
    ).dump()


@pytest.mark.django_db
def test_local_tsa_answers_rfc_3161_requests(client):
    response = client.post(
        "/horodatage/", data=_request(), content_type="application/timestamp-query"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/timestamp-reply"
    answer = tsp.TimeStampResp.load(response.content)
    assert answer["status"]["status"].native == "granted"
    info = answer["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["nonce"].native == 12345


@pytest.mark.django_db
def test_local_tsa_refusals(client, settings):
    assert client.get("/horodatage/").status_code == 405
    bad_type = client.post("/horodatage/", data=b"x", content_type="application/octet-stream")
    assert bad_type.status_code == 415
    garbage = client.post("/horodatage/", data=b"x", content_type="application/timestamp-query")
    assert garbage.status_code == 400
    settings.SIGNING_LOCAL_TSA = False
    off = client.post("/horodatage/", data=_request(), content_type="application/timestamp-query")
    assert off.status_code == 404


def test_a_configured_tsa_url_is_used(settings, live_server):
    """The HTTP client speaks RFC 3161 to a TSA URL (here the local TSA over real HTTP)."""
    settings.SIGNING_TSA_URL = f"{live_server.url}/horodatage/"
    stamper = signing.timestamper()
    assert isinstance(stamper, signing.UrlTimeStamper)
    status = validate(signing.sign_pdf(a_pdf(), reason="Essai"))
    assert status.timestamp_validity.valid and status.timestamp_validity.trusted


def test_signing_works_inside_a_running_event_loop(monkeypatch):
    """Playwright's sync API (and ASGI servers) run a loop in the thread: still signs. Signing
    reads the journal's head, so the thread must allow Django's database calls there, as the
    browser tests do (tests/e2e/conftest.py)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    import asyncio
    import concurrent.futures

    async def inside():
        signed = signing.sign_pdf(a_pdf(), reason="Essai")
        return validate(signed)

    # In a thread of its own: the test thread itself may already run a loop (Playwright).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        status = executor.submit(lambda: asyncio.run(inside())).result()
    assert status.intact


def test_the_room_for_the_signature_is_sized_once_then_reused(monkeypatch):
    """One timestamp per document once the room is known (pyHanko would otherwise request a
    draft timestamp before each signature); a container that outgrows it is sized again."""
    signing._RESERVED.clear()
    tokens = []
    real = signing.timestamper

    def counting():
        stamper = real()
        request = stamper.async_request_tsa_response

        async def counted(req):
            tokens.append(1)
            return await request(req)

        stamper.async_request_tsa_response = counted
        return stamper

    monkeypatch.setattr(signing, "timestamper", counting)
    first = signing.sign_pdf(a_pdf(), reason="Premier")
    assert len(tokens) == 2  # the draft, then the real one
    room = signing._RESERVED[signing._identity()]
    second = signing.sign_pdf(a_pdf("Deuxième"), reason="Deuxième")
    assert len(tokens) == 3
    for signed in (first, second):
        assert validate(signed).bottom_line
    # Too little room (e.g. a longer certificate chain since): signed anyway, sized again.
    signing._RESERVED[signing._identity()] = 64
    assert validate(signing.sign_pdf(a_pdf(), reason="Encore")).bottom_line
    assert abs(signing._RESERVED[signing._identity()] - room) < room // 10
