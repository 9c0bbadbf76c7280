"""The operator's journal screen: filters, an entry, CSV export, background verification;
nobody else reaches it, by page or by export."""

import pytest
from django.db import connection

from emegalis.core import journal
from emegalis.core.models import JournalEntry, JournalVerification
from emegalis.organisations.roles import Role
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def _entries(commune_a, commune_b):
    with_a = journal.record(
        action="test.event_a", organisation=commune_a, object_type="dossier", object_id="7"
    )
    journal.record(action="test.event_b", organisation=commune_b, object_type="dossier")
    return with_a


def test_the_operator_filters_and_reads_an_entry(staff_client, commune_a, commune_b):
    entry = _entries(commune_a, commune_b)
    page = staff_client.get("/operateur/journal/").content.decode()
    assert "test.event_a" in page and "test.event_b" in page
    filtered = staff_client.get(
        "/operateur/journal/", {"organisation": commune_a.pk, "action": "test.event_a"}
    ).content.decode()
    table = filtered[filtered.index('id="journal"') :]
    assert "1 entrée." in filtered and "test.event_b" not in table
    by_object = staff_client.get(
        "/operateur/journal/", {"object_type": "dossier", "object_id": "7"}
    ).content.decode()
    assert "1 entrée." in by_object
    refused = staff_client.get(
        "/operateur/journal/", {"date_from": "2030-01-02", "date_to": "2030-01-01"}
    ).content.decode()
    assert "postérieure à la date de fin" in refused
    detail = staff_client.get(f"/operateur/journal/{entry.pk}/").content.decode()
    assert entry.entry_hash in detail and entry.previous_hash in detail
    assert staff_client.get("/operateur/journal/999999/").status_code == 404


def test_the_export_keeps_the_filters_and_neutralises_formulas(staff_client, commune_a, commune_b):
    _entries(commune_a, commune_b)
    journal.record(action="test.formula", object_type="=cmd|' /C calc'!A0")
    answer = staff_client.get("/operateur/journal/journal.csv", {"action": "test.event_a"})
    lines = b"".join(answer.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("Numéro;Horodatage (UTC);Acteur")
    assert len(lines) == 2 and "test.event_a" in lines[1]
    everything = b"".join(
        staff_client.get("/operateur/journal/journal.csv").streaming_content
    ).decode("utf-8-sig")
    assert ";'=cmd|" in everything


def test_the_chain_is_verified_in_the_background_and_a_break_is_shown(
    staff_client, commune_a, commune_b, django_capture_on_commit_callbacks
):
    _entries(commune_a, commune_b)
    with django_capture_on_commit_callbacks(execute=True):
        answer = staff_client.post("/operateur/journal/verifier/")
    verification = JournalVerification.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/operateur/journal/verifications/{verification.pk}/"
    page = staff_client.get(answer["Location"]).content.decode()
    assert "Journal intègre" in page and "chaînage intact" in page
    # An entry altered behind the platform's back (raw SQL, by someone able to switch the
    # PostgreSQL guard off first) is found by the next check.
    target = JournalEntry.objects.filter(action="test.event_b").get()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {JournalEntry._meta.db_table} DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE core_journalentry SET action = %s WHERE id = %s", ["test.forged", target.pk]
        )
    with django_capture_on_commit_callbacks(execute=True):
        answer = staff_client.post("/operateur/journal/verifier/")
    page = staff_client.get(answer["Location"]).content.decode()
    assert "Journal altéré" in page and f"n° {target.pk}" in page


def test_nobody_but_platform_staff_reaches_the_journal(client_for, commune_a, buyer_a):
    referent = make_member(commune_a, Role.REFERENT)
    entry = journal.record(action="test.event", organisation=commune_a)
    verification = JournalVerification.objects.create(
        requested_at=entry.recorded_at, requested_by_label="x"
    )
    for user in (referent, buyer_a):
        client = client_for(user)
        for url in (
            "/operateur/journal/",
            "/operateur/journal/journal.csv",
            f"/operateur/journal/{entry.pk}/",
            f"/operateur/journal/verifications/{verification.pk}/",
        ):
            assert client.get(url).status_code in (403, 404), url
        assert client.post("/operateur/journal/verifier/").status_code == 403
    assert JournalVerification.objects.count() == 1
