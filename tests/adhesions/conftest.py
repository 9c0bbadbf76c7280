from datetime import date

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from emegalis.core.services_catalog import Service
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_convention, make_member


@pytest.fixture
def syndicat(db):
    return OrganisationFactory(
        name="Syndicat mixte Mégalis Bretagne",
        kind=OrganisationKind.SYNDICAT,
        insee_nature="",
        address="15 rue Claude Chappe",
        postcode="35510",
        city="Cesson-Sévigné",
    )


@pytest.fixture
def staff(syndicat):
    """A platform operator (role operateur, which requires 2FA)."""
    return make_member(syndicat, Role.OPERATEUR)


@pytest.fixture
def staff_client(client, staff):
    """A client logged in as the operator with a verified second factor.

    django_otp keeps the verified device in the session under DEVICE_ID_SESSION_KEY; the
    OTPMiddleware then marks the user verified, so TwoFactorRequiredMiddleware lets it pass.
    """
    device = TOTPDevice.objects.create(user=staff, name="test", confirmed=True)
    client.force_login(staff)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def agglo(db):
    return OrganisationFactory(
        name="Lorient Agglomération",
        kind=OrganisationKind.COMMUNAUTE_AGGLOMERATION,
        insee_nature="46",
        address="Esplanade du Péristyle",
        postcode="56100",
        city="Lorient",
    )


COMMUNE_NAMES = ["Lorient", "Plœmeur", "Lanester", "Quéven", "Larmor-Plage", "Hennebont"]


@pytest.fixture
def communes(agglo):
    return [OrganisationFactory(name=f"Commune de {name}", parent=agglo) for name in COMMUNE_NAMES]


@pytest.fixture
def commune_a(communes):
    return communes[0]


@pytest.fixture
def commune_b(communes):
    return communes[1]


@pytest.fixture
def agent_a(commune_a):
    return make_member(commune_a, Role.ACHETEUR)


@pytest.fixture
def convention_a(commune_a):
    return make_convention(
        commune_a, [Service.MARCHES, Service.ACTES], start=date(2025, 1, 1), end=date(2029, 12, 31)
    )
