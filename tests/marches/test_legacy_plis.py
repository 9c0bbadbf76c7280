"""Plis of format version 1 (one data key per file, deposits before the 2026-12 change): a
complete one still opens at the opening session; an incomplete one cannot be resumed (its
data key, sealed with the server's secret, was dropped) and says so (ADR 0004, cut-over)."""

import hashlib
import io
import os
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from emegalis.core import clock
from emegalis.marches import opening, pli_storage, plis
from emegalis.marches.models import OpenedFile, PliStatus
from tests.marches.test_opening import after_deadline
from tests.marches.test_plis import opened  # noqa: F401

CHUNK = 1024 * 1024


def seal_v1(data: bytes, opening_public_key: bytes) -> tuple[bytes, bytes]:
    """(header, chunks) in the version-1 layout (docs/plis-format.md before 2026-12)."""
    eph = X25519PrivateKey.generate()
    eph_public = eph.public_key().public_bytes_raw()
    shared = eph.exchange(X25519PublicKey.from_public_bytes(opening_public_key))
    kek = HKDF(
        hashes.SHA256(), 32, salt=eph_public + opening_public_key, info=b"e-megalis pli v1 key wrap"
    ).derive(shared)
    fixed = struct.pack(">8sBI32s", b"EMGPLI\r\n", 1, CHUNK, eph_public)
    data_key, wrap_nonce, prefix = os.urandom(32), os.urandom(12), os.urandom(7)
    header = fixed + wrap_nonce + AESGCM(kek).encrypt(wrap_nonce, data_key, fixed) + prefix
    pieces = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
    chunks = b"".join(
        AESGCM(data_key).encrypt(
            prefix + struct.pack(">IB", i, int(i == len(pieces) - 1)), piece, header
        )
        for i, piece in enumerate(pieces)
    )
    return header, chunks


def legacy_file(company_user, consultation, content: bytes, *, complete: bool):
    """A deposit turned into a version-1 file, as the migration leaves one."""
    pli = plis.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[plis.DeclaredFile(kind="offre", name="offre.pdf", size=len(content))],
    )
    f = pli.files.get()
    header, chunks = seal_v1(content, consultation.opening_commission.public_key_bytes)
    f.header, f.hash_state = header, None
    if complete:
        default_storage.save(pli_storage.segment_name(f, 0), ContentFile(chunks))
        f.received, f.sha256 = len(content), hashlib.sha256(content).hexdigest()
        pli.status, pli.completed_at = PliStatus.RECU, clock.now()
        pli.save(update_fields=["status", "completed_at"])
    f.save()
    return pli, f


def test_a_complete_version_1_pli_still_opens(company_user, opened, monkeypatch):  # noqa: F811
    consultation, shares = opened
    content = os.urandom(2 * CHUNK + 123)
    pli, f = legacy_file(company_user, consultation, content, complete=True)
    after_deadline(monkeypatch, consultation)
    members = [m.user for m in consultation.opening_commission.members.order_by("position")]
    opening.open_plis(
        actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
    )
    opened_file = OpenedFile.objects.get(pli_file=f)
    assert opened_file.intact, opened_file.error
    with default_storage.open(opened_file.content.name, "rb") as clear:
        assert clear.read() == content


def test_an_incomplete_version_1_deposit_asks_to_start_again(
    company_user,
    opened,  # noqa: F811
    client_for,
):
    consultation, _ = opened
    content = os.urandom(CHUNK + 5)
    pli, f = legacy_file(company_user, consultation, content, complete=False)
    with pytest.raises(ValidationError, match="recommencez le dépôt"):
        plis.receive(
            actor=company_user,
            pli_pk=pli.pk,
            file_pk=f.pk,
            offset=0,
            stream=io.BytesIO(content),
            length=len(content),
        )
    response = client_for(company_user).put(
        f"/marches/plis/{pli.pk}/fichiers/{f.pk}/",
        data=content,
        content_type="application/octet-stream",
        headers={"Upload-Offset": "0"},
    )
    assert response.status_code == 409 and "recommencez" in response.json()["detail"]
    f.refresh_from_db()
    assert f.received == 0
