"""The key ceremony: the buyer names the opening commission (n members, k needed), the
platform keeps only the public key, share commitments and each share encrypted to its
member's own key (made in their browser); each member collects their share once, and
afterwards no private key or share remains anywhere on the platform."""

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError

from emegalis.core import clock, sealing
from emegalis.core.models import JournalEntry
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.opening import services as opening_services
from emegalis.marches.opening.models import CommissionMember, OpeningCommission
from emegalis.organisations.roles import Role
from tests.factories import (
    MEMBER_KEYS,
    collect_share,
    give_member_key,
    make_commission_member,
    make_member,
)


@pytest.fixture
def members_a(commune_a):
    return [make_commission_member(commune_a) for _ in range(3)]


@pytest.fixture
def ceremony(make_consultation, buyer_a, members_a):
    """A published consultation of commune A with a 2-of-3 commission, shares not collected."""
    consultation = make_consultation(publish=False)
    commission = opening_services.create_opening_commission(
        actor=buyer_a, consultation=consultation, members=members_a, threshold=2
    )
    consultation = consultations_services.publish(actor=buyer_a, consultation=consultation)
    return consultation, commission


def collect_all(consultation, members) -> list[str]:
    return [collect_share(m, consultation.pk) for m in members]


def sealing_member_key() -> bytes:
    """A fresh P-256 public key, as a browser would send it."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from emegalis.marches.opening import member_side

    return member_side.public_key_bytes(ec.generate_private_key(ec.SECP256R1()))


def every_stored_value() -> list[bytes]:
    """Every value of every row of every table, as bytes (text in UTF-8)."""
    values: list[bytes] = []
    for model in apps.get_models():
        for row in model.objects.all().values():
            for value in row.values():
                if isinstance(value, memoryview | bytes | bytearray):
                    values.append(bytes(value))
                elif value is not None:
                    values.append(str(value).encode("utf-8", "replace"))
    return values


def every_stored_file(settings) -> list[bytes]:
    root = Path(settings.MEDIA_ROOT)
    return [p.read_bytes() for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_ceremony_stores_public_key_commitments_and_shares_encrypted_to_members(
    ceremony, members_a
):
    consultation, commission = ceremony
    assert commission.threshold == 2
    assert len(commission.public_key) == 64
    seats = list(commission.members.all())
    assert [s.user for s in seats] == members_a
    assert [s.position for s in seats] == [1, 2, 3]
    assert all(len(s.share_commitment) == 64 for s in seats)
    assert all(s.encrypted_share and not s.has_collected for s in seats)
    assert [s.member_key.user for s in seats] == members_a
    assert not commission.is_complete
    entry = JournalEntry.objects.get(action="marches.opening_commission.created")
    assert entry.payload["threshold"] == 2
    assert entry.payload["members"] == [m.email for m in members_a]
    assert entry.payload["public_key_sha256"] == commission.fingerprint


def test_each_member_collects_once_and_any_two_shares_rebuild_the_key(ceremony, members_a):
    consultation, commission = ceremony
    shares = collect_all(consultation, members_a)
    assert all(len(s.split()) == 33 for s in shares)
    commission.refresh_from_db()
    assert commission.is_complete
    for seat, share in zip(commission.members.all(), shares, strict=True):
        assert seat.encrypted_share is None and seat.has_collected
        assert sealing.verify_share(share, seat.share_commitment, commission.public_key_bytes)
    key = sealing.combine_shares(shares[1:], 2, commission.public_key_bytes)
    assert sealing.public_key_of(key) == commission.public_key_bytes
    with pytest.raises(sealing.ShareError, match="il en faut 2"):
        sealing.combine_shares(shares[:1], 2, commission.public_key_bytes)
    with pytest.raises(ValidationError, match="déjà été remise"):
        collect_share(members_a[0], consultation.pk)
    collected = JournalEntry.objects.filter(action="marches.opening_share.collected")
    assert collected.count() == 3
    assert [e.payload["all_collected"] for e in collected.order_by("id")] == [False, False, True]


def test_no_key_material_remains_after_the_ceremony(ceremony, members_a, settings):
    """Database (every table, every column, binary included) and storage: no share, no
    private key, in any form, once every member has collected their share."""
    consultation, commission = ceremony
    before = every_stored_value()
    shares = collect_all(consultation, members_a)
    private_key = sealing.combine_shares(shares, 2, commission.public_key_bytes)
    # Even while pending, the stored form of a share is encrypted, never the words.
    for needle in [*(s.encode() for s in shares), private_key, private_key.hex().encode()]:
        assert not any(needle in value for value in before)
    after = every_stored_value()
    files = every_stored_file(settings)
    needles = [private_key, private_key.hex().encode()]
    for share in shares:
        words = share.split()
        needles += [share.encode(), " ".join(words[:6]).encode(), "\n".join(words[:6]).encode()]
    for needle in needles:
        assert not any(needle in value for value in after)
        assert not any(needle in content for content in files)
    assert not CommissionMember.objects.filter(encrypted_share__isnull=False).exists()


def test_ceremony_refusals(make_consultation, buyer_a, buyer_b, members_a, commune_b):
    consultation = make_consultation(publish=False)
    with pytest.raises(ValidationError, match="entre 2 et 3"):
        opening_services.create_opening_commission(
            actor=buyer_a, consultation=consultation, members=members_a, threshold=4
        )
    with pytest.raises(ValidationError, match="entre 2 et 3"):
        opening_services.create_opening_commission(
            actor=buyer_a, consultation=consultation, members=members_a, threshold=1
        )
    with pytest.raises(ValidationError, match="Désignez entre 2"):
        opening_services.create_opening_commission(
            actor=buyer_a, consultation=consultation, members=members_a[:1], threshold=1
        )
    outsider = make_commission_member(commune_b)
    plain_buyer = make_member(consultation.organisation, Role.ACHETEUR)
    for intruder in (outsider, plain_buyer):
        with pytest.raises(ValidationError, match="Pas membre de la commission"):
            opening_services.create_opening_commission(
                actor=buyer_a,
                consultation=consultation,
                members=[*members_a[:2], intruder],
                threshold=2,
            )
    with pytest.raises(PermissionDenied):
        opening_services.create_opening_commission(
            actor=buyer_b, consultation=consultation, members=members_a, threshold=2
        )
    assert not OpeningCommission.objects.exists()
    opening_services.create_opening_commission(
        actor=buyer_a, consultation=consultation, members=members_a, threshold=2
    )
    with pytest.raises(ValidationError, match="déjà désignée"):
        opening_services.create_opening_commission(
            actor=buyer_a, consultation=consultation, members=members_a, threshold=2
        )


def test_no_ceremony_after_the_deadline(make_consultation, buyer_a, members_a, monkeypatch):
    consultation = make_consultation()
    later = consultation.bids_deadline + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(ValidationError, match="date limite"):
        opening_services.create_opening_commission(
            actor=buyer_a, consultation=consultation, members=members_a, threshold=2
        )


def test_only_the_member_collects_their_share(ceremony, buyer_a, company_user, members_a):
    consultation, commission = ceremony
    for someone in (buyer_a, company_user):
        with pytest.raises(PermissionDenied):
            opening_services.encrypted_share_of(actor=someone, consultation_pk=consultation.pk)
        seat = commission.members.get(user=members_a[0])
        with pytest.raises(PermissionDenied):
            opening_services.confirm_share_collected(
                actor=someone, consultation_pk=consultation.pk, commitment=seat.share_commitment
            )
    assert not CommissionMember.objects.filter(collected_at__isnull=False).exists()


def test_a_share_opens_with_its_members_key_only(ceremony, members_a):
    """Another member's key, or the server's secrets, do not open a share: it is encrypted
    to its member's key, made in their browser."""
    consultation, commission = ceremony
    encrypted = opening_services.encrypted_share_of(
        actor=members_a[0], consultation_pk=consultation.pk
    )
    with pytest.raises(sealing.IntegrityError):
        sealing.decrypt_share_as_member(
            encrypted.blob, MEMBER_KEYS[members_a[1].pk], encrypted.context
        )
    words = sealing.decrypt_share_as_member(
        encrypted.blob, MEMBER_KEYS[members_a[0].pk], encrypted.context
    )
    seat = commission.members.get(user=members_a[0])
    assert sealing.verify_share(words, seat.share_commitment, commission.public_key_bytes)
    # A wrong commitment (the browser opened nothing, or another share) records nothing.
    with pytest.raises(ValidationError, match="ne correspond pas"):
        opening_services.confirm_share_collected(
            actor=members_a[0], consultation_pk=consultation.pk, commitment="0" * 64
        )
    seat.refresh_from_db()
    assert not seat.has_collected and seat.encrypted_share


def test_a_member_without_a_key_cannot_be_named(make_consultation, buyer_a, commune_a, members_a):
    consultation = make_consultation(publish=False)
    keyless = make_member(commune_a, Role.COMMISSION)
    with pytest.raises(ValidationError, match="clé de membre") as refused:
        opening_services.create_opening_commission(
            actor=buyer_a, consultation=consultation, members=[*members_a[:2], keyless], threshold=2
        )
    assert keyless.email in str(refused.value)
    assert not OpeningCommission.objects.exists()


def test_member_keys_are_checked_and_replaced(members_a, buyer_a):
    member = members_a[0]
    first = opening_services.active_member_key(member)
    with pytest.raises(ValidationError, match="P-256"):
        opening_services.register_member_key(actor=member, public_key=b"\x04" + b"\x01" * 64)
    with pytest.raises(PermissionDenied):
        opening_services.register_member_key(actor=buyer_a, public_key=first.public_key_bytes)
    give_member_key(member)
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert opening_services.active_member_key(member) != first
    entry = JournalEntry.objects.filter(action="marches.member_key.registered").last()
    assert entry.payload["replaces"] == [first.fingerprint]


def test_a_member_who_lost_the_role_cannot_collect(ceremony, members_a):
    consultation, _ = ceremony
    members_a[0].memberships.update(is_active=False)
    with pytest.raises(PermissionDenied, match="n'est plus actif"):
        opening_services.encrypted_share_of(actor=members_a[0], consultation_pk=consultation.pk)


def test_members_are_told_by_email(
    make_consultation, buyer_a, members_a, mailoutbox, django_capture_on_commit_callbacks
):
    consultation = make_consultation(publish=False)
    with django_capture_on_commit_callbacks(execute=True):
        opening_services.create_opening_commission(
            actor=buyer_a, consultation=consultation, members=members_a, threshold=2
        )
    assert sorted(m.to[0] for m in mailoutbox) == sorted(m.email for m in members_a)
    assert f"/marches/commission/{consultation.pk}/part/" in mailoutbox[0].body
    assert "2 parts sur 3" in mailoutbox[0].body


# --- pages --------------------------------------------------------------------------------------


def test_buyer_names_the_commission_from_the_consultation_page(
    client_for, buyer_a, make_consultation, members_a
):
    consultation = make_consultation(publish=False)
    client = client_for(buyer_a)
    page = client.get(f"/marches/acheteur/{consultation.pk}/").content.decode()
    assert "Créer les clés d'ouverture" in page
    assert members_a[0].email in page
    url = f"/marches/acheteur/{consultation.pk}/commission/"
    response = client.post(url, {"members": [members_a[0].pk], "threshold": 2})
    assert response.status_code == 400
    assert "Désignez entre 2" in response.content.decode()
    response = client.post(url, {"members": [m.pk for m in members_a], "threshold": 2})
    assert response.status_code == 302
    page = client.get(f"/marches/acheteur/{consultation.pk}/").content.decode()
    commission = OpeningCommission.objects.get(consultation=consultation)
    assert commission.fingerprint in page
    assert "à retirer" in page
    assert "Créer les clés d'ouverture" not in page


def test_buyer_of_another_organisation_cannot_name_a_commission(
    client_for, buyer_b, make_consultation, members_a
):
    consultation = make_consultation(publish=False)
    client = client_for(buyer_b)
    url = f"/marches/acheteur/{consultation.pk}/commission/"
    response = client.post(url, {"members": [m.pk for m in members_a], "threshold": 2})
    assert response.status_code == 404
    assert not OpeningCommission.objects.exists()


def test_member_collects_the_share_once_on_the_page(client, login_verified, ceremony, members_a):
    """The page carries the share encrypted to the member's key (never the words); the
    browser opens it and sends back its commitment, which erases the platform's copy."""
    consultation, commission = ceremony
    login_verified(members_a[1])
    home = client.get("/marches/commission/").content.decode()
    assert consultation.reference in home and "à retirer" in home
    url = f"/marches/commission/{consultation.pk}/part/"
    response = client.get(url)
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "une seule fois" in page and "commission-key.js" in page
    seat = commission.members.get(user=members_a[1])
    assert base64.b64encode(bytes(seat.encrypted_share)).decode() in page
    words = sealing.decrypt_share_as_member(
        bytes(seat.encrypted_share),
        MEMBER_KEYS[members_a[1].pk],
        sealing.share_context(commission.public_key_bytes, seat.position),
    )
    assert " ".join(words.split()[:6]) not in page
    bad = client.post(url, json.dumps({"commitment": "f" * 64}), content_type="application/json")
    assert bad.status_code == 400 and "ne correspond pas" in bad.json()["detail"]
    commitment = sealing.share_commitment(words, commission.public_key_bytes)
    done = client.post(url, json.dumps({"commitment": commitment}), content_type="application/json")
    assert done.status_code == 200 and done.json()["all_collected"] is False
    seat.refresh_from_db()
    assert seat.has_collected and seat.encrypted_share is None
    again = client.post(
        url, json.dumps({"commitment": commitment}), content_type="application/json"
    )
    assert again.status_code == 409 and "déjà été remise" in again.json()["detail"]
    assert 'id="share-collected"' in client.get(url).content.decode()


def test_member_key_page_records_a_public_key(client, login_verified, members_a, buyer_a):
    member = members_a[2]
    login_verified(member)
    page = client.get("/marches/commission/cle/").content.decode()
    assert "commission-key.js" in page and "member-key-create" in page
    other = sealing_member_key()
    response = client.post(
        "/marches/commission/cle/",
        json.dumps({"public_key": other.hex()}),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert opening_services.active_member_key(member).public_key_bytes == other
    for body in ({"public_key": "zz"}, {"public_key": "04" + "00" * 64}, ["x"]):
        bad = client.post(
            "/marches/commission/cle/", json.dumps(body), content_type="application/json"
        )
        assert bad.status_code == 400 and bad.json()["detail"]
    assert opening_services.active_member_key(member).public_key_bytes == other


def test_the_key_page_is_for_commission_members_only(client_for, buyer_a, company_user):
    for user in (buyer_a, company_user):
        client = client_for(user)
        assert client.get("/marches/commission/cle/").status_code == 403
        response = client.post(
            "/marches/commission/cle/",
            json.dumps({"public_key": sealing_member_key().hex()}),
            content_type="application/json",
        )
        assert response.status_code == 403


def test_share_pages_need_the_second_factor(client, login, ceremony, members_a):
    consultation, commission = ceremony
    login(members_a[0])
    response = client.post(
        f"/marches/commission/{consultation.pk}/part/",
        json.dumps({"commitment": "0" * 64}),
        content_type="application/json",
    )
    assert response.status_code == 302
    assert "/compte/" in response["Location"]
    assert not commission.members.filter(collected_at__isnull=False).exists()


def test_nobody_else_reaches_a_members_share_page(
    client_for, client, login_verified, ceremony, buyer_a, company_user, commune_a
):
    consultation, commission = ceremony
    url = f"/marches/commission/{consultation.pk}/part/"
    for user in (buyer_a, company_user):
        client_for(user)
        assert client.get(url).status_code == 404
        assert client.post(url, "{}", content_type="application/json").status_code == 404
    other_member = make_commission_member(commune_a)
    login_verified(other_member)
    assert client.post(url, "{}", content_type="application/json").status_code == 404
    assert not commission.members.filter(collected_at__isnull=False).exists()


def test_the_buyer_dissolves_a_commission_before_any_pli_and_names_a_new_one(
    ceremony,
    members_a,
    buyer_a,
    buyer_b,
    commune_a,
    company_user,
    client_for,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    consultation, commission = ceremony
    old_fingerprint = commission.fingerprint
    collect_share(members_a[0], consultation.pk)
    with pytest.raises(ValidationError, match="pourquoi"):
        opening_services.dissolve_opening_commission(
            actor=buyer_a, consultation=consultation, reason=""
        )
    with pytest.raises(PermissionDenied):
        opening_services.dissolve_opening_commission(
            actor=buyer_b, consultation=consultation, reason="Membre parti sans sa part."
        )
    url = f"/marches/acheteur/{consultation.pk}/commission/dissoudre/"
    assert (
        client_for(buyer_b).post(url, {"reason": "Tentative d'un autre acheteur."}).status_code
        == 404
    )
    assert (
        client_for(company_user).post(url, {"reason": "Tentative d'une entreprise."}).status_code
        == 404
    )
    client = client_for(buyer_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {"reason": "Membre n° 3 parti en retraite avant de retirer sa part."},
        )
    assert response.status_code == 302
    assert not OpeningCommission.objects.filter(consultation=consultation).exists()
    assert sorted(m.to[0] for m in mailoutbox) == sorted(m.email for m in members_a)
    entry = JournalEntry.objects.get(action="marches.opening_commission.dissolved")
    assert entry.payload["public_key_sha256"] == old_fingerprint
    assert entry.payload["collected"] == [members_a[0].email]
    new = opening_services.create_opening_commission(
        actor=buyer_a, consultation=consultation, members=members_a[:2], threshold=2
    )
    assert new.fingerprint != old_fingerprint


def test_no_dissolution_once_a_pli_is_sealed_to_the_key(ceremony, members_a, buyer_a, company_user):
    from emegalis.marches.deposit import services as deposit_services

    consultation, _ = ceremony
    for member in members_a:
        collect_share(member, consultation.pk)
    consultation.refresh_from_db()
    deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name="o.pdf", size=1)],
    )
    with pytest.raises(ValidationError, match="Des plis ont déjà été chiffrés"):
        opening_services.dissolve_opening_commission(
            actor=buyer_a, consultation=consultation, reason="Membre parti sans sa part."
        )
    assert OpeningCommission.objects.filter(consultation=consultation).exists()
