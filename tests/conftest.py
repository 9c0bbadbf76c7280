import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from tests.factories import PASSWORD, OrganisationFactory, make_member, token_for
from tests.proconnect import CLIENT_ID, CLIENT_SECRET, LocalProConnect

# The salle des marchés' fixtures serve the core, security and browser tests too.
pytest_plugins = ["tests.marches.fixtures"]


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path_factory):
    """Each test stores files in its own folder: sealed chunks, receipts and DCE files of one
    test never meet another's (object names repeat when database ids restart)."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _isolated_journal_witnesses(settings, tmp_path_factory):
    """Each test has its own head-witness log: the database is emptied between tests, the log
    outside it would otherwise witness entries of earlier tests."""
    settings.JOURNAL_WITNESS_DIR = tmp_path_factory.mktemp("journal-witnesses")


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def login(client):
    """Log a user in with the real login form (so throttling and 2FA apply)."""

    def _login(user, password: str = PASSWORD):
        response = client.post("/compte/connexion/", {"username": user.email, "password": password})
        assert response.status_code == 302, response.content[:500]
        return client

    return _login


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


@pytest.fixture
def syndicat(db):
    """The syndicat that runs the platform (its address heads the contribution calls)."""
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
def staff_client(staff, login_verified):
    """A client logged in as the operator, second factor passed."""
    return login_verified(staff)


@pytest.fixture(scope="session")
def proconnect_provider(tmp_path_factory):
    """The local ProConnect in its own process on 127.0.0.1 (scripts/proconnect_provider.py)."""
    provider = LocalProConnect(tmp_path_factory.mktemp("proconnect") / "provider.log")
    yield provider
    provider.stop()


@pytest.fixture
def proconnect(settings, proconnect_provider):
    """ProConnect switched on, pointing at the local provider with its ProConnect profile."""
    settings.PROCONNECT_ISSUER = proconnect_provider.url
    settings.PROCONNECT_CLIENT_ID = CLIENT_ID
    settings.PROCONNECT_CLIENT_SECRET = CLIENT_SECRET
    settings.PROCONNECT_2FA_ACR = frozenset()
    settings.PROCONNECT_2FA_AMR = frozenset()
    csp = dict(settings.SECURE_CSP)
    csp["form-action"] = [*csp["form-action"], proconnect_provider.url]
    settings.SECURE_CSP = csp
    proconnect_provider.set_profile()
    return proconnect_provider
