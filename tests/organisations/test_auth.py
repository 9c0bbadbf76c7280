"""Login by e-mail, logout, throttling (django-axes) and password reset by e-mail."""

import re

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django_otp.plugins.otp_totp.models import TOTPDevice

from emegalis.organisations.roles import Role
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, make_member, token_for

LOGIN_URL = "/compte/connexion/"
INVALID_LOGIN = (
    "Adresse électronique ou mot de passe incorrect. Après plusieurs échecs, le compte est "
    "temporairement bloqué."
)


def html(response) -> str:
    return response.content.decode()


def french(text: str) -> str:
    """Text as Django's autoescape writes it into HTML."""
    return text.replace("'", "&#x27;")


@pytest.fixture
def agent(db):
    return make_member(OrganisationFactory(), Role.ACHETEUR)


def post_login(client, email, password, **extra):
    return client.post(LOGIN_URL, {"username": email, "password": password}, **extra)


# --- login / logout ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_is_french_and_accessible(client):
    page = html(client.get(LOGIN_URL))
    assert '<html lang="fr"' in page
    assert '<label class="form-label" for="id_username">Adresse électronique' in page
    assert 'autocomplete="email"' in page
    assert 'autocomplete="current-password"' in page
    assert 'href="/compte/mot-de-passe/oubli/"' in page


@pytest.mark.django_db
def test_login_by_email_is_case_insensitive(client, agent):
    response = post_login(client, agent.email.upper(), PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/tableau-de-bord/"
    assert client.get("/tableau-de-bord/").context["user"] == agent


@pytest.mark.django_db
def test_wrong_password_shows_the_french_error(client, agent):
    response = post_login(client, agent.email, "pas-le-bon-mot-de-passe")
    assert response.status_code == 200
    assert french(INVALID_LOGIN) in html(response)
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_unknown_email_gets_the_same_error(client):
    response = post_login(client, "personne@example.test", PASSWORD)
    assert response.status_code == 200
    assert french(INVALID_LOGIN) in html(response)


@pytest.mark.django_db
def test_field_errors_are_linked_to_their_input(client):
    response = post_login(client, "pas-une-adresse", "")
    page = html(response)
    assert 'aria-describedby="id_username_error"' in page
    assert 'aria-invalid="true"' in page
    assert 'id="id_username_error"' in page
    assert "Saisissez une adresse électronique valide" in page
    assert "Saisissez votre mot de passe." in page


@pytest.mark.django_db
def test_logout_is_a_post(client, login, agent):
    login(agent)
    assert client.get("/compte/deconnexion/").status_code == 405
    assert client.get("/tableau-de-bord/").status_code == 200
    response = client.post("/compte/deconnexion/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/tableau-de-bord/").status_code == 302


@pytest.mark.django_db
def test_inactive_user_cannot_log_in(client, agent):
    agent.is_active = False
    agent.save()
    response = post_login(client, agent.email, PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


# --- throttling (django-axes) -----------------------------------------------------------------


def fail(client, email, times):
    for _ in range(times):
        response = post_login(client, email, "mauvais-mot-de-passe")
    return response


@pytest.mark.django_db
def test_four_failures_do_not_lock(client, agent):
    response = fail(client, agent.email, 4)
    assert response.status_code == 200
    assert post_login(client, agent.email, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_fifth_failure_locks_and_even_the_right_password_is_refused(client, agent):
    response = fail(client, agent.email, 5)
    assert response.status_code == 429
    page = html(response)
    assert "Compte temporairement bloqué" in page
    assert "Trop de tentatives de connexion ont échoué" in page
    assert "<strong>15 minutes</strong>" in page
    assert '<html lang="fr"' in page

    locked = post_login(client, agent.email, PASSWORD)
    assert locked.status_code == 429
    assert "Compte temporairement bloqué" in html(locked)
    assert "_auth_user_id" not in client.session
    # Failures are counted under the account's address (not under an empty login).
    attempt = AccessAttempt.objects.get()
    assert attempt.username == agent.email
    assert attempt.ip_address == "127.0.0.1"


@pytest.mark.django_db
def test_lockout_cannot_be_dodged_by_changing_the_case_of_the_email(client, agent):
    fail(client, agent.email, 3)
    fail(client, agent.email.upper(), 2)
    locked = post_login(client, agent.email.title(), PASSWORD)
    assert locked.status_code == 429


@pytest.mark.django_db
def test_lockout_is_per_account_and_address(client, agent):
    fail(client, agent.email, 5)
    other = UserFactory()
    assert post_login(client, other.email, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_lockout_is_per_ip_address(client, agent):
    fail(client, agent.email, 5)
    elsewhere = post_login(client, agent.email, PASSWORD, REMOTE_ADDR="192.0.2.10")
    assert elsewhere.status_code == 302


@pytest.mark.django_db
def test_success_resets_the_failure_count(client, login, agent):
    fail(client, agent.email, 4)
    login(agent)
    client.post("/compte/deconnexion/")
    response = fail(client, agent.email, 4)
    assert response.status_code == 200


# --- password reset ---------------------------------------------------------------------------


def reset_link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/compte/mot-de-passe/nouveau/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.mark.django_db
def test_password_reset_full_flow(client, agent):
    page = client.get("/compte/mot-de-passe/oubli/")
    assert 'autocomplete="email"' in html(page)

    response = client.post("/compte/mot-de-passe/oubli/", {"email": agent.email.upper()})
    assert response.status_code == 302
    assert response["Location"] == "/compte/mot-de-passe/oubli/envoye/"
    assert "Vérifiez votre messagerie" in html(client.get(response["Location"]))

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [agent.email]
    assert message.subject == "e-mégalis — changement de votre mot de passe"
    assert "Pour choisir un nouveau mot de passe, ouvrez ce lien" in message.body
    assert "expire dans 24 heures" in message.body

    # The link redirects to the same page without the token (Django keeps it in the session).
    response = client.get(reset_link(message))
    assert response.status_code == 302
    form_page = client.get(response["Location"])
    assert form_page.context["validlink"] is True
    assert 'autocomplete="new-password"' in html(form_page)

    new_password = "un-tout-nouveau-secret-2026"
    response = client.post(
        response["Location"], {"new_password1": new_password, "new_password2": new_password}
    )
    assert response.status_code == 302
    assert response["Location"] == "/compte/mot-de-passe/nouveau/termine/"
    assert "Mot de passe enregistré" in html(client.get(response["Location"]))

    assert post_login(client, agent.email, PASSWORD).status_code == 200  # old one refused
    assert post_login(client, agent.email, new_password).status_code == 302


@pytest.mark.django_db
def test_password_reset_link_works_only_once(client, agent):
    client.post("/compte/mot-de-passe/oubli/", {"email": agent.email})
    link = reset_link(mail.outbox[0])
    response = client.get(link)
    new_password = "un-tout-nouveau-secret-2026"
    client.post(
        response["Location"], {"new_password1": new_password, "new_password2": new_password}
    )

    again = client.get(link, follow=True)
    assert again.context["validlink"] is False
    page = html(again)
    assert "Lien invalide" in page
    assert "a peut-être déjà servi ou a expiré" in page


@pytest.mark.django_db
def test_password_reset_refuses_a_weak_password_in_french(client, agent):
    client.post("/compte/mot-de-passe/oubli/", {"email": agent.email})
    response = client.get(reset_link(mail.outbox[0]))
    weak = client.post(response["Location"], {"new_password1": "court", "new_password2": "court"})
    assert weak.status_code == 200
    assert "Ce mot de passe est trop court" in html(weak)
    assert 'aria-invalid="true"' in html(weak)


@pytest.mark.django_db
def test_password_reset_for_unknown_email_sends_nothing_but_says_the_same(client):
    response = client.post("/compte/mot-de-passe/oubli/", {"email": "inconnu@example.test"})
    assert response.status_code == 302
    assert response["Location"] == "/compte/mot-de-passe/oubli/envoye/"
    assert mail.outbox == []


@pytest.mark.django_db
def test_password_reset_is_not_sent_to_an_inactive_user(client, agent):
    agent.is_active = False
    agent.save()
    client.post("/compte/mot-de-passe/oubli/", {"email": agent.email})
    assert mail.outbox == []


@pytest.mark.django_db
def test_admin_login_is_throttled_under_the_email_too(client):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    for _ in range(5):
        client.post("/admin/login/", {"username": admin_user.email.upper(), "password": "mauvais"})
    response = client.post("/admin/login/", {"username": admin_user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert AccessAttempt.objects.get().username == admin_user.email
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_admin_login_works_with_the_email(client):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": admin_user.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302
    # Admin accounts must pass the second factor before any admin page.
    response = client.get("/admin/organisations/organisation/")
    assert response.status_code == 302
    assert response["Location"].startswith("/compte/double-authentification/")
    device = TOTPDevice.objects.create(user=admin_user, confirmed=True, name="test")
    response = client.post("/compte/verification/", {"token": token_for(device), "next": "/"})
    assert response.status_code == 302
    assert client.get("/admin/organisations/organisation/").status_code == 200
    assert client.get("/admin/organisations/user/").status_code == 200
    assert client.get("/admin/organisations/membership/").status_code == 200
