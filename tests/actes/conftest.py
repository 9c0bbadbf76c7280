"""Fixtures of the actes tests: a commune with its convention and classification, its agent,
a prefecture, and a wire that checks every archive and can close the loop in-process (the
platform's transport delivers to the prefecture counterpart, whose returns come back)."""

import io

import pytest
from django.utils import timezone

from emegalis.actes.models import Transaction
from emegalis.actes.returns import services as returns_services
from emegalis.actes.transmission.transport import TransportError
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from emegalis.organisations.services import create_api_key
from emegalis.prefecture import services as prefecture_services
from emegalis.prefecture.models import ReceivedAct, Reply
from tests.actes.helpers import (
    check_all_stored_archives,
    check_archive,
    make_commune,
    pdf_upload,
)
from tests.factories import OrganisationFactory, make_member


@pytest.fixture(autouse=True)
def actes_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ACTES_TRANSPORT_URL = "http://127.0.0.1:9/prefecture/depot/"
    settings.ACTES_RETURN_TOKEN = "jeton-retour-de-test"
    settings.PREFECTURE_RETURN_TOKEN = "jeton-retour-de-test"
    settings.PREFECTURE_COUNTERPART_ENABLED = True
    settings.ACTES_CLASSIFICATION_REQUEST_INTERVAL = 0
    return settings


@pytest.fixture(autouse=True)
def every_stored_archive_is_valid(db):
    """After each test: every archive built (by the platform or the counterpart) validates
    against the XSD and matches the naming regexes."""
    yield
    check_all_stored_archives()


@pytest.fixture
def commune(db):
    return make_commune(name="Commune de Kerbihan")


@pytest.fixture
def agent(commune):
    return make_member(commune, Role.AGENT_ACTES)


@pytest.fixture
def agent_client(agent, login):
    return login(agent)


@pytest.fixture
def prefecture(db):
    return OrganisationFactory(
        name="Préfecture du Morbihan (test)",
        kind=OrganisationKind.PREFECTURE,
        insee_nature="",
        departement="056",
    )


@pytest.fixture
def prefect_agent(prefecture):
    return make_member(prefecture, Role.AGENT_PREFECTURE)


@pytest.fixture
def prefecture_letter(prefect_agent, prefecture, run_commits):
    """The counterpart's agent sends a letter (3-1 demande de pièces, 4-1 lettre
    d'observations, 5-1 déféré…) about the act it received; returns the letter as the platform
    recorded it."""

    def _send(code: str, details: str, document=None, document_name: str = "lettre.pdf"):
        with run_commits():
            prefecture_services.send_letter(
                actor=prefect_agent,
                prefecture=prefecture,
                act=ReceivedAct.objects.get(),
                code=code,
                details=details,
                document=document or pdf_upload(),
                document_name=document_name,
            )
        return Transaction.objects.get(message_code=code)

    return _send


@pytest.fixture
def acknowledge_reply(prefect_agent, prefecture, run_commits):
    """The counterpart's agent acknowledges the commune's reply to its letter."""

    def _acknowledge():
        with run_commits():
            prefecture_services.acknowledge_reply(
                actor=prefect_agent, prefecture=prefecture, reply=Reply.objects.get()
            )

    return _acknowledge


class Wire:
    """Stands for the network between the platform and the prefecture counterpart."""

    def __init__(self):
        self.sent: list[tuple[str, bytes]] = []
        self.returns: list[tuple[str, bytes]] = []
        self.mode = "loop"  # "loop": deliver to the counterpart; "ok": swallow; "fail"

    def post(self, *, name, file, size, config=None):
        data = file.read()
        assert len(data) == size
        check_archive(name, data)
        self.sent.append((name, data))
        if self.mode == "fail":
            raise TransportError("Serveur injoignable (test)")
        if self.mode == "loop":
            prefecture_services.receive_archive(source=io.BytesIO(data), name=name)
        return 200

    def push(self, out):
        with out.archive.open("rb") as fh:
            data = fh.read()
        check_archive(out.name, data)
        self.returns.append((out.name, data))
        returns_services.receive_return_archive(
            source=io.BytesIO(data), channel="http", name=out.name
        )
        type(out).objects.filter(pk=out.pk).update(sent_at=timezone.now())
        return True

    def codes_sent(self):
        return [_codes(d) for _, d in self.sent]


def _codes(data):
    from emegalis.actes import protocol as p

    return [m.CODE for m in p.read_archive(data).messages.values()]


@pytest.fixture
def wire(monkeypatch):
    w = Wire()
    monkeypatch.setattr("emegalis.actes.transmission.services.post_archive", w.post)
    monkeypatch.setattr("emegalis.prefecture.tasks.push", w.push)
    return w


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks (task enqueues) of the block, nested ones included."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def api_key(agent, commune):
    _, key = create_api_key(user=agent, organisation=commune, name="Logiciel de test")
    return key


@pytest.fixture
def api_client(client, agent, api_key):
    import base64

    token = base64.b64encode(f"{agent.email}:{api_key}".encode()).decode()
    client.defaults["HTTP_AUTHORIZATION"] = f"Basic {token}"
    return client


@pytest.fixture
def new_client():
    """Another browser: log a user in (second factor passed when they have a device)."""
    from django.test import Client
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.factories import PASSWORD, token_for

    def _client(user, verify: bool = False):
        c = Client()
        response = c.post("/compte/connexion/", {"username": user.email, "password": PASSWORD})
        assert response.status_code == 302
        if verify:
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            device = device or TOTPDevice.objects.create(user=user, confirmed=True, name="t")
            response = c.post("/compte/verification/", {"token": token_for(device), "next": "/"})
            assert response.status_code == 302
        return c

    return _client
