"""Throttling beyond the (login, address) lockout: password reset e-mails per account and per
address, login failures per address (one NAT must not be locked too easily), API keys guessed
from one address."""

import base64
import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.db.models import F

from emegalis.core import clock
from emegalis.core.services_catalog import Service
from emegalis.organisations import services
from emegalis.organisations.roles import Role
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, make_convention, make_member

pytestmark = pytest.mark.django_db

RESET_URL = "/compte/mot-de-passe/oubli/"
DONE_URL = "/compte/mot-de-passe/oubli/envoye/"
LOGIN_URL = "/compte/connexion/"


def html(response) -> str:
    return response.content.decode()


def without_csrf(page: str) -> str:
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", page)


@pytest.fixture
def agent(db):
    return make_member(OrganisationFactory(), Role.ACHETEUR)


def ask_reset(client, email, ip="203.0.113.7"):
    return client.post(RESET_URL, {"email": email}, REMOTE_ADDR=ip)


# --- password reset ---------------------------------------------------------------------------


def test_password_reset_sends_at_most_three_mails_per_account_per_hour(client, agent):
    responses = [ask_reset(client, agent.email) for _ in range(15)]
    # Every request gets the same neutral answer, sent or not (no account enumeration).
    assert {(r.status_code, r["Location"]) for r in responses} == {(302, DONE_URL)}
    assert len(mail.outbox) == 3


def test_password_reset_account_limit_holds_across_addresses(client, agent):
    for i in range(6):
        assert ask_reset(client, agent.email.upper(), ip=f"198.51.100.{i + 1}")["Location"] == (
            DONE_URL
        )
    assert len(mail.outbox) == 3


def test_password_reset_account_limit_ends_after_an_hour(client, agent):
    for _ in range(4):
        ask_reset(client, agent.email)
    assert len(mail.outbox) == 3
    with clock.shifted(timedelta(hours=1, minutes=1)):
        ask_reset(client, agent.email)
    assert len(mail.outbox) == 4


def test_password_reset_limit_is_per_account(client, agent):
    for _ in range(4):
        ask_reset(client, agent.email)
    colleague = UserFactory()
    ask_reset(client, colleague.email)
    assert [m.to for m in mail.outbox[-2:]] == [[agent.email], [colleague.email]]


def test_password_reset_slows_one_address_with_a_french_message(client):
    users = [UserFactory() for _ in range(21)]
    for user in users[:20]:
        assert ask_reset(client, user.email).status_code == 302
    assert len(mail.outbox) == 20

    slowed = ask_reset(client, users[20].email)
    assert slowed.status_code == 429
    page = html(slowed)
    assert '<html lang="fr"' in page
    assert "Trop de demandes de changement de mot de passe depuis votre réseau" in page
    assert "Réessayez dans une heure" in page
    assert len(mail.outbox) == 20
    # An unknown address gets the very same page: the slowdown says nothing about accounts.
    unknown = ask_reset(client, "personne@example.test")
    assert unknown.status_code == 429 and without_csrf(html(unknown)) == without_csrf(page)

    # Another address is not slowed.
    assert ask_reset(client, users[20].email, ip="192.0.2.44")["Location"] == DONE_URL
    assert len(mail.outbox) == 21


def test_password_reset_form_errors_are_not_slowed_into_a_500(client):
    for _ in range(25):
        response = client.post(RESET_URL, {"email": "pas-une-adresse"}, REMOTE_ADDR="203.0.113.9")
        assert response.status_code in (200, 429)
    assert "Saisissez une adresse électronique valide" in html(
        client.post(RESET_URL, {"email": "x"}, REMOTE_ADDR="203.0.113.10")
    )


# --- login: per address as well as per (login, address) ------------------------------------


def fail_login(client, email, ip="203.0.113.20"):
    return client.post(LOGIN_URL, {"username": email, "password": "mauvais"}, REMOTE_ADDR=ip)


def login_as(client, user, ip="203.0.113.20"):
    return client.post(LOGIN_URL, {"username": user.email, "password": PASSWORD}, REMOTE_ADDR=ip)


def test_a_few_failures_on_many_logins_behind_one_nat_lock_nobody(client, agent):
    for i in range(12):
        assert fail_login(client, f"agent{i}@commune.test").status_code == 200
    assert login_as(client, agent).status_code == 302


def test_many_logins_tried_from_one_address_are_locked_out(client, agent):
    for i in range(30):
        assert fail_login(client, f"essai{i}@commune.test").status_code in (200, 429)
    locked = login_as(client, agent)
    assert locked.status_code == 429
    page = html(locked)
    assert "Connexions temporairement bloquées depuis votre réseau" in page
    assert "Trop de tentatives de connexion ont échoué depuis votre adresse réseau" in page
    assert "<strong>15 minutes</strong>" in page
    assert "_auth_user_id" not in client.session
    # From elsewhere, the account opens.
    assert login_as(client, agent, ip="192.0.2.80").status_code == 302


def test_the_address_lock_ends_after_the_cool_off(client, agent):
    for i in range(30):
        fail_login(client, f"essai{i}@commune.test")
    assert login_as(client, agent).status_code == 429
    # Axes reads Django's clock: age its records instead.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    assert login_as(client, agent).status_code == 302


def test_logging_into_ones_own_account_does_not_reset_the_address_count(client, agent):
    for i in range(29):
        fail_login(client, f"essai{i}@commune.test")
    assert login_as(client, agent).status_code == 302
    client.post("/compte/deconnexion/")
    fail_login(client, "encore@commune.test")
    assert login_as(client, agent).status_code == 429


def test_logging_into_ones_own_account_does_not_reset_a_victims_count(client, agent):
    victim = UserFactory()
    for _ in range(4):
        fail_login(client, victim.email)
    assert login_as(client, agent).status_code == 302
    client.post("/compte/deconnexion/")
    assert fail_login(client, victim.email).status_code == 429
    assert login_as(client, victim).status_code == 429


# --- API keys ---------------------------------------------------------------------------------


@pytest.fixture
def key_owner(db):
    commune = OrganisationFactory(name="Commune de Plouzané")
    make_convention(commune, [Service.MARCHES, Service.ACTES])
    user = make_member(commune, Role.ACHETEUR, Role.AGENT_ACTES)
    _, secret = services.create_api_key(user=user, organisation=commune, name="Logiciel")
    return user, secret


def bearer(client, secret, ip="203.0.113.30"):
    return client.get(
        "/api/v1/marches/acheteur/consultations",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        REMOTE_ADDR=ip,
    )


def basic(client, login, secret, ip="203.0.113.30"):
    token = base64.b64encode(f"{login}:{secret}".encode()).decode()
    return client.get(
        "/api/test-connexion.php", HTTP_AUTHORIZATION=f"Basic {token}", REMOTE_ADDR=ip
    )


def test_api_key_guessing_from_one_address_is_slowed(client, key_owner):
    user, secret = key_owner
    for i in range(10):
        assert bearer(client, f"emg_faux{i}").status_code == 401
        assert basic(client, user.email, f"emg_faux{i}").status_code == 401
    slowed = bearer(client, secret)
    assert slowed.status_code == 429
    assert (
        "Trop d'échecs d'authentification par clé d'API depuis votre adresse"
        in (slowed.json()["detail"])
    )
    legacy = basic(client, user.email, secret)
    assert legacy.status_code == 429
    assert legacy.content.startswith(b"KO")
    assert "Trop d'échecs".encode("iso-8859-1") in legacy.content
    # Another address is not slowed, and the right key works there.
    assert bearer(client, secret, ip="192.0.2.90").status_code == 200
    assert basic(client, user.email, secret, ip="192.0.2.90").status_code == 200


def test_good_api_keys_are_never_counted(client, key_owner):
    user, secret = key_owner
    for _ in range(40):
        assert bearer(client, secret).status_code == 200
    assert bearer(client, "emg_faux").status_code == 401


# --- client address behind proxies -------------------------------------------------------------


def test_forwarded_for_is_not_trusted_without_a_proxy(client, agent):
    # Without TRUSTED_PROXY_COUNT, a client choosing its X-Forwarded-For changes nothing.
    for i in range(30):
        client.post(
            LOGIN_URL,
            {"username": f"essai{i}@commune.test", "password": "mauvais"},
            REMOTE_ADDR="203.0.113.20",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        )
    assert login_as(client, agent).status_code == 429


def test_behind_a_proxy_each_client_is_counted_under_its_own_address(client, agent, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for i in range(30):
        client.post(
            LOGIN_URL,
            {"username": f"essai{i}@commune.test", "password": "mauvais"},
            REMOTE_ADDR=proxy,
            # The left entry is the client's own claim; the proxy appended the right one.
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.66",
        )
    attacker = client.post(
        LOGIN_URL,
        {"username": agent.email, "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="203.0.113.66",
    )
    assert attacker.status_code == 429
    # Everyone else behind the same proxy still logs in.
    colleague = client.post(
        LOGIN_URL,
        {"username": agent.email, "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="203.0.113.67",
    )
    assert colleague.status_code == 302
    assert AccessAttempt.objects.filter(ip_address="203.0.113.66").exists()
    assert not AccessAttempt.objects.filter(ip_address=proxy).exists()
