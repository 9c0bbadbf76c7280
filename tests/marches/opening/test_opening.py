"""The opening session: after the deadline only, with k valid shares; every file decrypted
and checked against its receipt; a tampered chunk is an integrity failure, not a crash; the
PV lists plis, times, late deposits and checks. Refusals are journaled."""

import hashlib
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage

from emegalis.core import clock
from emegalis.core.models import JournalEntry
from emegalis.core.pdf import extract_text
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit import storage
from emegalis.marches.opening import services as opening_services
from emegalis.marches.opening.models import OpenedFile, OpeningSession
from tests.marches.helpers import after_deadline, deposit, offer_bytes

MiB = 1024 * 1024


def test_two_of_three_open_the_plis_and_the_pv_lists_them(
    opened,  # noqa: F811
    members,
    company_user,
    company_b_user,  # noqa: F811
    monkeypatch,
):
    consultation, shares = opened
    content_a = offer_bytes(2 * MiB + 5)
    pli_a = deposit(company_user, consultation, content_a, name="offre-a.pdf")
    pli_b = deposit(company_b_user, consultation, b"offre B", name="offre-b.pdf")
    late = deposit_services.start_deposit(
        actor=company_b_user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name="tardive.pdf", size=3)],
    )
    import io

    deposit_services.receive(
        actor=company_b_user,
        pli_pk=late.pk,
        file_pk=late.files.get().pk,
        offset=0,
        stream=io.BytesIO(b"abc"),
        length=3,
    )
    after_deadline(monkeypatch, consultation, 1)
    late = deposit_services.complete_deposit(actor=company_b_user, pli_pk=late.pk)
    after_deadline(monkeypatch, consultation, 3600)
    session = opening_services.open_plis(
        actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 3: shares[2]}
    )
    opened_a = OpenedFile.objects.get(pli_file__pli=pli_a)
    assert opened_a.intact and opened_a.sha256 == hashlib.sha256(content_a).hexdigest()
    assert opened_a.content.read() == content_a
    opened_b = OpenedFile.objects.get(pli_file__pli=pli_b)
    assert opened_b.content.read() == b"offre B"
    assert not OpenedFile.objects.filter(pli_file__pli=late).exists()  # late: not opened
    pv = session.pv.read()
    text = extract_text(pv)
    for expected in (
        "Procès-verbal d'ouverture",
        "Armor Bâtiment",
        "Breizh Nettoyage",
        f"Pli n° {pli_a.pk}",
        f"Pli n° {late.pk}",
        "hors délai",
        "SHA-256 conforme",
        hashlib.sha256(content_a).hexdigest(),
        "Part 1",
        "Part 3",
    ):
        assert expected in text, expected
    from tests.core.test_signing import validate

    assert validate(pv).intact
    entry = JournalEntry.objects.get(action="marches.opening.done")
    assert entry.payload["shares"] == [1, 3]
    assert entry.payload["late_plis"] == [late.pk]
    with pytest.raises(ValidationError, match="déjà été ouverts"):
        opening_services.open_plis(
            actor=members[1], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
        )


def test_opening_before_the_deadline_is_refused_and_journaled(opened, members, monkeypatch):  # noqa: F811
    consultation, shares = opened
    monkeypatch.setattr(clock, "now", lambda: consultation.bids_deadline)
    with pytest.raises(ValidationError, match="date limite"):
        opening_services.open_plis(
            actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
        )
    refusal = JournalEntry.objects.get(action="marches.opening.refused")
    assert refusal.payload["reason"] == "before_deadline"
    assert not OpeningSession.objects.exists()


def test_k_minus_one_shares_are_refused_and_journaled(opened, members, monkeypatch):  # noqa: F811
    consultation, shares = opened
    after_deadline(monkeypatch, consultation)
    with pytest.raises(ValidationError, match="1 part\\(s\\) valide\\(s\\), il en faut 2"):
        opening_services.open_plis(
            actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0]}
        )
    # A share given under another member's number does not count either.
    with pytest.raises(ValidationError, match="non reconnue"):
        opening_services.open_plis(
            actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[2]}
        )
    refusals = JournalEntry.objects.filter(action="marches.opening.refused").order_by("id")
    assert [r.payload["reason"] for r in refusals] == ["too_few_shares", "too_few_shares"]
    assert refusals[1].payload["rejected"] == [2]
    assert not OpeningSession.objects.exists()


def test_a_tampered_chunk_is_an_integrity_failure_for_that_file_only(
    opened,  # noqa: F811
    members,
    company_user,
    company_b_user,  # noqa: F811
    monkeypatch,
):
    consultation, shares = opened
    pli_a = deposit(company_user, consultation, offer_bytes(3 * MiB), name="offre-a.pdf")
    pli_b = deposit(company_b_user, consultation, b"offre B intacte")
    tampered = pli_a.files.get()
    name, at = storage.locate_chunk(tampered, 1)
    path = Path(default_storage.path(name))
    data = bytearray(path.read_bytes())
    data[at + 100] ^= 0xFF
    path.write_bytes(bytes(data))
    after_deadline(monkeypatch, consultation)
    session = opening_services.open_plis(
        actor=members[1], consultation_pk=consultation.pk, shares={2: shares[1], 3: shares[2]}
    )
    failed = OpenedFile.objects.get(pli_file=tampered)
    assert not failed.intact and "Bloc 1" in failed.error and not failed.content
    assert not default_storage.exists(f"marches/ouverts/{consultation.pk}/{pli_a.pk}/{tampered.pk}")
    assert OpenedFile.objects.get(pli_file__pli=pli_b).intact
    text = extract_text(session.pv.read())
    assert "ANOMALIE D'INTÉGRITÉ" in text and "Bloc 1" in text
    entry = JournalEntry.objects.get(action="marches.opening.done")
    assert entry.payload["integrity_failures"] == [tampered.pk]


def test_a_missing_stored_chunk_is_an_integrity_failure(
    opened,  # noqa: F811
    members,
    company_user,
    monkeypatch,
):
    consultation, shares = opened
    pli = deposit(company_user, consultation, offer_bytes(2 * MiB + 1))
    name, at = storage.locate_chunk(pli.files.get(), 2)
    path = Path(default_storage.path(name))
    path.write_bytes(path.read_bytes()[:at])  # the last chunk is gone
    after_deadline(monkeypatch, consultation)
    opening_services.open_plis(
        actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
    )
    assert not OpenedFile.objects.get().intact


def test_only_commission_members_open(
    opened,  # noqa: F811
    buyer_a,
    company_user,
    monkeypatch,
):
    consultation, shares = opened
    after_deadline(monkeypatch, consultation)
    for someone in (buyer_a, company_user):
        with pytest.raises(PermissionDenied):
            opening_services.open_plis(
                actor=someone, consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
            )
    assert not OpeningSession.objects.exists()


def test_opening_pages(
    client,
    login_verified,
    client_for,
    opened,  # noqa: F811
    members,
    company_user,
    buyer_a,
    buyer_b,
    monkeypatch,
):
    consultation, shares = opened
    content = offer_bytes(MiB + 9)
    pli = deposit(company_user, consultation, content, name="offre.pdf")
    url = f"/marches/commission/{consultation.pk}/ouverture/"
    login_verified(members[0])
    assert "après la date limite" in client.get(url).content.decode()
    after_deadline(monkeypatch, consultation)
    page = client.get(url).content.decode()
    assert 'id="opening-form"' in page and "Part n° 3" in page
    refused = client.post(url, {"share_1": shares[0]})
    assert refused.status_code == 400
    assert "il en faut 2" in refused.content.decode()
    # shares never echoed back: no run of six of the share's words appears (a single mnemonic
    # word such as "center" can occur in the page's markup by chance)
    assert " ".join(shares[0].split()[3:9]) not in refused.content.decode()
    done = client.post(url, {"share_1": shares[0], "share_2": shares[1]})
    assert done.status_code == 302
    page = client.get(url).content.decode()
    assert "intègre (SHA-256 conforme)" in page
    pv = client.get(f"/marches/acheteur/{consultation.pk}/pv-ouverture.pdf")
    assert pv.status_code == 200
    assert "Armor Bâtiment" in extract_text(b"".join(pv.streaming_content))
    opened_file = OpenedFile.objects.get(pli_file__pli=pli)
    file_url = f"/marches/acheteur/{consultation.pk}/ouverts/{opened_file.pk}/"
    client_for(buyer_a)
    assert b"".join(client.get(file_url).streaming_content) == content
    detail = client.get(f"/marches/acheteur/{consultation.pk}/").content.decode()
    assert "pv-ouverture.pdf" in detail
    for outsider in (buyer_b, company_user):
        client_for(outsider)
        assert client.get(file_url).status_code == 404
        assert (
            client.get(f"/marches/acheteur/{consultation.pk}/pv-ouverture.pdf").status_code == 404
        )
        assert client.get(url).status_code == 404


def test_before_opening_no_role_gets_plaintext_through_the_platform(
    client,
    client_for,
    login_verified,
    opened,  # noqa: F811
    members,
    company_user,
    buyer_a,
    staff,
    django_user_model,
):
    """Buyer, commission member, platform staff and a Django superuser: no page serves a
    pli's content before the opening session (and the admin has no pli model)."""
    from django.contrib import admin

    from emegalis.marches.deposit.models import Pli, PliFile

    consultation, _ = opened
    deposit(company_user, consultation, offer_bytes(4096), name="offre.pdf")
    superuser = django_user_model.objects.create_superuser(email="root@example.test", password="x")
    assert Pli not in admin.site._registry and PliFile not in admin.site._registry
    paths = [
        f"/marches/acheteur/{consultation.pk}/pv-ouverture.pdf",
        f"/marches/acheteur/{consultation.pk}/ouverts/1/",
    ]
    for user, log_in in (
        (buyer_a, client_for),
        (members[0], login_verified),
        (staff, login_verified),
        (superuser, login_verified),
    ):
        log_in(user)
        for path in paths:
            assert client.get(path).status_code == 404, (user, path)
        page = client.get(f"/marches/acheteur/{consultation.pk}/depots/")
        assert b"PRIX-UNITAIRE" not in page.content
