"""The journal key: the secret that keys each entry's hash (HMAC-SHA256), kept outside the
database (ADR 0005).

Someone who can only write to the database (a stolen database password, an SQL injection, a
restored and edited backup) can change an entry but cannot compute the keyed hashes that the
rest of the chain would need. The key is independent of SECRET_KEY, so that rotating one never
touches the other.

Where it comes from, in order:
- ``JOURNAL_KEY`` (environment): production, the same value on every server;
- else the file ``JOURNAL_KEY_FILE`` (default ``VAR_DIR/journal/journal.key``, 32 random
  bytes), created on first use: the development, demo and test set-up needs no manual step.

Rotation: give the new value in ``JOURNAL_KEY`` and move the old one to
``JOURNAL_KEY_FALLBACKS`` (comma-separated). Each entry names its key by ``key_id`` (a
fingerprint that reveals nothing of the key), so older entries still verify as long as their
key is kept. A lost key leaves its entries unverifiable: keep it with the other secrets.
"""

import base64
import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

from django.conf import settings

_LOCK = threading.Lock()
_file_keys: dict[Path, bytes] = {}


class UnknownJournalKey(LookupError):
    pass


def key_path() -> Path:
    return Path(
        getattr(settings, "JOURNAL_KEY_FILE", "") or settings.VAR_DIR / "journal" / "journal.key"
    )


def _file_key() -> bytes:
    path = key_path()
    with _LOCK:
        if path in _file_keys:
            return _file_keys[path]
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            temporary = path.with_name(f".journal.key.{os.getpid()}.{threading.get_ident()}")
            temporary.write_bytes(base64.b64encode(secrets.token_bytes(32)) + b"\n")
            os.chmod(temporary, 0o600)
            try:
                # link() fails if another process created the key meanwhile: keep theirs.
                os.link(temporary, path)
            except FileExistsError:
                pass
            finally:
                temporary.unlink()
        key = base64.b64decode(path.read_bytes().strip())
        _file_keys[path] = key
        return key


def _from_setting(value: str) -> bytes:
    return value.strip().encode("utf-8")


def key_id_of(key: bytes) -> str:
    return hashlib.sha256(b"e-megalis journal key id\x00" + key).hexdigest()[:16]


def current() -> tuple[str, bytes]:
    """(key_id, key) that new entries are keyed with."""
    configured = getattr(settings, "JOURNAL_KEY", "")
    key = _from_setting(configured) if configured else _file_key()
    return key_id_of(key), key


def by_id(key_id: str) -> bytes:
    """The key an entry names; UnknownJournalKey when it is neither the current key nor a
    fallback (the entry was forged, or its key was lost)."""
    candidates = [current()[1]]
    candidates += [
        _from_setting(value)
        for value in getattr(settings, "JOURNAL_KEY_FALLBACKS", [])
        if value.strip()
    ]
    if getattr(settings, "JOURNAL_KEY", "") and key_path().exists():
        candidates.append(_file_key())  # entries keyed from the file before JOURNAL_KEY was set
    for key in candidates:
        if hmac.compare_digest(key_id_of(key), key_id):
            return key
    raise UnknownJournalKey(key_id)


def keyed_digest(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
