"""The key ceremony: the buyer names the opening commission (n members, k needed), the
platform keeps only the public key and share commitments, each member collects their share
once, and afterwards no private key or share remains anywhere on the platform."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError

from emegalis.core import clock, sealing
from emegalis.core.models import JournalEntry
from emegalis.marches import services
from emegalis.marches.models import CommissionMember, OpeningCommission
from emegalis.organisations.roles import Role
from tests.factories import make_member


@pytest.fixture
def members_a(commune_a):
    return [make_member(commune_a, Role.COMMISSION) for _ in range(3)]


@pytest.fixture
def ceremony(make_consultation, buyer_a, members_a):
    """A published consultation of commune A with a 2-of-3 commission, shares not collected."""
    consultation = make_consultation(publish=False)
    commission = services.create_opening_commission(
        actor=buyer_a, consultation=consultation, members=members_a, threshold=2
    )
    consultation = services.publish(actor=buyer_a, consultation=consultation)
    return consultation, commission


def collect_all(consultation, members) -> list[str]:
    return [
        services.collect_opening_share(actor=m, consultation_pk=consultation.pk)[1] for m in members
    ]


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


def test_ceremony_stores_public_key_commitments_and_sealed_pending_shares(ceremony, members_a):
    consultation, commission = ceremony
    assert commission.threshold == 2
    assert len(commission.public_key) == 64
    seats = list(commission.members.all())
    assert [s.user for s in seats] == members_a
    assert [s.position for s in seats] == [1, 2, 3]
    assert all(len(s.share_commitment) == 64 for s in seats)
    assert all(s.pending_share and not s.has_collected for s in seats)
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
        assert seat.pending_share is None and seat.has_collected
        assert sealing.verify_share(share, seat.share_commitment, commission.public_key_bytes)
    key = sealing.combine_shares(shares[1:], 2, commission.public_key_bytes)
    assert sealing.public_key_of(key) == commission.public_key_bytes
    with pytest.raises(sealing.ShareError, match="il en faut 2"):
        sealing.combine_shares(shares[:1], 2, commission.public_key_bytes)
    with pytest.raises(ValidationError, match="déjà été remise"):
        services.collect_opening_share(actor=members_a[0], consultation_pk=consultation.pk)
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
    # Even while pending, the stored form of a share is sealed, never the words.
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
    assert not CommissionMember.objects.filter(pending_share__isnull=False).exists()


def test_ceremony_refusals(make_consultation, buyer_a, buyer_b, members_a, commune_b):
    consultation = make_consultation(publish=False)
    with pytest.raises(ValidationError, match="entre 2 et 3"):
        services.create_opening_commission(
            actor=buyer_a, consultation=consultation, members=members_a, threshold=4
        )
    with pytest.raises(ValidationError, match="entre 2 et 3"):
        services.create_opening_commission(
            actor=buyer_a, consultation=consultation, members=members_a, threshold=1
        )
    with pytest.raises(ValidationError, match="Désignez entre 2"):
        services.create_opening_commission(
            actor=buyer_a, consultation=consultation, members=members_a[:1], threshold=1
        )
    outsider = make_member(commune_b, Role.COMMISSION)
    plain_buyer = make_member(consultation.organisation, Role.ACHETEUR)
    for intruder in (outsider, plain_buyer):
        with pytest.raises(ValidationError, match="Pas membre de la commission"):
            services.create_opening_commission(
                actor=buyer_a,
                consultation=consultation,
                members=[*members_a[:2], intruder],
                threshold=2,
            )
    with pytest.raises(PermissionDenied):
        services.create_opening_commission(
            actor=buyer_b, consultation=consultation, members=members_a, threshold=2
        )
    assert not OpeningCommission.objects.exists()
    services.create_opening_commission(
        actor=buyer_a, consultation=consultation, members=members_a, threshold=2
    )
    with pytest.raises(ValidationError, match="déjà désignée"):
        services.create_opening_commission(
            actor=buyer_a, consultation=consultation, members=members_a, threshold=2
        )


def test_no_ceremony_after_the_deadline(make_consultation, buyer_a, members_a, monkeypatch):
    consultation = make_consultation()
    later = consultation.bids_deadline + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(ValidationError, match="date limite"):
        services.create_opening_commission(
            actor=buyer_a, consultation=consultation, members=members_a, threshold=2
        )


def test_only_the_member_collects_their_share(ceremony, buyer_a, company_user, commune_a):
    consultation, commission = ceremony
    for someone in (buyer_a, company_user):
        with pytest.raises(PermissionDenied):
            services.collect_opening_share(actor=someone, consultation_pk=consultation.pk)
    assert not CommissionMember.objects.filter(collected_at__isnull=False).exists()


def test_a_member_who_lost_the_role_cannot_collect(ceremony, members_a):
    consultation, _ = ceremony
    members_a[0].memberships.update(is_active=False)
    with pytest.raises(PermissionDenied, match="n'est plus actif"):
        services.collect_opening_share(actor=members_a[0], consultation_pk=consultation.pk)


def test_members_are_told_by_email(
    make_consultation, buyer_a, members_a, mailoutbox, django_capture_on_commit_callbacks
):
    consultation = make_consultation(publish=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.create_opening_commission(
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


def test_member_collects_the_share_once_on_a_page_to_print(
    client, login_verified, ceremony, members_a
):
    consultation, commission = ceremony
    login_verified(members_a[1])
    home = client.get("/marches/commission/").content.decode()
    assert consultation.reference in home and "à retirer" in home
    url = f"/marches/commission/{consultation.pk}/part/"
    page = client.get(url).content.decode()
    assert "une seule fois" in page
    response = client.post(url, {"format": "page"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert html.count('class="share-word"') == 33
    seat = commission.members.get(user=members_a[1])
    assert seat.has_collected and seat.pending_share is None
    again = client.post(url, {"format": "page"}, follow=True).content.decode()
    assert "déjà été remise" in again
    assert 'class="share-word"' not in again


def test_member_downloads_the_share_as_text(client, login_verified, ceremony, members_a):
    consultation, commission = ceremony
    login_verified(members_a[0])
    response = client.post(f"/marches/commission/{consultation.pk}/part/", {"format": "txt"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    text = response.content.decode()
    assert commission.fingerprint in text
    words = [line.split(". ", 1)[1] for line in text.splitlines() if line[:3].strip(" .").isdigit()]
    assert len(words) == 33
    seat = commission.members.get(user=members_a[0])
    assert sealing.verify_share(" ".join(words), seat.share_commitment, commission.public_key_bytes)


def test_share_pages_need_the_second_factor(client, login, ceremony, members_a):
    consultation, commission = ceremony
    login(members_a[0])
    response = client.post(f"/marches/commission/{consultation.pk}/part/", {"format": "page"})
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
        assert client.post(url, {"format": "page"}).status_code == 404
    other_member = make_member(commune_a, Role.COMMISSION)
    login_verified(other_member)
    assert client.post(url, {"format": "page"}).status_code == 404
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
    services.collect_opening_share(actor=members_a[0], consultation_pk=consultation.pk)
    with pytest.raises(ValidationError, match="pourquoi"):
        services.dissolve_opening_commission(actor=buyer_a, consultation=consultation, reason="")
    with pytest.raises(PermissionDenied):
        services.dissolve_opening_commission(
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
    new = services.create_opening_commission(
        actor=buyer_a, consultation=consultation, members=members_a[:2], threshold=2
    )
    assert new.fingerprint != old_fingerprint


def test_no_dissolution_once_a_pli_is_sealed_to_the_key(ceremony, members_a, buyer_a, company_user):
    from emegalis.marches import plis

    consultation, _ = ceremony
    for member in members_a:
        services.collect_opening_share(actor=member, consultation_pk=consultation.pk)
    consultation.refresh_from_db()
    plis.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[plis.DeclaredFile(kind="offre", name="o.pdf", size=1)],
    )
    with pytest.raises(ValidationError, match="Des plis ont déjà été chiffrés"):
        services.dissolve_opening_commission(
            actor=buyer_a, consultation=consultation, reason="Membre parti sans sa part."
        )
    assert OpeningCommission.objects.filter(consultation=consultation).exists()
