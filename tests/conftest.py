import pytest

from tests.factories import PASSWORD


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
