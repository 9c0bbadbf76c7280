"""Sealing in the retired format v1, for the tests that read legacy plis."""

import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SMALL = 64  # a small chunk size keeps multi-chunk tests fast


def seal_version_1(data: bytes, public_key: bytes, chunk_size: int = SMALL) -> bytes:
    """A version-1 file built from the layout in docs/plis-format.md (deposits before
    2026-12), to show such files still open."""
    eph = X25519PrivateKey.generate()
    eph_public = eph.public_key().public_bytes_raw()
    shared = eph.exchange(X25519PublicKey.from_public_bytes(public_key))
    kek = HKDF(
        hashes.SHA256(), 32, salt=eph_public + public_key, info=b"e-megalis pli v1 key wrap"
    ).derive(shared)
    fixed = struct.pack(">8sBI32s", b"EMGPLI\r\n", 1, chunk_size, eph_public)
    data_key, wrap_nonce, prefix = os.urandom(32), os.urandom(12), os.urandom(7)
    header = fixed + wrap_nonce + AESGCM(kek).encrypt(wrap_nonce, data_key, fixed) + prefix
    pieces = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] or [b""]
    return header + b"".join(
        AESGCM(data_key).encrypt(
            prefix + struct.pack(">IB", i, int(i == len(pieces) - 1)), piece, header
        )
        for i, piece in enumerate(pieces)
    )
