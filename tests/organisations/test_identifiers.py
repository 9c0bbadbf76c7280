"""SIREN / SIRET checks: through the validators, the service and the syndicat's form page."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from stdnum import luhn

from emegalis.core.models import JournalEntry
from emegalis.organisations import services
from emegalis.organisations.identifiers import siren_from_prefix, siret_from_siren
from emegalis.organisations.models import Organisation, OrganisationKind
from emegalis.organisations.roles import Role
from emegalis.organisations.validators import validate_siren, validate_siret
from tests.factories import OrganisationFactory, make_member

SIREN_CHECKSUM = "Ce SIREN n'est pas valide : sa clé de contrôle est fausse."
SIREN_LENGTH = "Le SIREN doit comporter exactement 9 chiffres."
SIRET_CHECKSUM = "Ce SIRET n'est pas valide : sa clé de contrôle est fausse."
SIRET_LENGTH = "Le SIRET doit comporter exactement 14 chiffres."
SIRET_NOT_SIREN = (
    "Le SIRET doit commencer par le SIREN de l'organisation (ses 9 premiers chiffres sont le "
    "SIREN)."
)

VALID_SIREN = siren_from_prefix("21560121")
VALID_SIRET = siret_from_siren(VALID_SIREN)


def wrong_check_digit(number: str) -> str:
    """The same number with its last digit changed, so the Luhn key no longer matches."""
    last = (int(number[-1]) + 1) % 10
    changed = number[:-1] + str(last)
    assert not luhn.is_valid(changed)
    return changed


def messages_of(excinfo) -> list[str]:
    return excinfo.value.messages


# --- the validators ---------------------------------------------------------------------------


def test_generated_numbers_pass_the_validators():
    validate_siren(VALID_SIREN)
    validate_siret(VALID_SIRET)
    assert VALID_SIRET.startswith(VALID_SIREN) and len(VALID_SIRET) == 14


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (wrong_check_digit(VALID_SIREN), SIREN_CHECKSUM),
        (VALID_SIREN[:8], SIREN_LENGTH),
        (VALID_SIREN + "0", SIREN_LENGTH),
        ("21560A21X", SIREN_LENGTH),
        ("", SIREN_LENGTH),
    ],
    ids=["checksum", "too-short", "too-long", "letters", "empty"],
)
def test_siren_validator_refuses_with_french_message(value, message):
    with pytest.raises(ValidationError) as excinfo:
        validate_siren(value)
    assert messages_of(excinfo) == [message]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (wrong_check_digit(VALID_SIRET), SIRET_CHECKSUM),
        (VALID_SIRET[:13], SIRET_LENGTH),
        (VALID_SIRET + "1", SIRET_LENGTH),
        (VALID_SIRET[:12] + "AB", SIRET_LENGTH),
    ],
    ids=["checksum", "too-short", "too-long", "letters"],
)
def test_siret_validator_refuses_with_french_message(value, message):
    with pytest.raises(ValidationError) as excinfo:
        validate_siret(value)
    assert messages_of(excinfo) == [message]


def test_siret_whose_siren_part_is_invalid_is_refused():
    # A Luhn-valid 14-digit number whose first 9 digits are not a valid SIREN.
    bad_siren = wrong_check_digit(VALID_SIREN)
    siret = bad_siren + "0001"
    siret += luhn.calc_check_digit(siret)
    with pytest.raises(ValidationError) as excinfo:
        validate_siret(siret)
    assert messages_of(excinfo) == [SIREN_CHECKSUM]


def _la_poste(valid_sum: bool, luhn_valid: bool) -> str:
    for n in range(100_000):
        candidate = f"356000000{n:05d}"
        digit_sum_ok = sum(int(d) for d in candidate) % 5 == 0
        if digit_sum_ok == valid_sum and luhn.is_valid(candidate) == luhn_valid:
            return candidate
    raise AssertionError("no such number")


def test_la_poste_siret_uses_the_digit_sum_rule():
    # Accepted although its Luhn key is wrong: La Poste's establishments follow another rule.
    accepted = _la_poste(valid_sum=True, luhn_valid=False)
    validate_siret(accepted)
    # Refused although its Luhn key is right: the digit sum is not a multiple of 5.
    refused = _la_poste(valid_sum=False, luhn_valid=True)
    with pytest.raises(ValidationError) as excinfo:
        validate_siret(refused)
    assert messages_of(excinfo) == [SIRET_CHECKSUM]


# --- through services.create_organisation ------------------------------------------------------


def _fields(**overrides):
    fields = {
        "name": "Commune de Quéven",
        "kind": OrganisationKind.COMMUNE,
        "siren": VALID_SIREN,
        "siret": VALID_SIRET,
        "insee_nature": "31",
        "departement": "056",
        "arrondissement": 2,
    }
    fields.update(overrides)
    return fields


@pytest.mark.django_db
def test_create_organisation_saves_and_journals(staff):
    organisation = services.create_organisation(actor=staff, **_fields())
    assert Organisation.objects.get(pk=organisation.pk).siret == VALID_SIRET
    entry = JournalEntry.objects.get(action="organisation.created")
    assert entry.object_id == str(organisation.pk) and entry.actor_id == staff.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"siren": wrong_check_digit(VALID_SIREN)}, "siren", SIREN_CHECKSUM),
        ({"siren": "12345"}, "siren", SIREN_LENGTH),
        ({"siret": wrong_check_digit(VALID_SIRET)}, "siret", SIRET_CHECKSUM),
        ({"siret": "1234"}, "siret", SIRET_LENGTH),
        (
            {"siret": siret_from_siren(siren_from_prefix("21560999"))},
            "siret",
            SIRET_NOT_SIREN,
        ),
    ],
    ids=["siren-checksum", "siren-length", "siret-checksum", "siret-length", "siret-other-siren"],
)
def test_create_organisation_refuses_bad_identifiers(staff, overrides, field, message):
    with pytest.raises(ValidationError) as excinfo:
        services.create_organisation(actor=staff, **_fields(**overrides))
    assert excinfo.value.message_dict[field] == [message]
    assert not Organisation.objects.filter(name="Commune de Quéven").exists()
    assert not JournalEntry.objects.filter(action="organisation.created").exists()


@pytest.mark.django_db
def test_create_organisation_refuses_a_commune_under_a_commune(staff):
    commune = OrganisationFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.create_organisation(actor=staff, **_fields(parent=commune))
    assert excinfo.value.message_dict["parent"][0].startswith("Le rattachement doit être un EPCI")


@pytest.mark.django_db
def test_a_ccas_may_hang_from_its_commune(staff):
    commune = OrganisationFactory()
    ccas = services.create_organisation(
        actor=staff, **_fields(name="CCAS", kind=OrganisationKind.AUTRE_PUBLIC, parent=commune)
    )
    assert ccas.parent == commune


@pytest.mark.django_db
def test_an_organisation_cannot_hang_from_a_departement(staff):
    departement = OrganisationFactory(kind=OrganisationKind.DEPARTEMENT)
    with pytest.raises(ValidationError) as excinfo:
        services.create_organisation(
            actor=staff, **_fields(kind=OrganisationKind.AUTRE_PUBLIC, parent=departement)
        )
    assert "parent" in excinfo.value.message_dict


@pytest.mark.django_db
def test_create_organisation_refuses_a_duplicate_siret(staff):
    services.create_organisation(actor=staff, **_fields())
    with pytest.raises(ValidationError) as excinfo:
        services.create_organisation(actor=staff, **_fields(name="Doublon"))
    assert "Une organisation portant ce SIRET est déjà enregistrée." in excinfo.value.messages


@pytest.mark.django_db
def test_create_organisation_refused_to_a_referent():
    referent = make_member(OrganisationFactory(), Role.REFERENT)
    with pytest.raises(PermissionDenied):
        services.create_organisation(actor=referent, **_fields())


# --- through the syndicat's page ---------------------------------------------------------------

CREATE_URL = "/operateur/organisations/nouvelle/"


def _post_data(**overrides):
    data = _fields(**overrides)
    data.setdefault("insee_code", "")
    data.setdefault("email", "")
    data.setdefault("parent", "")
    return data


@pytest.mark.django_db
def test_operator_creates_an_organisation_from_the_page(client, login_verified, staff):
    login_verified(staff)
    epci = OrganisationFactory(
        name="Lorient Agglomération", kind=OrganisationKind.COMMUNAUTE_AGGLOMERATION
    )
    page = client.get(CREATE_URL)
    assert page.status_code == 200
    assert 'name="siren"' in page.content.decode()
    response = client.post(CREATE_URL, _post_data(parent=epci.pk))
    organisation = Organisation.objects.get(name="Commune de Quéven")
    assert response.status_code == 302
    assert response["Location"] == f"/organisations/{organisation.pk}/"
    assert organisation.parent == epci
    assert JournalEntry.objects.filter(action="organisation.created").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"siren": wrong_check_digit(VALID_SIREN)}, "siren", SIREN_CHECKSUM),
        ({"siren": "2156012"}, "siren", SIREN_LENGTH),
        ({"siren": "2156012345"}, "siren", SIREN_LENGTH),
        ({"siren": "21560A21X"}, "siren", SIREN_LENGTH),
        ({"siret": wrong_check_digit(VALID_SIRET)}, "siret", SIRET_CHECKSUM),
        ({"siret": VALID_SIRET + "9"}, "siret", SIRET_LENGTH),
        ({"siret": siret_from_siren(siren_from_prefix("21560999"))}, "siret", SIRET_NOT_SIREN),
    ],
    ids=[
        "siren-checksum",
        "siren-short",
        "siren-long",
        "siren-letters",
        "siret-checksum",
        "siret-long",
        "siret-other-siren",
    ],
)
def test_operator_page_shows_french_messages(
    client, login_verified, staff, overrides, field, message
):
    login_verified(staff)
    response = client.post(CREATE_URL, _post_data(**overrides))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    html = response.content.decode()
    assert message.replace("'", "&#x27;") in html
    # The error is tied to its input for screen readers.
    assert f'aria-describedby="id_{field}_helptext id_{field}_error"' in html
    assert f'id="id_{field}_error"' in html
    assert not Organisation.objects.filter(name="Commune de Quéven").exists()


@pytest.mark.django_db
def test_organisation_create_page_is_forbidden_to_non_staff(client, login):
    referent = make_member(OrganisationFactory(), Role.REFERENT)
    login(referent)
    assert client.get(CREATE_URL).status_code == 403
    response = client.post(CREATE_URL, _post_data())
    assert response.status_code == 403
    assert not Organisation.objects.filter(name="Commune de Quéven").exists()


@pytest.mark.django_db
def test_organisation_create_page_requires_login(client):
    response = client.get(CREATE_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/compte/connexion/")
