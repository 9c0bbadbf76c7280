"""Writing to and verifying the hash-chained journal.

Each entry's hash covers its own fields and the previous entry's hash, so changing, removing
or reordering any entry breaks every hash after it. Services call `record()` inside their
own transaction: the event is journaled if and only if the change is committed.
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from . import clock
from .models import JournalEntry

GENESIS_HASH = "0" * 64
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
    return digest(canonical_json(fields))


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
    with transaction.atomic():
        _lock_chain()
        last = JournalEntry.objects.order_by("-id").only("entry_hash").first()
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
        )
        entry.entry_hash = compute_entry_hash(entry)
        entry.save()
    return entry


@dataclass(frozen=True)
class Break:
    entry_id: int
    reason: str


def find_breaks(entries: Iterator[JournalEntry] | None = None) -> Iterator[Break]:
    """Walk the chain in order and yield every entry that does not verify."""
    if entries is None:
        entries = JournalEntry.objects.order_by("id").iterator(chunk_size=2000)
    previous_hash = GENESIS_HASH
    for entry in entries:
        if entry.previous_hash != previous_hash:
            yield Break(entry.pk, "le chaînage avec l'entrée précédente est rompu")
        elif digest(canonical_json(entry.payload)) != entry.payload_digest:
            yield Break(entry.pk, "le contenu ne correspond plus à son empreinte")
        elif compute_entry_hash(entry) != entry.entry_hash:
            yield Break(entry.pk, "l'empreinte de l'entrée ne correspond plus à ses champs")
        previous_hash = entry.entry_hash


def first_break() -> Break | None:
    return next(find_breaks(), None)
