"""The attacker of issue 9, section 1: everything the server holds, plus its secrets, must not
open a sealed pli.

An outside tester copied the database files a minute after the shares of a commission were
collected and a pli deposited, found the shares (and a pli's data key) that the platform had
kept sealed with SECRET_KEY in old row versions (SQLite WAL, PostgreSQL dead tuples), unsealed
them with SECRET_KEY, rebuilt the opening key and decrypted the pli.

This test replays it. A scenario (attacker_scenario.py, in its own process, against a real
SQLite file or a real PostgreSQL database) names a 2-of-3 commission, has the shares collected
and deposits and confirms a pli. While that "server" still runs, the test copies what an
attacker with the server's disk and configuration gets: the database (SQLite: main file,
-wal, -shm as raw bytes; PostgreSQL: pg_dump plain and custom, every page of every relation
through pageinspect with the data of every line pointer, live or dead, and the WAL written
meanwhile), every file under the var dir (media, PKI), the settings (SECRET_KEY and its
fallbacks) and the logs. Then it tries every way the code offers (or offered) to get a share,
the opening private key or a data key:

a. text scan for SLIP-39 shares (33 consecutive words of the SLIP-39 wordlist);
b. the code's unseal helpers (server_secret.unseal, sealing.open_transient, and the v1
   derivation re-implemented here in case they are gone) with SECRET_KEY and each fallback,
   on blobs found next to each share commitment and each pli file header, with every
   context the old code used, built from the ids in the database rows;
c. every 32-byte window near a commitment, a header or the public key, as the X25519 opening
   private key and as the AES-256-GCM data key of the pli's chunks;
d. recombination of the shares found, and decryption of the pli against the receipt.

The test passes only if nothing opens. A canary (a row holding a value sealed the old way,
then set to NULL, exactly as the platform did) must be found and opened, so the test proves
that its copies and scans reach old row versions on each backend.

Run: ``.venv/bin/pytest tests/security -s`` (-s prints timings and where the canary was
found). The PostgreSQL variant runs when PostgreSQL answers on 127.0.0.1:5432 (user postgres,
trust authentication; it creates and drops a database attack_<random>); it is skipped
otherwise, or fails if EMEGALIS_REQUIRE_POSTGRES=1. When the sealing API changes, port
tests/security/scenario_steps.py only.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import importlib
import io
import itertools
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import shamir_mnemonic
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from shamir_mnemonic.wordlist import WORDLIST

HERE = Path(__file__).resolve().parent
PROJECT_DIR = HERE.parents[1]
SCENARIO = HERE / "attacker_scenario.py"
RESULT_MARKER = "ATTACKER-SCENARIO-RESULT "
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"

WINDOW = 512  # bytes searched on each side of a commitment, header or public key
TEXT_WINDOW = 4096  # the same around text forms (hex, base64), which take more room

# What the old code (today's) sealed with the server secret, and how (core/sealing.py,
# core/server_secret.py, marches/services.py, marches/plis.py): nonce (12) || AES-256-GCM
# (HKDF-SHA256(secret, info = TRANSIENT_INFO + context), plaintext, aad = context).
TRANSIENT_INFO = b"e-megalis transient v1\x00"
NONCE_SIZE, TAG_SIZE, KEY_SIZE = 12, 16, 32
SHARE_WORDS = 33  # a SLIP-39 share of a 256-bit secret
WORD_SET = frozenset(WORDLIST)
SHARE_TEXT_MIN = SHARE_WORDS * min(map(len, WORDLIST)) + SHARE_WORDS - 1
SHARE_TEXT_MAX = SHARE_WORDS * max(map(len, WORDLIST)) + SHARE_WORDS - 1
SHARE_BLOB_LENGTHS = range(
    NONCE_SIZE + SHARE_TEXT_MIN + TAG_SIZE, NONCE_SIZE + SHARE_TEXT_MAX + TAG_SIZE + 1
)
KEY_BLOB_LENGTH = NONCE_SIZE + KEY_SIZE + TAG_SIZE
SHARE_COMMITMENT_TAG = b"e-megalis opening share v1\x00"

# docs/plis-format.md, version 1: the header, then chunks of C + 16 bytes (last one shorter).
PLI_MAGIC = b"EMGPLI\r\n"
PLI_HEADER_SIZE = 112
# Version 2: a 29-byte file header, then segments: a 107-byte header (chunk count, first
# index, ephemeral key, wrap nonce, wrapped key, nonce prefix) and its chunks.
V2_HEADER_SIZE = 29
V2_SEGMENT_HEADER_SIZE = 107


# --- what the attacker copied ------------------------------------------------------------------


@dataclass
class Source:
    """Bytes the attacker holds, with a way to say where an offset lies in them."""

    label: str
    data: bytes
    where: Callable[[int], str] = lambda offset: f"at offset {offset}"

    def describe(self, offset: int) -> str:
        return f"{self.label} {self.where(offset)}"


@dataclass
class Canary:
    """A row sealed the old way then emptied, like the platform's pending shares and keys."""

    commitment: str
    header: bytes
    share: str
    data_key: bytes
    share_context: bytes
    key_context: bytes


@dataclass
class Loot:
    """What the copy gives: the sources, the database rows and the known secrets."""

    backend: str
    sources: list[Source]
    result: dict
    secrets: list[tuple[str, bytes]]
    commission_rows: list[dict]
    member_rows: list[dict]
    file_rows: list[dict]
    media: dict[str, bytes]
    canary: Canary

    @property
    def public_key(self) -> bytes:
        return bytes.fromhex(self.result["public_key"])

    @property
    def threshold(self) -> int:
        rows = [r for r in self.commission_rows if r.get("threshold")]
        return int(rows[0]["threshold"]) if rows else int(self.result["threshold"])


@dataclass
class Findings:
    """What the attacks obtained, with where and how; the canary's hits are kept apart."""

    found: list[str] = field(default_factory=list)
    canary: list[str] = field(default_factory=list)
    shares: dict[str, str] = field(default_factory=dict)  # words -> how it was obtained
    private_keys: dict[bytes, str] = field(default_factory=dict)
    data_keys: dict[bytes, str] = field(default_factory=dict)
    places: set[tuple[bytes, str]] = field(default_factory=set)


# --- the old code's transient sealing, and the helpers the code still offers --------------------


class Unsealers:
    """Every way to unseal a transient value: the code's own helpers while they exist, and
    today's derivation re-implemented (the attacker knows the old code)."""

    def __init__(self, server_secrets: list[tuple[str, bytes]]):
        self.secrets = server_secrets
        self._keys: dict[tuple[bytes, bytes], bytes] = {}
        self.helpers: list[tuple[str, Callable[[bytes, bytes], bytes]]] = []
        try:
            server_secret = importlib.import_module("emegalis.core.server_secret")
        except ImportError:
            server_secret = None
        if server_secret is not None and hasattr(server_secret, "unseal"):
            self.helpers.append(("server_secret.unseal", server_secret.unseal))
        sealing = importlib.import_module("emegalis.core.sealing")
        open_transient = getattr(sealing, "open_transient", None)
        for name, secret in server_secrets:
            if open_transient is not None:
                self.helpers.append(
                    (
                        f"sealing.open_transient with {name}",
                        lambda context, blob, s=secret: open_transient(s, context, blob),
                    )
                )
            self.helpers.append(
                (
                    f"open_transient v1 (re-implemented) with {name}",
                    lambda context, blob, s=secret: self.open_v1(s, context, blob),
                )
            )

    def key(self, secret: bytes, context: bytes) -> bytes:
        cached = self._keys.get((secret, context))
        if cached is None:
            cached = HKDF(
                algorithm=hashes.SHA256(),
                length=KEY_SIZE,
                salt=None,
                info=TRANSIENT_INFO + context,
            ).derive(secret)
            self._keys[(secret, context)] = cached
        return cached

    def open_v1(self, secret: bytes, context: bytes, blob: bytes) -> bytes:
        key = self.key(secret, context)
        return AESGCM(key).decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], context)

    def unseal(self, context: bytes, blob: bytes) -> tuple[bytes, list[str]] | None:
        """The plaintext and the names of the helpers that opened it, or None."""
        plaintext, names = None, []
        for name, helper in self.helpers:
            try:
                value = helper(context, blob)
            except Exception:  # noqa: BLE001 - any refusal means "not opened"
                continue
            plaintext = value
            names.append(name)
        return (plaintext, names) if names else None

    def printable_starts(self, window: bytes, context: bytes) -> list[int]:
        """Starts in ``window`` where a v1 blob of that context would begin with printable
        ASCII (a share is words): AES-CTR keystream of GCM's first block, all starts at once.
        Only those starts are then tried with every plausible length."""
        count = len(window) - NONCE_SIZE - 16 + 1
        if count <= 0:
            return []
        counters = b"".join(window[s : s + NONCE_SIZE] + b"\x00\x00\x00\x02" for s in range(count))
        bodies = b"".join(window[s + NONCE_SIZE : s + NONCE_SIZE + 16] for s in range(count))
        starts: set[int] = set()
        for _, secret in self.secrets:
            encryptor = Cipher(algorithms.AES(self.key(secret, context)), modes.ECB()).encryptor()
            stream = encryptor.update(counters)
            plain = (int.from_bytes(stream) ^ int.from_bytes(bodies)).to_bytes(len(bodies))
            for s in range(count):
                if not plain[16 * s : 16 * s + 16].translate(None, PRINTABLE):
                    starts.add(s)
        return sorted(starts)


PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\r\n"


# --- small helpers -------------------------------------------------------------------------------


def occurrences(data: bytes, needle: bytes) -> Iterator[int]:
    at = data.find(needle)
    while at != -1:
        yield at
        at = data.find(needle, at + 1)


HEX_RUN = re.compile(rb"(?:\\x)?([0-9a-fA-F]{40,})")
BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{40,}={0,2}")


def windows_around(data: bytes, at: int, size: int) -> list[tuple[int, bytes, str]]:
    """The raw window around ``at`` and the hex / base64 runs decoded near it (a dump or a
    log holds bytes as text): (offset of the window in data, bytes, form)."""
    start = max(0, at - WINDOW)
    found = [(start, data[start : at + size + WINDOW], "raw")]
    text_start = max(0, at - TEXT_WINDOW)
    text = data[text_start : at + size + TEXT_WINDOW]
    for match in HEX_RUN.finditer(text):
        digits = match.group(1)
        for shift in (0, 1):
            run = digits[shift:]
            run = run[: len(run) // 2 * 2]
            found.append((text_start + match.start(1), bytes.fromhex(run.decode()), "hex"))
    for match in BASE64_RUN.finditer(text):
        run = match.group()
        for shift in range(4):
            piece = run[shift:].rstrip(b"=")
            piece = piece[: len(piece) // 4 * 4]
            try:
                decoded = base64.b64decode(piece, validate=True)
            except ValueError:
                continue
            found.append((text_start + match.start(), decoded, "base64"))
    return found


def commitment_of(share: str, public_key: bytes) -> str:
    words = " ".join(share.lower().split())
    return hashlib.sha256(SHARE_COMMITMENT_TAG + public_key + words.encode("ascii")).hexdigest()


def share_position(loot: Loot, share: str) -> str:
    try:
        commitment = commitment_of(share, loot.public_key)
    except UnicodeEncodeError:
        return "a share matching no commitment"
    for row in loot.member_rows:
        if row.get("share_commitment") == commitment:
            return f"share of position {row.get('position')}"
    if commitment == loot.canary.commitment:
        return "canary share"
    return "a share matching no commitment"


def as_share(plaintext: bytes) -> str | None:
    try:
        text = plaintext.decode("ascii")
    except UnicodeDecodeError:
        return None
    words = text.lower().split()
    return " ".join(words) if len(words) == SHARE_WORDS and set(words) <= WORD_SET else None


def contexts(loot: Loot) -> tuple[list[bytes], list[bytes]]:
    """Every context the old code used, for every id found in the database rows."""
    commissions = {r["id"] for r in loot.commission_rows if "id" in r}
    commissions |= {r["commission_id"] for r in loot.member_rows if "commission_id" in r}
    positions = {r["position"] for r in loot.member_rows if "position" in r} or set(range(1, 4))
    users = {r["user_id"] for r in loot.member_rows if "user_id" in r}
    users |= set(loot.result["member_user_ids"])
    share_contexts = [
        f"opening-share:{c}:{p}:{u}".encode()
        for c, p, u in itertools.product(sorted(commissions), sorted(positions), sorted(users))
    ]
    plis_ = {r["pli_id"] for r in loot.file_rows if "pli_id" in r} | {loot.result["pli_id"]}
    files = {r["id"] for r in loot.file_rows if "id" in r} | set(loot.result["pli_file_ids"])
    key_contexts = [
        f"pli-file-key:{p}:{f}".encode() for p, f in itertools.product(sorted(plis_), sorted(files))
    ]
    return share_contexts, key_contexts


def needles(loot: Loot) -> dict[str, list[tuple[bytes, str]]]:
    """What the attacker looks for in the bytes, by kind: (needle, name)."""
    commitments = [
        (r["share_commitment"], f"commitment of position {r.get('position')}")
        for r in loot.member_rows
        if r.get("share_commitment")
    ]
    commitments.append((loot.canary.commitment, "canary commitment"))
    found: dict[str, list[tuple[bytes, str]]] = {"commitment": [], "header": [], "public key": []}
    for value, name in commitments:
        found["commitment"] += [
            (value.lower().encode(), name),
            (value.upper().encode(), name),
            (bytes.fromhex(value), name + " (raw)"),
        ]
    for row in loot.file_rows:
        if row.get("header"):
            found["header"].append((bytes(row["header"]), f"header of pli file {row.get('id')}"))
    found["header"].append((loot.canary.header, "canary header"))
    key = loot.public_key
    found["public key"] = [
        (key, "public key (raw)"),
        (key.hex().encode(), "public key (hex)"),
        (key.hex().upper().encode(), "public key (HEX)"),
    ]
    return found


def sealed_file(loot: Loot, row: dict) -> tuple[bytes, bytes] | None:
    """The header and the concatenated stored segments of a pli file, from the media copy."""
    prefix = f"marches/plis/{loot.result['consultation_id']}/{row['pli_id']}/{row['id']}/"
    names = sorted(name for name in loot.media if prefix in name)
    if not names or not row.get("header"):
        return None
    return bytes(row["header"]), b"".join(loot.media[name] for name in names)


def v1_chunks(header: bytes, body: bytes) -> list[bytes]:
    (chunk_size,) = struct.unpack(">I", header[9:13])
    step = chunk_size + TAG_SIZE
    return [body[i : i + step] for i in range(0, len(body), step)]


def v2_probes(header: bytes, body: bytes, file_id) -> list[tuple]:
    """(nonce, first sealed chunk, aad, label) of each segment of a version-2 file: a data key
    found anywhere would open its segment's first chunk."""
    (chunk_size,) = struct.unpack(">I", header[9:13])
    probes, at = [], 0
    while at + V2_SEGMENT_HEADER_SIZE <= len(body):
        segment = body[at : at + V2_SEGMENT_HEADER_SIZE]
        count, first = struct.unpack(">II", segment[:8])
        prefix = segment[100:107]
        chunks_at = at + V2_SEGMENT_HEADER_SIZE
        remaining = len(body) - chunks_at
        sizes = []
        for _ in range(max(count, 0)):
            size = min(chunk_size + TAG_SIZE, remaining - sum(sizes))
            sizes.append(size)
        if not sizes or sizes[0] < TAG_SIZE:
            break
        end = chunks_at + sum(sizes)
        last = end >= len(body) and len(sizes) == 1
        nonce = prefix + first.to_bytes(4, "big") + (b"\x01" if last else b"\x00")
        chunk = body[chunks_at : chunks_at + sizes[0]]
        probes.append((nonce, chunk, header + segment[4:], f"{file_id} (segment {first})"))
        at = end
    return probes


def v1_decrypt_with_data_key(header: bytes, body: bytes, data_key: bytes) -> bytes:
    """docs/plis-format.md, version 1, from the data key on."""
    prefix, pieces, aead = header[105:112], v1_chunks(header, body), AESGCM(data_key)
    return b"".join(
        aead.decrypt(
            prefix + i.to_bytes(4, "big") + (b"\x01" if i == len(pieces) - 1 else b"\x00"),
            piece,
            header,
        )
        for i, piece in enumerate(pieces)
    )


def open_pli_with_private_key(loot: Loot, private_key: bytes) -> list[str]:
    sealing = importlib.import_module("emegalis.core.sealing")
    opened = []
    for row in loot.file_rows:
        stored = sealed_file(loot, row)
        if stored is None:
            continue
        header, body = stored
        result = sealing.check_stream(io.BytesIO(header + body), private_key)
        if result.ok:
            same = result.sha256 == loot.result["receipt_sha256"]
            opened.append(
                f"pli opened: file {row['id']} decrypted, SHA-256 {result.sha256} "
                f"{'equals' if same else 'differs from'} the receipt's"
            )
    return opened


def open_pli_with_data_key(loot: Loot, data_key: bytes) -> list[str]:
    opened = []
    for row in loot.file_rows:
        stored = sealed_file(loot, row)
        if stored is None or not stored[0].startswith(PLI_MAGIC):
            continue
        try:
            plaintext = v1_decrypt_with_data_key(*stored, data_key)
        except Exception:  # noqa: BLE001
            continue
        digest = hashlib.sha256(plaintext).hexdigest()
        same = digest == loot.result["receipt_sha256"]
        opened.append(
            f"pli opened: file {row['id']} decrypted with the data key, SHA-256 {digest} "
            f"{'equals' if same else 'differs from'} the receipt's"
        )
    return opened


# --- the attacks ---------------------------------------------------------------------------------

WORD_RUN = re.compile(
    rb"(?:[A-Za-z]{4,8}[\s,;:\"'.\-0-9\[\]]{1,8}){%d,}[A-Za-z]{4,8}" % (SHARE_WORDS - 1)
)
LETTERS = re.compile(rb"[A-Za-z]+")


def attack_text_scan(loot: Loot, findings: Findings) -> None:
    """a. Any 33 consecutive SLIP-39 words anywhere, in any case."""
    for source in loot.sources:
        for match in WORD_RUN.finditer(source.data):
            tokens = [t.lower().decode() for t in LETTERS.findall(match.group())]
            for i in range(len(tokens) - SHARE_WORDS + 1):
                words = tokens[i : i + SHARE_WORDS]
                if not set(words) <= WORD_SET:
                    continue
                share = " ".join(words)
                try:
                    shamir_mnemonic.share.Share.from_mnemonic(share)
                    valid = "a valid SLIP-39 share"
                except Exception:  # noqa: BLE001
                    valid = "33 SLIP-39 words (checksum invalid)"
                what = share_position(loot, share)
                line = f"{what}: {valid} in clear in {source.describe(match.start())}"
                if what == "canary share":
                    findings.canary.append(line)
                else:
                    findings.found.append(line)
                    findings.shares.setdefault(share, line)
                break


def attack_unseal_helpers(loot: Loot, findings: Findings) -> None:
    """b. The unseal helpers, SECRET_KEY and fallbacks, on every blob next to a commitment or
    a header, every start, every plausible length, every context of the old code."""
    unsealers = Unsealers(loot.secrets)
    share_contexts, key_contexts = contexts(loot)
    tried: set[bytes] = set()
    tried_share_windows: set[bytes] = set()
    targets = needles(loot)
    for source in loot.sources:
        for kind in ("commitment", "header"):
            for needle, name in targets[kind]:
                for at in occurrences(source.data, needle):
                    for offset, window, form in windows_around(source.data, at, len(needle)):

                        def where(start, offset=offset, form=form, name=name, source=source):
                            return _where(source, offset, start, form, name)

                        if window not in tried_share_windows:
                            tried_share_windows.add(window)
                            _unseal_shares(loot, findings, unsealers, share_contexts, window, where)
                        _unseal_keys(loot, findings, unsealers, key_contexts, window, where, tried)


def _unseal_shares(loot, findings, unsealers, share_contexts, window, where) -> None:
    """Share blobs: the starts whose first block decrypts to text (see printable_starts),
    then every plausible length, with every helper."""
    for context in share_contexts:
        for start in unsealers.printable_starts(window, context):
            for length in SHARE_BLOB_LENGTHS:
                blob = window[start : start + length]
                if len(blob) < length:
                    break
                opened = unsealers.unseal(context, blob)
                if opened:
                    _record_unsealed(loot, findings, opened, context, where(start))
                    break


def _unseal_keys(loot, findings, unsealers, key_contexts, window, where, tried) -> None:
    """Data key blobs: every start, the one length, every helper (each blob tried once)."""
    for start in range(0, len(window) - KEY_BLOB_LENGTH + 1):
        blob = window[start : start + KEY_BLOB_LENGTH]
        if blob in tried:
            continue
        tried.add(blob)
        for context in key_contexts:
            opened = unsealers.unseal(context, blob)
            if opened:
                _record_unsealed(loot, findings, opened, context, where(start))


def _record_unsealed(loot, findings, opened, context, where) -> None:
    plaintext, helpers = opened
    # Windows around neighbouring rows overlap: one line per value and place.
    place = (plaintext, where.split(" (near the ")[0])
    if place in findings.places:
        return
    findings.places.add(place)
    how = f"{context.decode()!r} with {', '.join(helpers)}, from {where}"
    share = as_share(plaintext)
    if share is not None:
        what = "canary share" if share == loot.canary.share else share_position(loot, share)
        line = f"{what} unsealed: {how}"
        if share == loot.canary.share:
            findings.canary.append(line)
            return
        findings.shares.setdefault(share, line)
    elif len(plaintext) == KEY_SIZE:
        line = f"data key unsealed: {how}"
        if plaintext == loot.canary.data_key:
            findings.canary.append(line)
            return
        findings.data_keys.setdefault(plaintext, line)
    else:
        line = f"{len(plaintext)} bytes unsealed: {how}"
    findings.found.append(line)


def attack_raw_keys(loot: Loot, findings: Findings) -> None:
    """c. Every 32-byte window near a commitment, a header or the public key, as the opening
    private key and as a data key of the pli's chunks."""
    public_key = loot.public_key
    probes = []  # (AESGCM nonce, sealed chunk, aad, file id): the shortest chunk of each file
    for row in loot.file_rows:
        stored = sealed_file(loot, row)
        if stored is None or not stored[0].startswith(PLI_MAGIC):
            continue
        header, body = stored
        if header[8] == 2:  # version 2: a data key per segment
            probes += v2_probes(header, body, row["id"])
            continue
        pieces = v1_chunks(header, body)
        last = len(pieces) - 1
        nonce = header[105:112] + last.to_bytes(4, "big") + b"\x01"
        probes.append((nonce, pieces[last], header, row["id"]))
    # The attack must have chunks to try keys on (the pli's file was found in the media copy).
    assert probes, "attack c: no sealed chunk of the pli found in the media copy"
    tried: set[bytes] = set()
    targets = needles(loot)
    for source in loot.sources:
        for items in targets.values():
            for needle, name in items:
                for at in occurrences(source.data, needle):
                    for offset, window, form in windows_around(source.data, at, len(needle)):
                        for s in range(0, len(window) - KEY_SIZE + 1):
                            candidate = window[s : s + KEY_SIZE]
                            if candidate in tried:
                                continue
                            tried.add(candidate)
                            derived = X25519PrivateKey.from_private_bytes(candidate)
                            if derived.public_key().public_bytes_raw() == public_key:
                                here = _where(source, offset, s, form, name)
                                line = f"opening private key in clear in {here}"
                                findings.private_keys.setdefault(candidate, line)
                                findings.found.append(line)
                            for nonce, chunk, aad, file_id in probes:
                                try:
                                    AESGCM(candidate).decrypt(nonce, chunk, aad)
                                except Exception:  # noqa: BLE001
                                    continue
                                here = _where(source, offset, s, form, name)
                                line = f"data key of pli file {file_id} in clear in {here}"
                                findings.data_keys.setdefault(candidate, line)
                                findings.found.append(line)


def _where(source: Source, offset: int, start: int, form: str, name: str) -> str:
    """Where a blob found at ``start`` of a window (raw, or a decoded text run at ``offset``)
    lies in the source."""
    if form == "raw":
        return f"{source.describe(offset + start)} (near the {name})"
    return f"{source.describe(offset)} (a {form} run near the {name}, decoded byte {start})"


def attack_recombination(loot: Loot, findings: Findings) -> None:
    """d. k shares rebuild the opening key, which decrypts the pli (and any key found)."""
    sealing = importlib.import_module("emegalis.core.sealing")
    shares = list(findings.shares)
    if len(shares) >= loot.threshold:
        for combination in itertools.combinations(shares, loot.threshold):
            try:
                private_key = sealing.combine_shares(combination, loot.threshold, loot.public_key)
            except Exception as exc:  # noqa: BLE001
                findings.found.append(f"{loot.threshold} shares found do not combine: {exc}")
                continue
            findings.private_keys.setdefault(private_key, "rebuilt from the shares found")
            break
    for private_key, how in findings.private_keys.items():
        for line in open_pli_with_private_key(loot, private_key):
            findings.found.append(f"{line} (opening key {how})")
    for data_key, how in findings.data_keys.items():
        for line in open_pli_with_data_key(loot, data_key):
            findings.found.append(f"{line} (data key: {how})")


ATTACKS = [attack_text_scan, attack_unseal_helpers, attack_raw_keys, attack_recombination]


# --- the scenario and the copies -----------------------------------------------------------------


def postgres_answers() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            pass
        import psycopg

        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres"):
            return True
    except Exception:  # noqa: BLE001
        return False


class Scenario:
    """attacker_scenario.py in its own process; blocks after its result line until told."""

    def __init__(self, tmp: Path, database_url: str, secret: str, fallback: str):
        self.var_dir = tmp / "var"
        self.log_dir = tmp / "logs"
        self.var_dir.mkdir()
        self.log_dir.mkdir()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))},
            "DJANGO_SETTINGS_MODULE": "emegalis.settings",
            "SECRET_KEY": secret,
            "SECRET_KEY_FALLBACKS": fallback,
            "EMEGALIS_VAR_DIR": str(self.var_dir),
            "DATABASE_URL": database_url,
            # settings.LOGGING writes to the console: the process's stderr is the log file.
            "LOG_LEVEL": "DEBUG",
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "PYTHONPATH": os.pathsep.join([str(PROJECT_DIR), str(PROJECT_DIR / "src")]),
        }
        self.stdout_log = self.log_dir / "scenario.stdout.log"
        self.stderr_log = self.log_dir / "scenario.stderr.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> dict:
        self.stderr = self.stderr_log.open("wb")
        self.stdout = self.stdout_log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, str(SCENARIO)],
            cwd=PROJECT_DIR,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        for line in self.process.stdout:
            self.stdout.write(line)
            self.stdout.flush()
            if line.startswith(RESULT_MARKER.encode()):
                return json.loads(line[len(RESULT_MARKER) :])
        self.process.wait(timeout=30)
        raise AssertionError(
            f"the scenario ended without its result (exit {self.process.returncode}):\n"
            + self.stderr_log.read_text(errors="replace")[-4000:]
        )

    def finish(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                self.process.stdin.write(b"done\n")
                self.process.stdin.close()
            except OSError:
                pass
            self.stdout.write(self.process.stdout.read())
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stdout.close()
        self.stderr.close()
        self.process = None


def make_canary(loot_ids: dict, members: list[dict]) -> Canary:
    """A fake commitment beside a share sealed the old way with SECRET_KEY, and a fake header
    beside a data key sealed with the fallback, with contexts the attack tries."""
    first = members[0] if members else {}
    share_context = (
        f"opening-share:{first.get('commission_id', 1)}:{first.get('position', 1)}:"
        f"{first.get('user_id', loot_ids['member_user_ids'][0])}"
    ).encode()
    key_context = f"pli-file-key:{loot_ids['pli_id']}:{loot_ids['pli_file_ids'][0]}".encode()
    share = shamir_mnemonic.generate_mnemonics(1, [(2, 3)], secrets.token_bytes(32))[0][0]
    return Canary(
        commitment=secrets.token_hex(32),
        header=PLI_MAGIC + b"\x01" + secrets.token_bytes(PLI_HEADER_SIZE - 9),
        share=share,
        data_key=secrets.token_bytes(KEY_SIZE),
        share_context=share_context,
        key_context=key_context,
    )


def seal_v1(secret: bytes, context: bytes, plaintext: bytes) -> bytes:
    key = HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=TRANSIENT_INFO + context
    ).derive(secret)
    nonce = secrets.token_bytes(NONCE_SIZE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


CANARY_SQL = (
    "CREATE TABLE attack_canary (id integer PRIMARY KEY, commitment varchar(64), "
    "header {blob}, pending_share {blob}, pending_key {blob})"
)


def plant_canary(connection, blob_type: str, canary: Canary, server_secrets) -> None:
    """Insert then empty the sealed values (two transactions, like the platform)."""
    secret, fallback = server_secrets[0][1], server_secrets[-1][1]
    sealed_share = seal_v1(secret, canary.share_context, canary.share.encode("ascii"))
    sealed_key = seal_v1(fallback, canary.key_context, canary.data_key)
    cursor = connection.cursor()
    cursor.execute(CANARY_SQL.format(blob=blob_type))
    marker = "?" if isinstance(connection, sqlite3.Connection) else "%s"
    cursor.execute(
        f"INSERT INTO attack_canary VALUES (1, {marker}, {marker}, {marker}, {marker})",
        (canary.commitment, canary.header, sealed_share, sealed_key),
    )
    connection.commit()
    cursor.execute("UPDATE attack_canary SET pending_share = NULL, pending_key = NULL")
    connection.commit()


def files_under(root: Path, label: str, skip: Callable[[Path], bool] = lambda p: False):
    sources, media = [], {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not skip(p)):
        data = path.read_bytes()
        name = str(path.relative_to(root))
        sources.append(Source(f"{label}: {name}", data))
        media[name] = data
    return sources, media


def sqlite_where(name: str, data: bytes) -> Callable[[int], str]:
    if name.endswith("-wal") and len(data) >= 32:
        page_size = int.from_bytes(data[8:12], "big")

        def where(offset: int) -> str:
            frame = (offset - 32) // (24 + page_size)
            start = 32 + frame * (24 + page_size)
            page = int.from_bytes(data[start : start + 4], "big")
            return f"at offset {offset} (WAL frame {frame + 1}, page {page})"

        return where
    if name.endswith(".sqlite3") and len(data) >= 100:
        page_size = int.from_bytes(data[16:18], "big") or 65536
        return lambda offset: f"at offset {offset} (page {offset // page_size + 1})"
    return lambda offset: f"at offset {offset}"


def sqlite_rows(db_copy: Path, table: str) -> list[dict]:
    connection = sqlite3.connect(db_copy)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(f'SELECT * FROM "{table}"')]  # noqa: S608
    except sqlite3.OperationalError:
        return []
    finally:
        connection.close()


def settings_source(env: dict) -> Source:
    keys = ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "DATABASE_URL", "EMEGALIS_VAR_DIR")
    text = "\n".join(f"{k}={env[k]}" for k in keys)
    return Source("settings", text.encode())


def log_sources(scenario: Scenario) -> list[Source]:
    sources, _ = files_under(scenario.log_dir, "logs")
    return sources


def copy_sqlite(tmp: Path, secret: str, fallback: str) -> Loot:
    db_path = tmp / "var" / "emegalis.sqlite3"
    scenario = Scenario(tmp, f"sqlite:///{db_path}", secret, fallback)
    server_secrets = [
        ("SECRET_KEY", secret.encode()),
        ("SECRET_KEY_FALLBACKS[0]", fallback.encode()),
    ]
    try:
        result = scenario.start()
        members = _sqlite_members(tmp, db_path)
        canary = make_canary(result, members)
        canary_connection = sqlite3.connect(db_path, timeout=20)
        plant_canary(canary_connection, "blob", canary, server_secrets)
        # The copy, while the platform runs: every file under the var dir, raw.
        live_sources, media = files_under(scenario.var_dir, "var dir (live copy)")
        for source in live_sources:
            name = source.label.rsplit(": ", 1)[1]
            source.where = sqlite_where(name, source.data)
        db_files = {
            name: data for name, data in media.items() if name.startswith("emegalis.sqlite3")
        }
        canary_connection.close()
    finally:
        scenario.finish()
    # And again once the platform stopped (its last connection closed).
    after_sources, _ = files_under(
        scenario.var_dir, "var dir (after exit)", skip=lambda p: not p.name.startswith("emegalis")
    )
    for source in after_sources:
        source.where = sqlite_where(source.label.rsplit(": ", 1)[1], source.data)
    rows_dir = tmp / "rows"
    rows_dir.mkdir()
    for name, data in db_files.items():
        (rows_dir / name).write_bytes(data)
    rows_db = rows_dir / "emegalis.sqlite3"
    return Loot(
        backend="sqlite",
        sources=[
            *live_sources,
            *after_sources,
            settings_source(scenario.env),
            *log_sources(scenario),
        ],
        result=result,
        secrets=server_secrets,
        commission_rows=sqlite_rows(rows_db, "marches_openingcommission"),
        member_rows=sqlite_rows(rows_db, "marches_commissionmember"),
        file_rows=sqlite_rows(rows_db, "marches_plifile"),
        media={k.removeprefix("media/"): v for k, v in media.items() if k.startswith("media/")},
        canary=canary,
    )


def _sqlite_members(tmp: Path, db_path: Path) -> list[dict]:
    scratch = tmp / "members"
    scratch.mkdir()
    for suffix in ("", "-wal"):
        source = Path(f"{db_path}{suffix}")
        if source.exists():
            shutil.copyfile(source, scratch / (db_path.name + suffix))
    return sqlite_rows(scratch / db_path.name, "marches_commissionmember")


def pg_rows(connection, table: str) -> list[dict]:
    import psycopg

    try:
        with connection.cursor(row_factory=psycopg.rows.dict_row) as cursor:
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608
            return [dict(r) for r in cursor.fetchall()]
    except psycopg.errors.UndefinedTable:
        connection.rollback()
        return []


def pageinspect_sources(connection) -> list[Source]:
    """Every page of every relation with storage (tables, TOAST, indexes' raw pages too), and
    the data of every line pointer of the heap ones, live or dead."""
    sources = []
    cursor = connection.cursor()
    cursor.execute(
        "SELECT c.oid::regclass::text, c.relkind, pg_relation_size(c.oid) / "
        "current_setting('block_size')::int FROM pg_class c "
        "WHERE c.relkind IN ('r', 't', 'm', 'i') AND c.relpersistence <> 't'"
    )
    for relation, kind, blocks in cursor.fetchall():
        if not blocks:
            continue
        cursor.execute(
            "SELECT b, get_raw_page(%s, b::int) FROM generate_series(0, %s - 1) b",
            (relation, blocks),
        )
        pages = cursor.fetchall()
        raw = b"".join(bytes(page) for _, page in pages)
        sources.append(
            Source(
                f"pageinspect raw pages of {relation}",
                raw,
                lambda offset: f"in block {offset // 8192} at byte {offset % 8192}",
            )
        )
        if kind not in ("r", "t", "m"):
            continue
        cursor.execute(
            "SELECT b, i.lp, i.lp_flags, i.t_xmax, i.t_data FROM generate_series(0, %s - 1) b, "
            "heap_page_items(get_raw_page(%s, b::int)) i WHERE i.t_data IS NOT NULL",
            (blocks, relation),
        )
        items, starts, labels, at = [], [], [], 0
        for block, lp, _flags, xmax, data in cursor.fetchall():
            starts.append(at)
            state = "dead or updated" if xmax and str(xmax) != "0" else "live"
            labels.append(f"block {block} lp {lp} ({state}, xmax {xmax})")
            items.append(bytes(data) + b"\x00" * 8)
            at += len(items[-1])
        if items:
            sources.append(
                Source(
                    f"pageinspect t_data of {relation}",
                    b"".join(items),
                    lambda offset, s=starts, names=labels: (
                        f"in {names[bisect.bisect_right(s, offset) - 1]}, byte "
                        f"{offset - s[bisect.bisect_right(s, offset) - 1]}"
                    ),
                )
            )
    return sources


def wal_sources(admin, start_lsn: str, max_segments: int = 24) -> list[Source]:
    """The WAL segments written since the scenario started (what a WAL archive keeps)."""
    cursor = admin.cursor()
    cursor.execute(
        "SELECT pg_walfile_name(%s), pg_walfile_name(pg_current_wal_lsn())", (start_lsn,)
    )
    first, last = cursor.fetchone()
    timeline, a, b = first[:8], int(first[8:16], 16), int(first[16:], 16)
    end = (int(last[8:16], 16), int(last[16:], 16))
    names = []
    while (a, b) <= end:
        names.append(f"{timeline}{a:08X}{b:08X}")
        b += 1
        if b > 0xFF:
            a, b = a + 1, 0
    sources = []
    for name in names[-max_segments:]:
        try:
            cursor.execute("SELECT pg_read_binary_file(%s)", (f"pg_wal/{name}",))
            sources.append(Source(f"pg_wal/{name}", bytes(cursor.fetchone()[0])))
        except Exception:  # noqa: BLE001 - recycled meanwhile
            admin.rollback()
    return sources


def copy_postgres(tmp: Path, secret: str, fallback: str) -> Loot:
    import psycopg

    dbname = f"attack_{secrets.token_hex(6)}"
    server_secrets = [
        ("SECRET_KEY", secret.encode()),
        ("SECRET_KEY_FALLBACKS[0]", fallback.encode()),
    ]
    admin = psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    )
    admin.execute(f'CREATE DATABASE "{dbname}"')
    scenario = None
    try:
        start_lsn = admin.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
        url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"
        scenario = Scenario(tmp, url, secret, fallback)
        result = scenario.start()
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname) as conn:
            members = pg_rows(conn, "marches_commissionmember")
            canary = make_canary(result, members)
            plant_canary(conn, "bytea", canary, server_secrets)
            conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
            conn.commit()
            # The copy, while the platform runs.
            sources = pageinspect_sources(conn)
            commission_rows = pg_rows(conn, "marches_openingcommission")
            file_rows = pg_rows(conn, "marches_plifile")
        dump_env = {**os.environ, "PGHOST": PG_HOST, "PGPORT": str(PG_PORT), "PGUSER": PG_USER}
        for fmt in ("plain", "custom"):
            dumped = subprocess.run(
                ["pg_dump", f"--format={fmt}", dbname],
                env=dump_env,
                capture_output=True,
                check=True,
            ).stdout
            sources.append(Source(f"pg_dump --format={fmt}", dumped))
        sources += wal_sources(admin, start_lsn)
        var_sources, media = files_under(scenario.var_dir, "var dir")
    finally:
        if scenario is not None:
            scenario.finish()
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.close()
    return Loot(
        backend="postgresql",
        sources=[*sources, *var_sources, settings_source(scenario.env), *log_sources(scenario)],
        result=result,
        secrets=server_secrets,
        commission_rows=commission_rows,
        member_rows=members,
        file_rows=file_rows,
        media={k.removeprefix("media/"): v for k, v in media.items() if k.startswith("media/")},
        canary=canary,
    )


# --- the test ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_server_secrets_and_copies_open_no_sealed_pli(backend, tmp_path, settings):
    if backend == "postgresql" and not postgres_answers():
        if os.environ.get("EMEGALIS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL does not answer on {PG_HOST}:{PG_PORT}")
        pytest.skip(f"PostgreSQL does not answer on {PG_HOST}:{PG_PORT}")
    secret, fallback = secrets.token_urlsafe(50), secrets.token_urlsafe(50)
    started = time.monotonic()
    copy = copy_sqlite if backend == "sqlite" else copy_postgres
    loot = copy(tmp_path, secret, fallback)
    copied = time.monotonic()
    # The code's own helpers read the settings: the attacker has the server's configuration.
    settings.SECRET_KEY = secret
    settings.SECRET_KEY_FALLBACKS = [fallback]
    findings = Findings()
    timings = []
    for attack in ATTACKS:
        before = time.monotonic()
        attack(loot, findings)
        timings.append(f"{attack.__name__} {time.monotonic() - before:.1f}s")
    total = sum(len(s.data) for s in loot.sources)
    print(
        f"[{backend}] scenario and copy {copied - started:.1f}s, {len(loot.sources)} sources, "
        f"{total / 2**20:.1f} MiB; " + ", ".join(timings)
    )
    for line in dict.fromkeys(findings.canary):
        print(f"[{backend}] canary reached: {line}")
    share_canary = [line for line in findings.canary if "canary share" in line]
    key_canary = [line for line in findings.canary if "data key" in line]
    assert share_canary and key_canary, (
        f"[{backend}] the attack did not reach the canary (an old row version holding values "
        f"sealed the old way): share {share_canary}, data key {key_canary}"
    )
    assert not findings.found, f"[{backend}] the attacker obtained:\n" + "\n".join(
        f"- {line}" for line in dict.fromkeys(findings.found)
    )
