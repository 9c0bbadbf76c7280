import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_member


def token_for(device: TOTPDevice, drift: int = 0) -> str:
    """The code the user's application shows (drift 1: the next 30-second step's code)."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{code:0{device.digits}d}"


@pytest.fixture
def syndicat(db):
    return OrganisationFactory(name="Syndicat mixte", kind=OrganisationKind.SYNDICAT)


@pytest.fixture
def operator(syndicat):
    return make_member(syndicat, Role.OPERATEUR)


@pytest.fixture
def login_verified(client, login):
    """Log in through the form, then pass the second factor with a confirmed TOTP device."""

    def _login_verified(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, confirmed=True, name="test")
        login(user)
        response = client.post("/compte/verification/", {"token": token_for(device), "next": "/"})
        assert response.status_code == 302, response.content[:500]
        return client

    return _login_verified
