"""A référent manages their organisation's agents: add (with invitation), roles, deactivation."""

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from emegalis.core.models import JournalEntry
from emegalis.organisations import selectors, services
from emegalis.organisations.models import Membership, User
from emegalis.organisations.roles import Role
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, make_member


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def commune(db):
    return OrganisationFactory(name="Commune de Larmor-Plage")


@pytest.fixture
def referent(commune):
    return make_member(commune, Role.REFERENT)


@pytest.fixture
def agent(commune):
    return make_member(commune, Role.ACHETEUR)


def add_url(organisation):
    return f"/organisations/{organisation.pk}/utilisateurs/ajouter/"


def edit_url(membership):
    return f"/organisations/{membership.organisation_id}/utilisateurs/{membership.pk}/"


# --- adding an agent ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_add_page_offers_only_non_platform_roles(client, login, referent, commune):
    login(referent)
    page = client.get(add_url(commune))
    assert page.status_code == 200
    content = html(page)
    assert 'value="acheteur"' in content and 'value="referent"' in content
    assert 'value="operateur"' not in content and 'value="support"' not in content
    # Nor roles of another kind of organisation.
    assert 'value="entreprise"' not in content and 'value="agent_prefecture"' not in content
    assert '<legend class="form-label fs-6">Rôles' in content
    assert '<label class="form-label" for="id_email">Adresse électronique' in content


@pytest.mark.django_db
def test_referent_adds_a_new_agent_who_gets_an_invitation(
    client, login, referent, commune, django_capture_on_commit_callbacks
):
    login(referent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            add_url(commune),
            {
                "email": "Nouvel.Agent@Larmor-Plage.fr",
                "first_name": "Anne",
                "last_name": "Le Goff",
                "roles": [Role.ACHETEUR, Role.AGENT_ACTES],
            },
        )
    assert response.status_code == 302
    assert response["Location"] == f"/organisations/{commune.pk}/utilisateurs/"
    user = User.objects.get(email="nouvel.agent@larmor-plage.fr")
    assert not user.has_usable_password()
    membership = Membership.objects.get(user=user, organisation=commune)
    assert {r.role for r in membership.roles.all()} == {Role.ACHETEUR, Role.AGENT_ACTES}
    entry = JournalEntry.objects.get(action="membership.added")
    assert entry.actor_id == referent.pk and entry.payload["new_user"] is True

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nouvel.agent@larmor-plage.fr"]
    assert message.subject == "e-mégalis — votre compte pour Commune de Larmor-Plage"
    assert "Bonjour Anne," in message.body
    assert "pour agir au nom de Commune de Larmor-Plage" in message.body

    listing = client.get(response["Location"])
    assert "Un courriel lui a été envoyé à nouvel.agent@larmor-plage.fr" in html(listing)
    assert "nouvel.agent@larmor-plage.fr" in html(listing)

    # The invited agent follows the link, chooses a password and logs in with it.
    client.post("/compte/deconnexion/")
    path = re.search(r"https?://[^/\s]+(/compte/mot-de-passe/nouveau/\S+/)", message.body).group(1)
    form_url = client.get(path)["Location"]
    new_password = "mon-premier-secret-2026"
    response = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})
    assert response["Location"] == "/compte/mot-de-passe/nouveau/termine/"
    response = client.post(
        "/compte/connexion/", {"username": "nouvel.agent@larmor-plage.fr", "password": new_password}
    )
    assert response.status_code == 302
    assert client.get("/tableau-de-bord/").context["active_organisation"] == commune


@pytest.mark.django_db
def test_invited_agent_may_ask_for_a_new_link(client, referent, commune):
    services.add_member(actor=referent, organisation=commune, email="invite@example.test")
    client.post("/compte/mot-de-passe/oubli/", {"email": "invite@example.test"})
    assert [m.to for m in mail.outbox] == [["invite@example.test"]]


@pytest.mark.django_db
def test_adding_an_existing_user_attaches_them_without_invitation(
    client, login, referent, commune, django_capture_on_commit_callbacks
):
    existing = UserFactory()
    login(referent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            add_url(commune), {"email": existing.email.upper(), "roles": [Role.STAGIAIRE]}
        )
    assert response.status_code == 302
    assert Membership.objects.get(user=existing, organisation=commune).roles.get().role == (
        Role.STAGIAIRE
    )
    assert mail.outbox == []
    assert User.objects.filter(email__iexact=existing.email).count() == 1


@pytest.mark.django_db
def test_adding_someone_already_attached_is_refused(client, login, referent, agent, commune):
    login(referent)
    response = client.post(add_url(commune), {"email": agent.email, "roles": [Role.REFERENT]})
    assert response.status_code == 200
    assert "Cet agent est déjà rattaché à l&#x27;organisation" in html(response)
    assert Role.REFERENT not in selectors.roles_in(agent, commune)


@pytest.mark.django_db
def test_add_form_shows_french_errors(client, login, referent, commune):
    login(referent)
    response = client.post(add_url(commune), {"email": "pas-une-adresse", "roles": ["operateur"]})
    assert response.status_code == 200
    content = html(response)
    assert "Saisissez une adresse électronique valide" in content
    assert 'aria-describedby="id_email_error"' in content
    assert "Sélectionnez un choix valide. operateur n’en fait pas partie." in content
    assert not User.objects.filter(email="pas-une-adresse").exists()


@pytest.mark.django_db
def test_add_page_refuses_a_plain_agent(client, login, agent, commune):
    login(agent)
    assert client.get(add_url(commune)).status_code == 404
    response = client.post(add_url(commune), {"email": "intrus@example.test"})
    assert response.status_code == 404
    assert not User.objects.filter(email="intrus@example.test").exists()


@pytest.mark.django_db
def test_add_page_refuses_another_organisations_referent(client, login, commune):
    other_referent = make_member(OrganisationFactory(), Role.REFERENT)
    login(other_referent)
    assert client.get(add_url(commune)).status_code == 404
    response = client.post(add_url(commune), {"email": "intrus@example.test"})
    assert response.status_code == 404
    assert not User.objects.filter(email="intrus@example.test").exists()


# --- roles and deactivation --------------------------------------------------------------------


@pytest.mark.django_db
def test_referent_changes_an_agents_roles(client, login, referent, agent, commune):
    membership = agent.memberships.get()
    login(referent)
    page = client.get(edit_url(membership))
    assert page.status_code == 200
    assert 'value="acheteur" class="form-check-input" id="id_roles_1" checked>' in html(page)
    assert 'value="referent" class="form-check-input" id="id_roles_0">' in html(page)
    response = client.post(edit_url(membership), {"roles": [Role.COMMISSION, Role.AGENT_ACTES]})
    assert response.status_code == 302
    assert {r.role for r in membership.roles.all()} == {Role.COMMISSION, Role.AGENT_ACTES}
    assert JournalEntry.objects.filter(action="membership.roles_changed").count() == 1


@pytest.mark.django_db
def test_referent_deactivates_and_reactivates_an_agent(client, login, referent, agent, commune):
    membership = agent.memberships.get()
    login(referent)
    assert client.get(edit_url(membership) + "desactiver/").status_code == 405
    response = client.post(edit_url(membership) + "desactiver/")
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.is_active is False
    assert JournalEntry.objects.filter(action="membership.deactivated").count() == 1
    assert "désactivé" in html(client.get(f"/organisations/{commune.pk}/utilisateurs/"))

    client.post("/compte/deconnexion/")
    client.post("/compte/connexion/", {"username": agent.email, "password": PASSWORD})
    assert client.get(f"/organisations/{commune.pk}/").status_code == 404
    client.post("/compte/deconnexion/")

    login_client = client.post(
        "/compte/connexion/", {"username": referent.email, "password": PASSWORD}
    )
    assert login_client.status_code == 302
    client.post(edit_url(membership) + "reactiver/")
    membership.refresh_from_db()
    assert membership.is_active is True


@pytest.mark.django_db
def test_referent_cannot_deactivate_themselves(client, login, referent):
    membership = referent.memberships.get()
    login(referent)
    response = client.post(edit_url(membership) + "desactiver/", follow=True)
    assert "Vous ne pouvez pas désactiver votre propre rattachement." in html(response)
    membership.refresh_from_db()
    assert membership.is_active is True


@pytest.mark.django_db
def test_plain_agent_cannot_change_roles_or_deactivate(client, login, agent, referent):
    target = referent.memberships.get()
    login(agent)
    assert client.get(edit_url(target)).status_code == 404
    assert client.post(edit_url(target), {"roles": []}).status_code == 404
    assert client.post(edit_url(target) + "desactiver/").status_code == 404
    target.refresh_from_db()
    assert target.is_active and target.roles.filter(role=Role.REFERENT).exists()


@pytest.mark.django_db
def test_membership_of_another_organisation_is_not_reachable_through_mine(
    client, login, referent, commune
):
    stranger = make_member(OrganisationFactory(), Role.ACHETEUR)
    foreign = stranger.memberships.get()
    login(referent)
    # Own organisation in the URL, someone else's membership id: still 404.
    url = f"/organisations/{commune.pk}/utilisateurs/{foreign.pk}/"
    assert client.get(url).status_code == 404
    assert client.post(url + "desactiver/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_active


# --- the services' own guards ------------------------------------------------------------------


@pytest.mark.django_db
def test_referent_cannot_grant_platform_roles(referent, agent, commune):
    with pytest.raises((PermissionDenied, ValidationError)):
        services.set_roles(
            actor=referent, membership=agent.memberships.get(), roles=[Role.OPERATEUR]
        )
    with pytest.raises((PermissionDenied, ValidationError)):
        services.add_member(
            actor=referent, organisation=commune, email="x@example.test", roles=[Role.SUPPORT]
        )
    assert not agent.memberships.get().roles.filter(role=Role.OPERATEUR).exists()


@pytest.mark.django_db
def test_syndicat_referent_cannot_make_anyone_operator(syndicat):
    referent = make_member(syndicat, Role.REFERENT)
    agent = make_member(syndicat, Role.STAGIAIRE)
    with pytest.raises(PermissionDenied):
        services.set_roles(
            actor=referent, membership=agent.memberships.get(), roles=[Role.OPERATEUR]
        )


@pytest.mark.django_db
def test_platform_roles_only_inside_the_syndicat(staff, commune, agent):
    with pytest.raises(ValidationError):
        services.set_roles(actor=staff, membership=agent.memberships.get(), roles=[Role.OPERATEUR])


@pytest.mark.django_db
def test_edit_page_keeps_hidden_platform_roles(client, login_verified, staff, syndicat):
    colleague = make_member(syndicat, Role.SUPPORT, Role.STAGIAIRE)
    membership = colleague.memberships.get()
    login_verified(staff)
    response = client.post(edit_url(membership), {"roles": [Role.REFERENT]})
    assert response.status_code == 302
    assert {r.role for r in membership.roles.all()} == {Role.SUPPORT, Role.REFERENT}


@pytest.mark.django_db
def test_syndicat_referent_cannot_deactivate_an_operator(client, login, syndicat, staff):
    referent = make_member(syndicat, Role.REFERENT)
    with pytest.raises(PermissionDenied):
        services.deactivate_member(actor=referent, membership=staff.memberships.get())


@pytest.mark.django_db
def test_failed_add_leaves_nothing_behind(referent, commune):
    with pytest.raises(ValidationError):
        services.add_member(
            actor=referent, organisation=commune, email="ok@example.test", roles=["inconnu"]
        )
    assert not User.objects.filter(email="ok@example.test").exists()
    assert not JournalEntry.objects.filter(action="membership.added").exists()
