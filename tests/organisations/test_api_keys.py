"""API keys of an account: one key per user and organisation, shown once, stored as a SHA-256,
revocable, and accepted by both APIs (marchés with Bearer, actes S²LOW-style with Basic)."""

import base64
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from emegalis.core.models import JournalEntry
from emegalis.core.services_catalog import Service
from emegalis.organisations import services
from emegalis.organisations.models import ApiKey
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_convention, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def commune(db):
    commune = OrganisationFactory(name="Commune de Plouzané")
    make_convention(commune, [Service.MARCHES, Service.ACTES])
    return commune


@pytest.fixture
def agent(commune):
    return make_member(commune, Role.ACHETEUR, Role.AGENT_ACTES)


def test_create_returns_the_secret_once_and_keeps_its_hash(agent, commune):
    key, secret = services.create_api_key(user=agent, organisation=commune, name=" Pastell ")
    assert secret.startswith("emg_") and key.prefix == secret[:12]
    assert key.key_hash == services.hash_api_key(secret) and secret not in key.key_hash
    assert key.name == "Pastell" and key.organisation == commune
    entry = JournalEntry.objects.get(action="api_key.created")
    assert entry.actor_id == agent.pk and entry.organisation_id == commune.pk
    assert secret not in str(entry.payload)


def test_create_refuses_a_blank_name_and_another_organisation(agent, commune):
    with pytest.raises(ValidationError) as exc:
        services.create_api_key(user=agent, organisation=commune, name="  ")
    assert "name" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.create_api_key(user=agent, organisation=OrganisationFactory(), name="x")
    assert not ApiKey.objects.exists()


def test_authenticate_gives_who_acts_for_which_organisation(agent, commune):
    key, secret = services.create_api_key(user=agent, organisation=commune, name="x")
    assert services.authenticate_api_key(secret) == (agent, commune)
    key.refresh_from_db()
    assert key.last_used_at is not None
    # HTTP Basic: the login must be the owner's e-mail (case does not matter).
    assert services.authenticate_api_key(secret, login=agent.email.upper()) == (agent, commune)
    assert services.authenticate_api_key(secret, login="autre@example.test") is None
    for wrong in ("", "faux", secret + "x", "emg_" + "a" * 300):
        assert services.authenticate_api_key(wrong) is None


def test_last_use_is_written_at_most_once_a_minute(agent, commune):
    key, secret = services.create_api_key(user=agent, organisation=commune, name="x")
    services.authenticate_api_key(secret)
    key.refresh_from_db()
    first = key.last_used_at
    services.authenticate_api_key(secret)
    key.refresh_from_db()
    assert key.last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    services.authenticate_api_key(secret)
    key.refresh_from_db()
    assert key.last_used_at > first - timedelta(minutes=2)


def test_revoked_keys_and_inactive_users_are_refused(agent, commune):
    key, secret = services.create_api_key(user=agent, organisation=commune, name="x")
    other = make_member(commune, Role.ACHETEUR)
    with pytest.raises(PermissionDenied):
        services.revoke_api_key(user=other, key=key)
    services.revoke_api_key(user=agent, key=key)
    services.revoke_api_key(user=agent, key=key)  # a second time changes nothing
    assert JournalEntry.objects.filter(action="api_key.revoked").count() == 1
    assert services.authenticate_api_key(secret) is None

    _, secret = services.create_api_key(user=agent, organisation=commune, name="y")
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert services.authenticate_api_key(secret) is None


def test_one_key_opens_both_apis(client, agent, commune):
    _, secret = services.create_api_key(user=agent, organisation=commune, name="x")
    response = client.get(
        "/api/v1/marches/acheteur/consultations", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 200
    basic = base64.b64encode(f"{agent.email}:{secret}".encode()).decode()
    response = client.get("/api/test-connexion.php", HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200 and response.content.startswith(b"OK")


def test_page_creates_for_the_active_organisation_and_lists_only_its_keys(login, agent, commune):
    elsewhere = OrganisationFactory(name="Commune de Brest")
    make_member(elsewhere, Role.ACHETEUR, user=agent)
    services.create_api_key(user=agent, organisation=elsewhere, name="Clé de Brest")
    client = login(agent)
    page = client.post("/compte/cles-api/", {"name": "Logiciel métier"}).content.decode()
    key = ApiKey.objects.get(name="Logiciel métier")
    assert key.organisation == commune  # the first organisation is the active one
    secret = page.split('id="new-key">')[1].split("<")[0]
    assert key.key_hash == services.hash_api_key(secret)
    page = client.get("/compte/cles-api/").content.decode()
    assert "Logiciel métier" in page and "Clé de Brest" not in page and secret not in page
    page = client.post("/compte/cles-api/", {"name": ""}).content.decode()
    assert 'id="form-errors"' in page and ApiKey.objects.count() == 2


def test_page_revokes_only_the_users_own_keys(login, agent, commune):
    other = make_member(commune, Role.ACHETEUR)
    theirs, _ = services.create_api_key(user=other, organisation=commune, name="La leur")
    mine, _ = services.create_api_key(user=agent, organisation=commune, name="La mienne")
    client = login(agent)
    assert client.post(f"/compte/cles-api/{theirs.pk}/revoquer/").status_code == 404
    response = client.post(f"/compte/cles-api/{mine.pk}/revoquer/", follow=True)
    assert "La clé « La mienne » est révoquée." in response.content.decode()
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.revoked_at is None and mine.revoked_at is not None


def test_a_user_without_organisation_cannot_create_a_key(login):
    from tests.factories import UserFactory

    client = login(UserFactory())
    page = client.post("/compte/cles-api/", {"name": "x"}).content.decode()
    assert "aucune organisation" in page
    assert not ApiKey.objects.exists()


def test_the_former_pages_redirect_and_the_account_pages_link_to_the_keys(login, agent):
    client = login(agent)
    for old in ("/marches/jetons-api/", "/actes/cles-api/"):
        response = client.get(old)
        assert response.status_code == 302 and response["Location"] == "/compte/cles-api/"
    page = client.get("/compte/securite/").content.decode()
    assert page.count('href="/compte/cles-api/"') == 1  # the account page (« Mon compte »)
