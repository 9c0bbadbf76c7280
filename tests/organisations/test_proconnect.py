"""ProConnect sign-in and sign-out against a real OpenID provider process on 127.0.0.1
(scripts/proconnect_provider.py: oidc-provider-mock with ProConnect's rules)."""

import base64
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail

from emegalis.core.models import JournalEntry
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import (
    Membership,
    OrganisationKind,
    ProConnectIdentity,
    RoleAssignment,
    User,
)
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, UserFactory, make_convention, make_member

pytestmark = pytest.mark.django_db

START = "/compte/proconnect/"


def _begin(client, next_url: str = "") -> str:
    response = client.get(START + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def _sign_in(client, provider, sub: str, next_url: str = ""):
    callback = provider.authorize(_begin(client, next_url), sub)
    return client.get(callback)


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _logged_in_user(client):
    return (
        User.objects.get(pk=client.session["_auth_user_id"])
        if "_auth_user_id" in (client.session)
        else None
    )


@pytest.fixture
def lorient():
    return OrganisationFactory(name="Ville de Lorient", siret="21560121400017", siren="215601214")


def test_disabled_hides_the_button_and_answers_404(client, settings):
    settings.PROCONNECT_ISSUER = ""
    page = client.get("/compte/connexion/")
    assert page.status_code == 200 and "ProConnect" not in page.content.decode()
    assert client.get(START).status_code == 404
    assert client.get("/compte/proconnect/retour/?code=x&state=y").status_code == 404


def test_the_authorization_request_carries_proconnect_parameters_only(client, proconnect):
    page = client.get("/compte/connexion/").content.decode()
    assert "Se connecter avec <strong>ProConnect</strong>" in page
    location = _begin(client, "/marches/")
    assert location.startswith(proconnect.url + "/oauth2/authorize?")
    params = _query(location)
    assert set(params) == {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "claims",
        "state",
        "nonce",
    }
    assert params["response_type"] == "code" and params["client_id"] == "emegalis-tests"
    assert params["redirect_uri"] == "http://testserver/compte/proconnect/retour/"
    assert params["scope"] == "openid email given_name usual_name siret"
    assert json.loads(params["claims"]) == {"id_token": {"amr": {"essential": True}}}
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    # The provider, which refuses any other parameter, shows its sign-in page.
    assert "/compte/proconnect/retour/?code=" in proconnect.authorize(location, "nobody")


def test_first_sign_in_links_the_account_by_email_then_by_sub(client, proconnect, lorient):
    agent = make_member(lorient, Role.ACHETEUR, user=UserFactory(email="marie.le-goff@lorient.fr"))
    proconnect.add_user(
        "sub-marie",
        email="Marie.Le-Goff@lorient.fr",
        given_name="Marie",
        usual_name="Le Goff",
        siret="21560121400017",
        acr="eidas1",
        amr=["pwd"],
    )
    response = _sign_in(client, proconnect, "sub-marie", "/marches/")
    assert response.status_code == 302 and response["Location"] == "/marches/"
    assert _logged_in_user(client) == agent
    identity = ProConnectIdentity.objects.get(user=agent)
    assert (identity.sub, identity.last_acr, identity.last_amr) == ("sub-marie", "eidas1", ["pwd"])
    dashboard = client.get("/tableau-de-bord/").content.decode()
    assert "Ville de Lorient" in dashboard

    # Her address changes at the provider: the sub still finds her account, no new one.
    proconnect.add_user("sub-marie", email="m.legoff@agglo.fr", siret="21560121400017")
    client.logout()
    _sign_in(client, proconnect, "sub-marie")
    assert _logged_in_user(client) == agent
    assert User.objects.count() == 1


def test_a_known_siret_creates_an_account_without_roles_and_tells_the_referents(
    client, proconnect, lorient, django_capture_on_commit_callbacks
):
    referent = make_member(lorient, Role.REFERENT)
    proconnect.add_user(
        "sub-new",
        email="nouvel.agent@lorient.fr",
        given_name="Yann",
        usual_name="Kerhervé",
        siret="21560121400017",
        acr="eidas1",
        roles=["operateur"],
        role="referent",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = _sign_in(client, proconnect, "sub-new")
    assert response.status_code == 302 and response["Location"] == "/tableau-de-bord/"
    user = User.objects.get(email="nouvel.agent@lorient.fr")
    assert (user.first_name, user.last_name) == ("Yann", "Kerhervé")
    assert not user.has_usable_password() and user.email_confirmed_at is not None
    membership = Membership.objects.get(user=user)
    assert membership.organisation == lorient and membership.is_active
    # Roles are granted on the platform only, whatever the claims say.
    assert not RoleAssignment.objects.filter(membership__user=user).exists()
    assert [m.to for m in mail.outbox] == [[referent.email]]
    assert "attribuez-lui ses rôles" in mail.outbox[0].body
    assert "rôles dont vous avez besoin" in client.get("/tableau-de-bord/").content.decode()


def test_an_unknown_siret_gets_a_clear_page_and_creates_nothing(client, proconnect, lorient):
    proconnect.add_user("sub-x", email="agent@mairie-inconnue.fr", siret="21290019700010")
    response = _sign_in(client, proconnect, "sub-x")
    page = response.content.decode()
    assert response.status_code == 403
    assert "pas encore connue d'e-mégalis" in page and "21290019700010" in page
    assert "demandez à son <strong>référent</strong>" in page
    assert not User.objects.filter(email="agent@mairie-inconnue.fr").exists()
    assert not ProConnectIdentity.objects.exists() and _logged_in_user(client) is None


def test_the_siret_picks_the_organisation_among_the_memberships(client, proconnect, lorient):
    agglo = OrganisationFactory(
        name="Lorient Agglomération",
        kind=OrganisationKind.COMMUNAUTE_AGGLOMERATION,
        siren="200042174",
        siret="20004217400019",
    )
    agent = make_member(lorient, Role.ACHETEUR)
    make_member(agglo, Role.ACHETEUR, user=agent)
    proconnect.add_user("sub-both", email=agent.email, siret="20004217400019")
    _sign_in(client, proconnect, "sub-both")
    assert client.session["active_organisation_id"] == agglo.pk
    assert "Lorient Agglomération" in client.get("/tableau-de-bord/").content.decode()


@pytest.mark.parametrize(
    ("profile", "why"),
    [("json", "unsigned JSON"), ("jwt-unknown-key", "signed by a key the JWKS does not hold")],
)
def test_userinfo_must_be_a_jwt_signed_by_the_provider(client, proconnect, lorient, profile, why):
    proconnect.add_user("sub-u", email="u@lorient.fr", siret="21560121400017")
    proconnect.set_profile(userinfo=profile)
    response = _sign_in(client, proconnect, "sub-u")
    assert response.status_code == 400, why
    assert "Réponse de ProConnect refusée" in response.content.decode()
    assert (
        _logged_in_user(client) is None and not User.objects.filter(email="u@lorient.fr").exists()
    )


def test_a_wrong_state_is_refused(client, proconnect, lorient):
    make_member(lorient, Role.ACHETEUR, user=UserFactory(email="s@lorient.fr"))
    proconnect.add_user("sub-s", email="s@lorient.fr")
    callback = proconnect.authorize(_begin(client), "sub-s")
    forged = re.sub(r"state=[^&]+", "state=" + "A" * 48, callback)
    response = client.get(forged)
    assert response.status_code == 400 and "Connexion non reconnue" in response.content.decode()
    assert _logged_in_user(client) is None
    # Another browser (no state in its session) cannot use the genuine answer either.
    client.cookies.clear()
    assert client.get(callback).status_code == 400 and _logged_in_user(client) is None


def test_a_wrong_nonce_is_refused(client, proconnect, lorient):
    """A code obtained for one sign-in, delivered with another one's state (code injection):
    the ID token's nonce is not the one kept with that state."""
    make_member(lorient, Role.ACHETEUR, user=UserFactory(email="n@lorient.fr"))
    proconnect.add_user("sub-n", email="n@lorient.fr")
    first = proconnect.authorize(_begin(client), "sub-n")
    second_state = _query(_begin(client))["state"]
    injected = re.sub(r"state=[^&]+", f"state={second_state}", first)
    response = client.get(injected)
    assert response.status_code == 400
    assert "Réponse de ProConnect refusée" in response.content.decode()
    assert "Nonce" in response.content.decode() and _logged_in_user(client) is None


def test_an_expired_code_is_refused(client, proconnect, lorient):
    make_member(lorient, Role.ACHETEUR, user=UserFactory(email="e@lorient.fr"))
    proconnect.add_user("sub-e", email="e@lorient.fr")
    proconnect.set_profile(code_max_age=0.3)
    callback = proconnect.authorize(_begin(client), "sub-e")
    time.sleep(0.6)
    response = client.get(callback)
    assert response.status_code == 400 and "Délai de connexion dépassé" in response.content.decode()
    assert _logged_in_user(client) is None


def test_a_used_code_is_refused(client, proconnect, lorient):
    make_member(lorient, Role.ACHETEUR, user=UserFactory(email="r@lorient.fr"))
    proconnect.add_user("sub-r", email="r@lorient.fr")
    callback = proconnect.authorize(_begin(client), "sub-r")
    assert client.get(callback).status_code == 302
    client.logout()
    state = _query(_begin(client))["state"]
    replay = re.sub(r"state=[^&]+", f"state={state}", callback)
    response = client.get(replay)
    assert response.status_code == 400 and "Délai de connexion dépassé" in response.content.decode()
    assert _logged_in_user(client) is None


def test_a_cancelled_sign_in_explains_itself(client, proconnect):
    state = _query(_begin(client))["state"]
    response = client.get(f"/compte/proconnect/retour/?error=access_denied&state={state}")
    assert response.status_code == 400
    assert "Connexion ProConnect interrompue" in response.content.decode()


def test_company_accounts_keep_their_password(client, proconnect):
    company = OrganisationFactory(kind=OrganisationKind.ENTREPRISE, insee_nature="")
    user = make_member(company, Role.ENTREPRISE)
    proconnect.add_user("sub-c", email=user.email, siret=company.siret)
    response = _sign_in(client, proconnect, "sub-c")
    assert response.status_code == 403
    assert "Les entreprises se connectent avec leur mot de passe" in response.content.decode()
    proconnect.add_user("sub-c2", email="nouveau@entreprise.fr", siret=company.siret)
    assert _sign_in(client, proconnect, "sub-c2").status_code == 403
    assert not User.objects.filter(email="nouveau@entreprise.fr").exists()
    assert _logged_in_user(client) is None


def test_a_deactivated_account_stays_closed(client, proconnect, lorient):
    user = make_member(lorient, Role.ACHETEUR)
    user.is_active = False
    user.save(update_fields=["is_active"])
    proconnect.add_user("sub-off", email=user.email)
    response = _sign_in(client, proconnect, "sub-off")
    assert response.status_code == 403 and "désactivé" in response.content.decode()
    assert _logged_in_user(client) is None


def test_two_factor_roles_need_a_trusted_acr_or_amr_else_totp(
    client, proconnect, lorient, settings
):
    member = make_member(lorient, Role.COMMISSION)
    proconnect.add_user("sub-2fa", email=member.email, acr="eidas1", amr=["pwd"])
    _sign_in(client, proconnect, "sub-2fa")
    assert client.get("/tableau-de-bord/")["Location"].startswith(
        "/compte/double-authentification/"
    )

    settings.PROCONNECT_2FA_ACR = frozenset({"eidas2", "eidas3"})
    client.logout()
    _sign_in(client, proconnect, "sub-2fa")  # still eidas1: not enough
    assert client.get("/tableau-de-bord/").status_code == 302

    proconnect.add_user("sub-2fa", email=member.email, acr="eidas2", amr=["pwd", "totp"])
    client.logout()
    _sign_in(client, proconnect, "sub-2fa")
    assert client.get("/tableau-de-bord/").status_code == 200

    settings.PROCONNECT_2FA_ACR = frozenset()
    settings.PROCONNECT_2FA_AMR = frozenset({"mfa"})
    proconnect.add_user("sub-2fa", email=member.email, acr="eidas1", amr=["pwd", "mfa"])
    client.logout()
    _sign_in(client, proconnect, "sub-2fa")
    assert client.get("/tableau-de-bord/").status_code == 200


def test_sign_out_goes_through_the_provider_with_id_token_hint(client, proconnect, lorient):
    agent = make_member(lorient, Role.ACHETEUR)
    proconnect.add_user("sub-out", email=agent.email)
    _sign_in(client, proconnect, "sub-out")
    id_token = client.session["oidc_id_token"]
    response = client.post("/compte/deconnexion/")
    end_session = response["Location"]
    assert end_session.startswith(proconnect.url + "/oauth2/end_session?")
    params = _query(end_session)
    assert params["id_token_hint"] == id_token and len(params["state"]) >= 32
    assert params["post_logout_redirect_uri"] == "http://testserver/compte/proconnect/deconnexion/"
    # Signed out here already, whatever the provider does next.
    assert _logged_in_user(client) is None
    assert client.get("/tableau-de-bord/")["Location"].startswith("/compte/connexion/")

    back = proconnect.end_session(end_session)
    assert _query(back)["state"] == params["state"]
    page = client.get(back, follow=True).content.decode()
    assert "déconnecté d&#x27;e-mégalis et de ProConnect" in page


def test_a_sign_out_return_with_another_state_warns(client, proconnect, lorient):
    agent = make_member(lorient, Role.ACHETEUR)
    proconnect.add_user("sub-out2", email=agent.email)
    _sign_in(client, proconnect, "sub-out2")
    client.post("/compte/deconnexion/")
    page = client.get("/compte/proconnect/deconnexion/?state=forged", follow=True)
    assert "n&#x27;a pas pu être vérifié" in page.content.decode()


def test_a_password_session_signs_out_locally_only(client, login, lorient, proconnect):
    agent = make_member(lorient, Role.ACHETEUR)
    login(agent)
    response = client.post("/compte/deconnexion/")
    assert response.status_code == 302 and response["Location"] == "/"


def test_an_unreachable_provider_gets_a_page_not_a_500(client, proconnect, settings):
    settings.PROCONNECT_ISSUER = "http://127.0.0.1:9"  # discard port: nothing listens
    response = client.get(START)
    assert response.status_code == 503 and "ProConnect ne répond pas" in response.content.decode()


def test_app_passwords_and_api_keys_work_for_a_proconnect_account(client, proconnect, lorient):
    proconnect.add_user("sub-apps", email="poste@lorient.fr", siret="21560121400017")
    _sign_in(client, proconnect, "sub-apps")
    user = User.objects.get(email="poste@lorient.fr")
    assert not user.has_usable_password()
    # The référent grants the role; the convention opens the service.
    make_convention(lorient, [Service.ACTES])
    make_member(lorient, Role.AGENT_ACTES, user=user)

    page = client.post("/compte/mots-de-passe-application/", {"name": "poste"}).content.decode()
    secret = re.search(r'<code id="new-app-password">([^<]+)</code>', page).group(1)
    page = client.post("/compte/cles-api/", {"name": "logiciel"}).content.decode()
    key = re.search(r'<code id="new-key">([^<]+)</code>', page).group(1)

    client.logout()
    basic = base64.b64encode(f"{user.email}:{secret}".encode()).decode()
    dav = client.generic(
        "PROPFIND", "/dav/", b"", HTTP_AUTHORIZATION=f"Basic {basic}", HTTP_DEPTH="0"
    )
    assert dav.status_code == 207
    basic = base64.b64encode(f"{user.email}:{key}".encode()).decode()
    api = client.get("/api/test-connexion.php", HTTP_AUTHORIZATION=f"Basic {basic}")
    assert api.status_code == 200 and api.content.startswith(b"OK")


def test_a_new_proconnect_account_sees_nothing_of_another_organisation(client, proconnect, lorient):
    other = OrganisationFactory(name="Commune de Brest")
    proconnect.add_user("sub-scope", email="curieux@lorient.fr", siret="21560121400017")
    _sign_in(client, proconnect, "sub-scope")
    assert client.get(f"/organisations/{other.pk}/utilisateurs/").status_code in (403, 404)
    assert client.get(f"/organisations/{other.pk}/").status_code in (403, 404)


def test_the_security_page_shows_the_link_and_unlinks_it(client, proconnect, lorient):
    agent = make_member(lorient, Role.ACHETEUR)
    proconnect.add_user("sub-link", email=agent.email, acr="eidas1")
    _sign_in(client, proconnect, "sub-link")
    page = client.get("/compte/securite/").content.decode()
    assert "Votre compte est relié à ProConnect" in page and "(niveau eidas1)" in page
    response = client.post("/compte/securite/delier-proconnect/", follow=True)
    assert "n&#x27;est plus relié à ProConnect" in response.content.decode()
    assert not ProConnectIdentity.objects.filter(user=agent).exists()
    assert JournalEntry.objects.filter(action="account.proconnect_unlinked").count() == 1
    # The next sign-in links it again, by the address.
    client.logout()
    _sign_in(client, proconnect, "sub-link")
    assert ProConnectIdentity.objects.get(user=agent).sub == "sub-link"


def test_linking_and_creating_are_journaled(client, proconnect, lorient):
    agent = make_member(lorient, Role.ACHETEUR)
    proconnect.add_user("sub-j1", email=agent.email)
    proconnect.add_user("sub-j2", email="cree@lorient.fr", siret="21560121400017")
    _sign_in(client, proconnect, "sub-j1")
    client.logout()
    _sign_in(client, proconnect, "sub-j2")
    actions = list(JournalEntry.objects.order_by("pk").values_list("action", flat=True))
    assert actions.count("account.proconnect_linked") == 2
    assert actions.count("account.created_by_proconnect") == 1


def test_another_establishment_of_the_same_siren_designates_the_organisation(
    client, proconnect, lorient
):
    """A commune's services have their own SIRET (same SIREN, another NIC)."""
    proconnect.add_user("sub-nic", email="services.techniques@lorient.fr", siret="21560121400199")
    _sign_in(client, proconnect, "sub-nic")
    user = User.objects.get(email="services.techniques@lorient.fr")
    assert Membership.objects.get(user=user).organisation == lorient
    assert client.session["active_organisation_id"] == lorient.pk
