"""Sealing of plis (core/sealing.py): shares, key wrap, STREAM chunks, tampering, and the
documented format read back by an independent decryptor written from docs/plis-format.md."""

import hashlib
import io
import os
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from emegalis.core import sealing

SMALL = 64  # a small chunk size keeps multi-chunk tests fast


@pytest.fixture(scope="module")
def keys():
    return sealing.generate_opening_key_pair()


def seal(data: bytes, public_key: bytes, chunk_size: int = SMALL) -> bytes:
    out = io.BytesIO()
    result = sealing.seal_stream(io.BytesIO(data), out, public_key, chunk_size)
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.sealed_size == len(out.getvalue()) == sealing.sealed_size(len(data), chunk_size)
    return out.getvalue()


def test_key_pair_is_x25519_raw(keys):
    assert len(keys.private_key) == len(keys.public_key) == 32
    assert sealing.public_key_of(keys.private_key) == keys.public_key
    assert "BEGIN PUBLIC KEY" in sealing.public_key_pem(keys.public_key)
    assert len(sealing.public_key_fingerprint(keys.public_key)) == 64


@pytest.mark.parametrize("size", [0, 1, SMALL - 1, SMALL, SMALL + 1, 3 * SMALL, 5 * SMALL + 7])
def test_round_trip_at_every_chunk_boundary(keys, size):
    data = os.urandom(size)
    sealed = seal(data, keys.public_key)
    assert size < 16 or data not in sealed
    assert b"".join(sealing.open_stream(io.BytesIO(sealed), keys.private_key)) == data
    result = sealing.check_stream(io.BytesIO(sealed), keys.private_key)
    assert result.ok and result.size == size
    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_default_chunk_size_is_one_mebibyte(keys):
    data = os.urandom(sealing.CHUNK_SIZE + 10)
    sealed = seal(data, keys.public_key, sealing.CHUNK_SIZE)
    header = sealing.FileHeader.from_bytes(sealed)
    assert header.chunk_size == 1024 * 1024
    assert len(sealed) == sealing.HEADER_SIZE + len(data) + 2 * sealing.TAG_SIZE


def test_same_plaintext_seals_differently(keys):
    data = b"offre identique" * 10
    assert seal(data, keys.public_key) != seal(data, keys.public_key)


def test_wrong_private_key_cannot_open(keys):
    sealed = seal(b"prix : 1 234 567 EUR HT", keys.public_key)
    other = sealing.generate_opening_key_pair()
    result = sealing.check_stream(io.BytesIO(sealed), other.private_key)
    assert not result.ok and result.sha256 is None
    assert "clé" in result.error


def _chunks(sealed: bytes, chunk_size: int = SMALL):
    body = sealed[sealing.HEADER_SIZE :]
    step = chunk_size + sealing.TAG_SIZE
    return sealed[: sealing.HEADER_SIZE], [body[i : i + step] for i in range(0, len(body), step)]


def test_flipped_byte_in_a_chunk_is_reported_for_that_chunk(keys):
    data = os.urandom(4 * SMALL + 3)
    sealed = bytearray(seal(data, keys.public_key))
    sealed[sealing.HEADER_SIZE + 2 * (SMALL + 16) + 5] ^= 0x01
    out = io.BytesIO()
    result = sealing.check_stream(io.BytesIO(bytes(sealed)), keys.private_key, out)
    assert not result.ok
    assert result.chunk == 2
    assert "Bloc 2" in result.error
    assert out.getvalue() == data[: 2 * SMALL]  # only authenticated chunks were released


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda h, c: h + b"".join(c[:-1]), id="last-chunk-dropped"),
        pytest.param(lambda h, c: h + b"".join([c[1], c[0], *c[2:]]), id="chunks-swapped"),
        pytest.param(lambda h, c: h + b"".join([c[0], c[0], *c[1:]]), id="chunk-duplicated"),
        pytest.param(lambda h, c: h + b"".join(c) + c[0], id="chunk-appended"),
        pytest.param(lambda h, c: h + b"".join(c)[:-1], id="one-byte-cut"),
        pytest.param(lambda h, c: h, id="no-chunk-at-all"),
        pytest.param(lambda h, c: h[:-1] + bytes([h[-1] ^ 1]) + b"".join(c), id="nonce-prefix"),
    ],
)
def test_truncation_reordering_and_header_changes_are_detected(keys, mutate):
    data = os.urandom(3 * SMALL + 9)
    header, chunks = _chunks(seal(data, keys.public_key))
    assert len(chunks) == 4
    result = sealing.check_stream(io.BytesIO(mutate(header, chunks)), keys.private_key)
    assert not result.ok
    assert result.sha256 is None


def test_truncation_exactly_at_a_chunk_boundary_is_detected(keys):
    data = os.urandom(4 * SMALL)  # the last chunk is full: only its flag marks it as last
    header, chunks = _chunks(seal(data, keys.public_key))
    result = sealing.check_stream(io.BytesIO(header + b"".join(chunks[:3])), keys.private_key)
    assert not result.ok and result.chunk == 2


def test_not_a_sealed_file_is_a_format_error(keys):
    result = sealing.check_stream(io.BytesIO(b"%PDF-1.7 en clair" * 20), keys.private_key)
    assert not result.ok and "pli scellé" in result.error
    with pytest.raises(sealing.FormatError):
        sealing.FileHeader.from_bytes(b"EMG")


def test_only_the_last_chunk_may_be_short(keys):
    header, key = sealing.new_file_header(keys.public_key, SMALL)
    with pytest.raises(ValueError):
        sealing.seal_chunk(header, key, 0, b"court", last=False)
    with pytest.raises(ValueError):
        sealing.seal_chunk(header, key, 0, b"x" * (SMALL + 1), last=True)


def test_chunks_sealed_separately_form_a_valid_file(keys):
    """The upload path seals chunk by chunk, across requests, with the same header and key."""
    header, key = sealing.new_file_header(keys.public_key, SMALL)
    data = os.urandom(2 * SMALL + 1)
    parts = [data[:SMALL], data[SMALL : 2 * SMALL], data[2 * SMALL :]]
    sealed = header.to_bytes() + b"".join(
        sealing.seal_chunk(header, key, i, p, last=i == 2) for i, p in enumerate(parts)
    )
    assert sealing.check_stream(io.BytesIO(sealed), keys.private_key).sha256 == (
        hashlib.sha256(data).hexdigest()
    )


# --- shares ---------------------------------------------------------------------------------


def test_any_k_of_n_shares_rebuild_the_key(keys):
    shares = sealing.split_private_key(keys.private_key, 2, 3)
    assert len(shares) == 3 and len(set(shares)) == 3
    assert all(len(s.split()) == 33 for s in shares)
    for pair in [(0, 1), (1, 2), (2, 0)]:
        chosen = [shares[i] for i in pair]
        assert sealing.combine_shares(chosen, 2, keys.public_key) == keys.private_key


def test_three_of_five(keys):
    shares = sealing.split_private_key(keys.private_key, 3, 5)
    assert sealing.combine_shares(shares[2:], 3, keys.public_key) == keys.private_key
    with pytest.raises(sealing.ShareError, match="il en faut 3"):
        sealing.combine_shares(shares[:2], 3, keys.public_key)


def test_k_minus_one_shares_are_refused(keys):
    shares = sealing.split_private_key(keys.private_key, 2, 3)
    with pytest.raises(sealing.ShareError, match="il en faut 2"):
        sealing.combine_shares([shares[0]], 2, keys.public_key)
    with pytest.raises(sealing.ShareError, match="il en faut 2"):
        sealing.combine_shares([shares[0], shares[0].upper()], 2, keys.public_key)


def test_a_mistyped_share_is_refused(keys):
    shares = sealing.split_private_key(keys.private_key, 2, 3)
    words = shares[1].split()
    words[10] = "academic" if words[10] != "academic" else "acid"
    with pytest.raises(sealing.ShareError, match="Parts invalides"):
        sealing.combine_shares([shares[0], " ".join(words)], 2, keys.public_key)


def test_shares_of_another_consultation_are_refused(keys):
    other = sealing.generate_opening_key_pair()
    foreign = sealing.split_private_key(other.private_key, 2, 3)
    with pytest.raises(sealing.ShareError, match="cette consultation"):
        sealing.combine_shares(foreign[:2], 2, keys.public_key)


def test_share_commitment_recognises_its_share_only(keys):
    shares = sealing.split_private_key(keys.private_key, 2, 3)
    commitments = [sealing.share_commitment(s, keys.public_key) for s in shares]
    assert len(set(commitments)) == 3
    typed = "\n".join(f"{i + 1}. {w.upper()}" for i, w in enumerate(shares[0].split()))
    assert sealing.verify_share(typed, commitments[0], keys.public_key)
    assert not sealing.verify_share(shares[1], commitments[0], keys.public_key)
    other = sealing.generate_opening_key_pair()
    assert not sealing.verify_share(shares[0], commitments[0], other.public_key)
    assert not sealing.verify_share("clé ça", commitments[0], keys.public_key)
    for share, commitment in zip(shares, commitments, strict=True):
        assert share.encode() not in commitment.encode()


@pytest.mark.parametrize("k,n", [(0, 3), (4, 3), (1, 3), (2, 17)])
def test_bad_thresholds_are_refused(keys, k, n):
    with pytest.raises(ValueError):
        sealing.split_private_key(keys.private_key, k, n)


# --- the documented format, read by an independent decryptor ----------------------------------


def independent_decrypt(sealed: bytes, private_key: bytes) -> bytes:
    """Written from docs/plis-format.md only, with the `cryptography` primitives."""
    assert sealed[:8] == b"EMGPLI\r\n" and sealed[8] == 1
    (chunk_size,) = struct.unpack(">I", sealed[9:13])
    eph = sealed[13:45]
    wrap_nonce, wrapped, prefix = sealed[45:57], sealed[57:105], sealed[105:112]
    header = sealed[:112]
    priv = X25519PrivateKey.from_private_bytes(private_key)
    recipient = priv.public_key().public_bytes_raw()
    shared = priv.exchange(X25519PublicKey.from_public_bytes(eph))
    kek = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=eph + recipient,
        info=b"e-megalis pli v1 key wrap",
    ).derive(shared)
    data_key = AESGCM(kek).decrypt(wrap_nonce, wrapped, header[:45])
    body = sealed[112:]
    step = chunk_size + 16
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    out = []
    for counter, chunk in enumerate(chunks):
        last = counter == len(chunks) - 1
        nonce = prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")
        out.append(AESGCM(data_key).decrypt(nonce, chunk, header))
    return b"".join(out)


@pytest.mark.parametrize("size", [0, 10, 2 * 1024 * 1024, 2 * 1024 * 1024 + 1])
def test_documented_format_decrypts_independently(keys, size):
    data = os.urandom(size)
    sealed = seal(data, keys.public_key, sealing.CHUNK_SIZE)
    assert independent_decrypt(sealed, keys.private_key) == data


def test_the_decryptor_printed_in_the_format_doc_works(keys):
    """The Python block of docs/plis-format.md, run as printed."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "plis-format.md").read_text(encoding="utf-8")
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "plis-format.md", "exec"), namespace)  # noqa: S102
    data = os.urandom(sealing.CHUNK_SIZE + 3)
    sealed = seal(data, keys.public_key, sealing.CHUNK_SIZE)
    assert namespace["decrypt"](sealed, keys.private_key) == data


def test_transient_sealing_is_bound_to_secret_and_context():
    sealed = sealing.seal_transient(b"secret", b"consultation:1:member:2", b"part")
    assert b"part" not in sealed
    assert sealing.open_transient(b"secret", b"consultation:1:member:2", sealed) == b"part"
    with pytest.raises(sealing.IntegrityError):
        sealing.open_transient(b"other", b"consultation:1:member:2", sealed)
    with pytest.raises(sealing.IntegrityError):
        sealing.open_transient(b"secret", b"consultation:1:member:3", sealed)
