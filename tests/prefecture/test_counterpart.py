"""The prefecture counterpart: its endpoint, its answers, its agent's pages and their scope."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.actes import protocol as p
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from emegalis.prefecture import services as pref
from emegalis.prefecture.models import OutgoingReturn, ReceivedAct
from tests.actes.helpers import acte_form, check_archive, pdf_upload
from tests.factories import OrganisationFactory, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(agent_client, wire, run_commits):
    wire.mode = "ok"
    with run_commits():
        agent_client.post("/actes/nouveau/", acte_form())
    return wire.sent[0]


def test_the_counterpart_is_off_unless_enabled(client, settings):
    settings.PREFECTURE_COUNTERPART_ENABLED = False
    assert client.post("/prefecture/depot/").status_code == 404


def test_a_valid_act_gets_an_aracte(client, sent):
    name, data = sent
    response = client.post("/prefecture/depot/", {"enveloppe": SimpleUploadedFile(name, data)})
    assert response.status_code == 200 and response.content.decode().startswith("OK\nARActe")
    out = OutgoingReturn.objects.get()
    archive = check_archive(out.name, out.archive.open("rb").read())
    ar = next(iter(archive.messages.values()))
    assert isinstance(ar, p.ARActe) and ar.id_acte == ReceivedAct.objects.get().id_acte
    # The same archive again is not answered twice.
    client.post("/prefecture/depot/", {"enveloppe": SimpleUploadedFile(name, data)})
    assert OutgoingReturn.objects.count() == 1


def test_an_act_with_an_unknown_matiere_gets_an_anomalie_acte(sent):
    name, data = sent
    archive = p.read_archive(data)
    msg_name, acte = next(iter(archive.messages.items()))
    bad = p.Acte(
        **{**{k: v for k, v in vars(acte).items() if k != "annexes_declarees"}, "matieres": (9, 99)}
    )
    files = dict(archive.documents)
    rebuilt = p.build_archive((archive.envelope_name, archive.envelope), {msg_name: bad}, files)
    record = pref.receive_archive(source=io.BytesIO(rebuilt), name=name)
    assert record.outcome == "AnomalieActe"
    out = OutgoingReturn.objects.get()
    anomaly = next(iter(check_archive(out.name, out.archive.open("rb").read()).messages.values()))
    assert isinstance(anomaly, p.AnomalieActe) and "9.99" in anomaly.detail


def test_an_envelope_from_an_unknown_siren_gets_an_anomalie_enveloppe(
    sent, client, run_commits, monkeypatch
):
    from dataclasses import replace

    from emegalis.actes.models import Transaction
    from emegalis.actes.returns import services as returns_services

    name, data = sent
    archive = p.read_archive(data)
    env = archive.envelope
    unknown = replace(env, emetteur=replace(env.emetteur, siren="130005481"))
    rebuilt = p.build_archive(
        (archive.envelope_name, unknown), dict(archive.messages), dict(archive.documents)
    )
    record = pref.receive_archive(source=io.BytesIO(rebuilt), name=name)
    assert record.outcome == "AnomalieEnveloppe"
    out = OutgoingReturn.objects.get()
    data = out.archive.open("rb").read()
    check_archive(out.name, data)
    anomaly = p.read_archive(data).envelope
    assert isinstance(anomaly, p.AnomalieEnveloppe) and anomaly.nature == "005"
    # The platform matches it to its envelope by name and moves the act to « erreur ».
    returns_services.receive_return_archive(source=io.BytesIO(data), channel="http")
    acte = Transaction.objects.get(type=1)
    assert acte.status == p.ActStatus.ERREUR
    assert "PREF-VERIF-02" in acte.error_message


def test_agent_pages_are_scoped_to_the_departement(sent, prefect_agent, prefecture, new_client):
    pref.receive_archive(source=io.BytesIO(sent[1]), name=sent[0])
    act = ReceivedAct.objects.get()
    c = new_client(prefect_agent)
    assert act.id_acte in c.get("/prefecture/").content.decode()
    assert c.get(f"/prefecture/actes/{act.pk}/").status_code == 200

    other = OrganisationFactory(
        kind=OrganisationKind.PREFECTURE, insee_nature="", departement="035"
    )
    other_agent = make_member(other, Role.AGENT_PREFECTURE)
    c2 = new_client(other_agent)
    assert act.id_acte not in c2.get("/prefecture/").content.decode()
    assert c2.get(f"/prefecture/actes/{act.pk}/").status_code == 404
    response = c2.post(
        f"/prefecture/actes/{act.pk}/",
        {"code": "3-1", "details": "x", "document": pdf_upload()},
    )
    assert response.status_code == 404
    assert not act.letters.exists()


def test_commune_agents_cannot_use_the_prefecture_pages(agent_client):
    assert agent_client.get("/prefecture/").status_code == 403


def test_a_letter_needs_a_real_pdf(sent, prefect_agent, new_client):
    pref.receive_archive(source=io.BytesIO(sent[1]), name=sent[0])
    act = ReceivedAct.objects.get()
    c = new_client(prefect_agent)
    response = c.post(
        f"/prefecture/actes/{act.pk}/",
        {"code": "3-1", "details": "x", "document": SimpleUploadedFile("l.pdf", b"nope")},
    )
    assert response.status_code == 400
    assert "pas un PDF valide" in response.content.decode()
    assert not act.letters.exists()
