"""TOTP second factor: mandatory for operateur / support / commission, optional for others."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from emegalis.core.models import JournalEntry
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_member, token_for

SETUP_URL = "/compte/double-authentification/"
VERIFY_URL = "/compte/verification/"
WRONG_SETUP = (
    "Code incorrect ou expiré : saisissez le code affiché maintenant par l&#x27;application."
)


def html(response) -> str:
    return response.content.decode()


def wrong_token(device) -> str:
    """A 6-digit code the device refuses (none of the codes of the accepted time window)."""
    accepted = {token_for(device, drift) for drift in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in accepted)


@pytest.fixture
def commission_member(db):
    return make_member(OrganisationFactory(), Role.COMMISSION)


@pytest.fixture
def agent(db):
    return make_member(OrganisationFactory(), Role.ACHETEUR, Role.REFERENT)


@pytest.mark.django_db
def test_operator_is_sent_to_setup_after_login(client, login, staff):
    login(staff)
    response = client.get("/tableau-de-bord/")
    assert response.status_code == 302
    assert response["Location"] == f"{SETUP_URL}?next=%2Ftableau-de-bord%2F"
    # Every page sends there, not only the dashboard.
    assert client.get("/organisations/1/")["Location"].startswith(SETUP_URL)


@pytest.mark.django_db
def test_setup_page_shows_qr_code_and_secret(client, login, staff):
    login(staff)
    page = client.get(f"{SETUP_URL}?next=/tableau-de-bord/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed is False
    content = html(page)
    assert "<svg" in content and "&lt;svg" not in content  # the QR code is real markup
    assert page.context["secret"] in content
    assert 'autocomplete="one-time-code"' in content
    assert 'inputmode="numeric"' in content
    # Reloading the page keeps the same key (the user may have scanned it already).
    client.get(SETUP_URL)
    assert TOTPDevice.objects.filter(user=staff).count() == 1


@pytest.mark.django_db
def test_confirming_setup_with_the_current_code_enables_2fa(client, login, staff):
    login(staff)
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=staff)
    response = client.post(SETUP_URL, {"token": token_for(device), "next": "/tableau-de-bord/"})
    assert response.status_code == 302
    assert response["Location"] == "/tableau-de-bord/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get("/tableau-de-bord/").status_code == 200
    assert JournalEntry.objects.filter(
        action="account.two_factor_enrolled", actor_id=staff.pk
    ).exists()


@pytest.mark.django_db
def test_setup_refuses_a_wrong_code_in_french(client, login, staff):
    login(staff)
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=staff)
    response = client.post(SETUP_URL, {"token": wrong_token(device)})
    assert response.status_code == 200
    assert WRONG_SETUP in html(response)
    assert 'aria-describedby="id_token_helptext id_token_error"' in html(response)
    device.refresh_from_db()
    assert device.confirmed is False
    assert client.get("/tableau-de-bord/").status_code == 302


@pytest.mark.django_db
def test_right_code_right_after_a_wrong_one_is_throttled(client, login, staff, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # the wait after one failure, so the test is not timed
    login(staff)
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=staff)
    client.post(SETUP_URL, {"token": wrong_token(device)})
    response = client.post(SETUP_URL, {"token": token_for(device)})
    assert response.status_code == 200
    assert "Trop de codes erronés à la suite" in html(response)


@pytest.mark.django_db
def test_setup_form_rejects_malformed_codes(client, login, staff):
    login(staff)
    client.get(SETUP_URL)
    assert "Le code comporte 6 chiffres." in html(client.post(SETUP_URL, {"token": "123"}))
    assert "Le code ne contient que des chiffres." in html(
        client.post(SETUP_URL, {"token": "12a456"})
    )


def enrol(client, login, user) -> TOTPDevice:
    login(user)
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=user)
    assert client.post(SETUP_URL, {"token": token_for(device)}).status_code == 302
    client.post("/compte/deconnexion/")
    return device


@pytest.mark.django_db
def test_next_login_asks_for_a_code_and_the_api_waits_for_it(client, login, staff):
    device = enrol(client, login, staff)
    login(staff)
    response = client.get("/tableau-de-bord/")
    assert response["Location"] == f"{VERIFY_URL}?next=%2Ftableau-de-bord%2F"
    # The setup page does not let a second device be added before the first one is used.
    assert client.get(SETUP_URL)["Location"].startswith(VERIFY_URL)

    api = client.get("/api/v1/me")
    assert api.status_code == 403
    assert api.json() == {
        "detail": "Double authentification requise pour ce compte.",
        "errors": [],
    }

    page = client.get(f"{VERIFY_URL}?next=/tableau-de-bord/")
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in html(page)
    # The code of the next 30-second step: the one used at enrolment cannot be replayed.
    response = client.post(VERIFY_URL, {"token": token_for(device, 1), "next": "/tableau-de-bord/"})
    assert response.status_code == 302
    assert response["Location"] == "/tableau-de-bord/"

    api = client.get("/api/v1/me")
    assert api.status_code == 200
    assert api.json()["email"] == staff.email
    assert client.get("/tableau-de-bord/").status_code == 200


@pytest.mark.django_db
def test_verify_refuses_a_wrong_code_in_french(client, login, staff):
    device = enrol(client, login, staff)
    login(staff)
    response = client.post(VERIFY_URL, {"token": wrong_token(device)})
    assert response.status_code == 200
    assert "Code incorrect ou expiré." in html(response)
    assert client.get("/api/v1/me").status_code == 403


@pytest.mark.django_db
def test_verify_does_not_redirect_off_site(client, login, staff):
    device = enrol(client, login, staff)
    login(staff)
    response = client.post(
        VERIFY_URL, {"token": token_for(device, 1), "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/tableau-de-bord/"


@pytest.mark.django_db
def test_commission_member_must_enrol_too(client, login, commission_member):
    login(commission_member)
    assert client.get("/tableau-de-bord/")["Location"].startswith(SETUP_URL)
    assert client.get("/api/v1/me").status_code == 403


@pytest.mark.django_db
def test_commune_agent_without_sensitive_roles_is_not_asked(client, login, agent):
    login(agent)
    assert client.get("/tableau-de-bord/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    assert not TOTPDevice.objects.filter(user=agent).exists()


@pytest.mark.django_db
def test_any_user_may_enable_2fa_from_the_security_page(client, login, agent):
    login(agent)
    page = client.get("/compte/securite/")
    assert page.status_code == 200
    assert "Non activée" in html(page)
    assert f'href="{SETUP_URL}?next=/compte/securite/"' in html(page)

    client.get(f"{SETUP_URL}?next=/compte/securite/")
    device = TOTPDevice.objects.get(user=agent)
    response = client.post(SETUP_URL, {"token": token_for(device), "next": "/compte/securite/"})
    assert response["Location"] == "/compte/securite/"
    assert "Activée" in html(client.get("/compte/securite/"))

    # Once enabled, the next login asks for a code, although the roles do not require it.
    client.post("/compte/deconnexion/")
    login(agent)
    assert client.get("/tableau-de-bord/")["Location"].startswith(VERIFY_URL)
    assert client.get("/api/v1/me").status_code == 403
    client.post(VERIFY_URL, {"token": token_for(device, 1)})
    assert client.get("/tableau-de-bord/").status_code == 200

    # And the user may turn it off again.
    response = client.post("/compte/securite/desactiver-double-authentification/")
    assert response["Location"] == "/compte/securite/"
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert JournalEntry.objects.filter(action="account.two_factor_disabled").count() == 1


@pytest.mark.django_db
def test_operator_cannot_disable_2fa(client, login_verified, staff):
    login_verified(staff)
    page = client.get("/compte/securite/")
    assert "ne peut pas être désactivée" in html(page)
    client.post("/compte/securite/desactiver-double-authentification/")
    assert TOTPDevice.objects.filter(user=staff, confirmed=True).exists()


@pytest.mark.django_db
def test_logout_stays_reachable_before_verification(client, login, staff):
    login(staff)
    response = client.post("/compte/deconnexion/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert "_auth_user_id" not in client.session
