"""Anchoring the journal head with an RFC 3161 token: a chain rewritten consistently from the
start passes the hash-chain check but not the anchor check."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from emegalis.core import anchoring, journal
from emegalis.core.models import JournalAnchor, JournalEntry


def _fill(n: int) -> list[JournalEntry]:
    return [
        journal.record(action="test.event", object_type="thing", object_id=i, payload={"i": i})
        for i in range(n)
    ]


def _rewrite_whole_chain(new_payload_for_id: int) -> None:
    """What someone with write access to the database could do: change one entry, then
    recompute every hash after it so that the chain verifies again."""
    table = JournalEntry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        previous = journal.GENESIS_HASH
        for entry in JournalEntry.objects.order_by("id"):
            if entry.pk == new_payload_for_id:
                entry.payload = {"i": 999}
                entry.payload_digest = journal.digest(journal.canonical_json(entry.payload))
            entry.previous_hash = previous
            entry.entry_hash = journal.compute_entry_hash(entry)
            cursor.execute(
                f"UPDATE {table} SET payload = %s, payload_digest = %s, previous_hash = %s, "
                "entry_hash = %s WHERE id = %s",
                [
                    journal.canonical_json(entry.payload),
                    entry.payload_digest,
                    entry.previous_hash,
                    entry.entry_hash,
                    entry.pk,
                ],
            )
            previous = entry.entry_hash


@pytest.mark.django_db
def test_anchor_the_head_once_and_verify(capsys):
    entries = _fill(3)
    anchor = anchoring.anchor_head()
    assert anchor.entry_id == entries[-1].pk and anchor.entry_hash == entries[-1].entry_hash
    assert anchor.entries == JournalEntry.objects.count()
    assert anchoring.anchor_head() is None  # head already anchored
    assert anchoring.check_anchor(anchor) is None
    call_command("verify_journal")
    assert "1 ancrage(s) horodaté(s)" in capsys.readouterr().out


@pytest.mark.django_db
def test_a_consistently_rewritten_chain_is_caught_by_the_anchor():
    entries = _fill(4)
    anchoring.anchor_head()
    _rewrite_whole_chain(entries[1].pk)
    assert journal.first_break() is None  # the chain alone no longer sees it
    with pytest.raises(CommandError, match="journal réécrit"):
        call_command("verify_journal")


@pytest.mark.django_db
def test_a_forged_token_is_refused():
    _fill(2)
    anchor = anchoring.anchor_head()
    token = bytearray(bytes(anchor.token))
    token[-40] ^= 0xFF  # inside the authority's signature
    JournalAnchor.objects.filter(pk=anchor.pk).update(token=bytes(token))
    anchor.refresh_from_db()
    assert anchoring.check_anchor(anchor) is not None


@pytest.mark.django_db
def test_anchors_are_append_only():
    _fill(1)
    anchor = anchoring.anchor_head()
    with pytest.raises(PermissionError):
        anchor.save()
    with pytest.raises(PermissionError):
        anchor.delete()


@pytest.mark.django_db
def test_anchor_command(capsys):
    call_command("anchor_journal")
    assert "Rien à ancrer" in capsys.readouterr().out
    _fill(2)
    call_command("anchor_journal")
    assert "ancrée (2 entrées)" in capsys.readouterr().out
