"""Company sign-up by SIRET (one company, many users, approval by its référents) and saved
searches sent by the daily task."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError

from emegalis.core import clock
from emegalis.marches import tasks
from emegalis.marches.consultations import alerts
from emegalis.marches.consultations.models import SavedSearch
from emegalis.marches.consultations.selectors import SearchParams
from emegalis.organisations.identifiers import siren_from_prefix, siret_from_siren
from emegalis.organisations.models import Membership, Organisation, OrganisationKind
from emegalis.organisations.roles import Role
from emegalis.organisations.services import register_company

pytestmark = pytest.mark.django_db

SIRET = siret_from_siren(siren_from_prefix("52345678"))
PASSWORD = "un-mot-de-passe-solide-42"


def _signup(client, **overrides):
    data = {
        "siret": SIRET,
        "company_name": "Kerne Peinture",
        "first_name": "Maël",
        "last_name": "Le Du",
        "email": "mael@kerne.test",
        "password": PASSWORD,
        "password2": PASSWORD,
        "accept_terms": "on",
        **overrides,
    }
    return client.post("/marches/entreprises/inscription/", data, follow=True)


def _confirmation_link(address: str) -> str:
    message = next(m for m in reversed(mail.outbox) if m.to == [address])
    return re.search(r"http://\S+/compte/confirmer/\S+/", message.body).group(0)


def _log_in(client, email):
    return client.post("/compte/connexion/", {"username": email, "password": PASSWORD})


def test_first_user_creates_the_company_confirms_the_address_then_works(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _signup(client)
    assert "Un courriel vient d'être envoyé" in response.content.decode()
    company = Organisation.objects.get(siret=SIRET)
    assert company.kind == OrganisationKind.ENTREPRISE
    assert company.siren == SIRET[:9]
    membership = Membership.objects.get(organisation=company)
    assert membership.is_active
    assert {r.role for r in membership.roles.all()} == {Role.ENTREPRISE, Role.REFERENT}
    user = membership.user
    # The conditions accepted are kept with their version; the account waits.
    assert user.terms_version == settings.TERMS_VERSION and user.terms_accepted_at
    assert not user.is_active and user.email_confirmed_at is None
    refused = _log_in(client, "mael@kerne.test")
    assert refused.status_code == 200
    assert "pas encore confirmée" in refused.content.decode()

    link = _confirmation_link("mael@kerne.test")
    confirmed = client.get(link)
    assert confirmed.status_code == 200
    assert "est confirmée" in confirmed.content.decode()
    user.refresh_from_db()
    assert user.is_active and user.email_confirmed_at is not None
    assert client.get(link).status_code == 200  # a link used twice is harmless
    assert _log_in(client, "mael@kerne.test").status_code == 302
    page = client.get("/marches/entreprise/").content.decode()
    assert SIRET in page


def test_an_expired_link_is_refused_and_a_new_one_can_be_asked(
    client, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        _signup(client)
    link = _confirmation_link("mael@kerne.test")
    with clock.shifted(timedelta(hours=settings.SIGNUP_CONFIRMATION_HOURS, minutes=1)):
        expired = client.get(link)
    assert expired.status_code == 400
    assert "a expiré" in expired.content.decode()
    assert not Membership.objects.get().user.is_active
    forged = client.get(link.replace("/confirmer/", "/confirmer/x"))
    assert forged.status_code == 400 and "pas valide" in forged.content.decode()

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/compte/confirmer/nouveau-lien/", {"email": "MAEL@kerne.test"})
        unknown = client.post("/compte/confirmer/nouveau-lien/", {"email": "x@kerne.test"})
    # The same answer whether the address has an account or not.
    for page in (answer, unknown):
        assert 'id="signup-resent"' in page.content.decode()
    assert [m.to for m in mail.outbox] == [["mael@kerne.test"]]
    assert client.get(_confirmation_link("mael@kerne.test")).status_code == 200
    assert Membership.objects.get().user.is_active


def test_second_user_of_the_siret_waits_for_approval(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _signup(client)
    client.get(_confirmation_link("mael@kerne.test"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = _signup(
            client, email="nolwenn@kerne.test", company_name="", first_name="Nolwenn"
        )
    assert "transmise à ses responsables" in response.content.decode()
    assert Organisation.objects.filter(siret=SIRET).count() == 1
    pending = Membership.objects.get(user__email="nolwenn@kerne.test")
    assert not pending.is_active
    # Only the confirmation e-mail so far: the référents hear of confirmed addresses only.
    assert [m.to for m in mail.outbox] == [["nolwenn@kerne.test"]]
    with django_capture_on_commit_callbacks(execute=True):
        client.get(_confirmation_link("nolwenn@kerne.test"))
    assert [m.to for m in mail.outbox][1:] == [["mael@kerne.test"]]
    assert "nolwenn@kerne.test" in mail.outbox[1].body
    _log_in(client, "nolwenn@kerne.test")
    page = client.get("/marches/entreprise/").content.decode()
    assert "attend l&#x27;accord" in page or "attend l'accord" in page
    # The référent approves with the organisation's member page.
    client.logout()
    _log_in(client, "mael@kerne.test")
    response = client.post(
        f"/organisations/{pending.organisation_id}/utilisateurs/{pending.pk}/reactiver/"
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.is_active


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"siret": "12345678901234"}, "clé de contrôle"),
        ({"siret": "123"}, "14 chiffres"),
        ({"company_name": ""}, "raison sociale"),
        ({"password2": "autre-chose-encore-42"}, "pas identiques"),
        ({"password": "court", "password2": "court"}, "trop court"),
        ({"accept_terms": ""}, "Acceptez les conditions"),
    ],
)
def test_signup_errors_are_french(client, overrides, message):
    response = _signup(client, **overrides)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Organisation.objects.filter(kind=OrganisationKind.ENTREPRISE).exists()


def test_a_public_organisations_siret_is_refused(commune_a):
    with pytest.raises(ValidationError) as exc:
        register_company(
            siret=commune_a.siret,
            company_name="x",
            email="x@x.test",
            password=PASSWORD,
            terms_version=settings.TERMS_VERSION,
        )
    assert "organisation publique" in exc.value.message_dict["siret"][0]


def test_an_existing_email_is_refused(company_user):
    with pytest.raises(ValidationError) as exc:
        register_company(
            siret=SIRET,
            company_name="x",
            email=company_user.email.upper(),
            password=PASSWORD,
            terms_version=settings.TERMS_VERSION,
        )
    assert "existe déjà" in exc.value.message_dict["email"][0]


def test_alert_is_saved_from_the_search_page_and_sent_daily(
    client_for, company_user, make_consultation, monkeypatch
):
    client = client_for(company_user)
    response = client.post(
        "/marches/alertes/", {"q": "voirie", "nature": "travaux", "name": "Voirie"}, follow=True
    )
    assert "Alerte enregistrée" in response.content.decode()
    alert = SavedSearch.objects.get()
    assert alert.params == {"q": "voirie", "nature": "travaux"}
    mail.outbox.clear()
    make_consultation(
        reference="V-1", title="Voirie du centre", nature="travaux", cpv_main="45000000-7"
    )
    make_consultation(reference="N-1")  # does not match
    later = clock.now() + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    result = tasks.send_search_alerts.enqueue()  # immediate backend in tests
    assert result.return_value == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [company_user.email]
    assert "Voirie du centre" in mail.outbox[0].body
    assert "Nettoyage" not in mail.outbox[0].body
    # Nothing new the next day: no e-mail.
    monkeypatch.setattr(clock, "now", lambda: later + timedelta(days=1))
    assert tasks.send_search_alerts.enqueue().return_value == 0
    assert len(mail.outbox) == 1


def test_alert_needs_a_criterion_and_belongs_to_its_user(client_for, company_user, buyer_a):
    with pytest.raises(ValidationError):
        alerts.save_search(user=company_user, name="Tout", params=SearchParams())
    alert = alerts.save_search(user=company_user, name="CPV", params=SearchParams(cpv="45000000-7"))
    client = client_for(buyer_a)
    assert client.post(f"/marches/alertes/{alert.pk}/supprimer/").status_code == 404
    assert SavedSearch.objects.filter(pk=alert.pk).exists()


def test_company_profile_update(client_for, company, company_user):
    client = client_for(company_user)
    response = client.post(
        "/marches/entreprise/profil/",
        {"name": "Armor Bâtiment SAS", "postcode": "56000", "city": "Vannes", "email": "bad"},
    )
    assert response.status_code == 200
    assert "Saisissez une adresse" in response.content.decode()
    client.post(
        "/marches/entreprise/profil/",
        {"name": "Armor Bâtiment SAS", "postcode": "56000", "city": "Vannes"},
    )
    company.refresh_from_db()
    assert company.name == "Armor Bâtiment SAS"
