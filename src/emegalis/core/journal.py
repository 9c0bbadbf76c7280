"""Writing to and verifying the hash-chained journal.

Each entry's hash covers its own fields and the previous entry's hash, so changing, removing
or reordering any entry breaks every hash after it. Services call `record()` inside their
own transaction: the event is journaled if and only if the change is committed.

Since ADR 0005 the hash is keyed (HMAC-SHA256 under the journal key, core/journal_key.py,
hash_version 2); older entries keep their plain SHA-256 (hash_version 1). Each committed entry
is also written to the head-witness log outside the database (core/witnesses.py), and the
actions of settings.JOURNAL_ANCHOR_AFTER_ACTIONS have the head timestamped right after them.
"""

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from . import clock, journal_key, witnesses
from .models import JournalEntry

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
PLAIN, KEYED = 1, 2  # JournalEntry.hash_version
# Arbitrary constant identifying the journal's PostgreSQL advisory lock.
_JOURNAL_LOCK_KEY = 0x6A6F75726E616C


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compute_entry_hash(entry: JournalEntry) -> str:
    fields = {
        "recorded_at": entry.recorded_at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "organisation_id": entry.organisation_id,
        "organisation_label": entry.organisation_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "payload_digest": entry.payload_digest,
        "previous_hash": entry.previous_hash,
    }
    if entry.hash_version == PLAIN:
        return digest(canonical_json(fields))
    if entry.hash_version == KEYED:
        fields["hash_version"] = KEYED
        fields["key_id"] = entry.key_id
        return journal_key.keyed_digest(journal_key.by_id(entry.key_id), canonical_json(fields))
    raise ValueError(f"Unknown journal hash version {entry.hash_version}")


def _lock_chain() -> None:
    """Serialise appends so two transactions never chain onto the same previous entry.

    SQLite already serialises writers (transactions are IMMEDIATE); PostgreSQL needs a lock
    held until the end of the transaction.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_JOURNAL_LOCK_KEY])


def record(
    *,
    action: str,
    actor=None,
    organisation=None,
    target=None,
    object_type: str = "",
    object_id: Any = "",
    payload: dict | None = None,
) -> JournalEntry:
    """Append one event to the journal. Must run inside the caller's transaction.

    `target`, a model instance, names the object the event is about by its model name and
    primary key; pass `object_type` and `object_id` instead where another name is wanted.
    """
    if target is not None:
        if object_type or object_id != "":
            raise TypeError("Pass either target or object_type and object_id, not both.")
        object_type, object_id = target._meta.model_name, target.pk
    payload = payload or {}
    # Round-trip through JSON so the stored payload is exactly what the digest covers.
    payload_text = canonical_json(payload)
    # No savepoint: an entry that fails fails its event, whose transaction rolls back whole.
    with transaction.atomic(savepoint=False):
        _lock_chain()
        last = JournalEntry.objects.order_by("-id").only("entry_hash").first()
        key_id, _key = journal_key.current()
        entry = JournalEntry(
            recorded_at=clock.now(),
            actor_id=getattr(actor, "pk", None),
            actor_label=str(getattr(actor, "email", "") or actor or "")[:255],
            organisation_id=getattr(organisation, "pk", None),
            organisation_label=str(organisation or "")[:255],
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            payload=json.loads(payload_text),
            payload_digest=digest(payload_text),
            previous_hash=last.entry_hash if last else GENESIS_HASH,
            hash_version=KEYED,
            key_id=key_id,
        )
        entry.entry_hash = compute_entry_hash(entry)
        entry.save()
        witnessed = (entry.pk, entry.entry_hash)
        transaction.on_commit(lambda: witnesses.log_head(*witnessed), robust=True)
        if action in getattr(settings, "JOURNAL_ANCHOR_AFTER_ACTIONS", ()):
            transaction.on_commit(_anchor_soon, robust=True)
    return entry


def _anchor_soon() -> None:
    """Queue a timestamp of the head (core.tasks): the event is committed already, and a
    timestamping authority that does not answer only delays the anchor, never the event."""
    from .tasks import anchor_journal_after_event

    try:
        anchor_journal_after_event.enqueue()
    except Exception:
        logger.exception("Anchoring of the journal after an event could not be queued")


@dataclass(frozen=True)
class Break:
    entry_id: int
    reason: str


def find_breaks(entries: Iterator[JournalEntry] | None = None) -> Iterator[Break]:
    """Walk the chain in order and yield every entry that does not verify."""
    if entries is None:
        entries = JournalEntry.objects.order_by("id").iterator(chunk_size=2000)
    previous_hash = GENESIS_HASH
    version = PLAIN
    for entry in entries:
        if entry.previous_hash != previous_hash:
            yield Break(entry.pk, "le chaînage avec l'entrée précédente est rompu")
        elif entry.hash_version < version:
            # Re-hashing with the plain SHA-256 needs no key: refused once the chain is keyed.
            yield Break(
                entry.pk, "entrée non scellée par la clé du journal après une entrée qui l'était"
            )
        elif digest(canonical_json(entry.payload)) != entry.payload_digest:
            yield Break(entry.pk, "le contenu ne correspond plus à son empreinte")
        else:
            try:
                expected = compute_entry_hash(entry)
            except journal_key.UnknownJournalKey:
                yield Break(entry.pk, "l'entrée est scellée par une clé du journal inconnue")
            except ValueError:
                yield Break(entry.pk, "version d'empreinte inconnue")
            else:
                if expected != entry.entry_hash:
                    yield Break(entry.pk, "l'empreinte de l'entrée ne correspond plus à ses champs")
        version = max(version, entry.hash_version)
        previous_hash = entry.entry_hash


def first_break() -> Break | None:
    return next(find_breaks(), None)
