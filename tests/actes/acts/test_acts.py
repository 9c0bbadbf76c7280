"""Creating an act through its page, the whole loop with the prefecture counterpart, the
stamped PDF, publication, cancellation, classification."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.actes import protocol as p
from emegalis.actes.acts import services as acts_services
from emegalis.actes.models import Document, StatusChange, Transaction
from emegalis.actes.transmission import services as transmission_services
from emegalis.core.journal import first_break
from emegalis.prefecture.models import ReceivedAct
from tests.actes.helpers import acte_form, pdf_text, pdf_upload

pytestmark = pytest.mark.django_db
S = p.ActStatus


def create(client, run_commits, **overrides):
    with run_commits():
        response = client.post("/actes/nouveau/", acte_form(**overrides))
    return response


def test_agent_creates_an_act_that_the_prefecture_acknowledges(agent_client, wire, run_commits):
    response = create(
        agent_client,
        run_commits,
        annexe_1=pdf_upload("annexe plan.pdf", "Plan annexé"),
        type_pj_1="21_DE",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    acte = Transaction.objects.get(type=1)
    assert acte.status == S.ACQUITTEMENT_RECU
    assert acte.id_acte == f"056-{acte.organisation.siren}-20260115-DEL2026_001-DE"
    assert acte.date_reception is not None and acte.sent_at is not None
    history = list(acte.status_changes.values_list("status", flat=True))
    assert history == [1, 2, 3, 4]
    # One archive out (1-1 with the act and its annex), one return (1-2), both checked.
    assert wire.codes_sent() == [["1-1"]]
    archive = p.read_archive(wire.sent[0][1])
    assert len(archive.documents) == 2
    assert sorted(n.split("-")[0] for n in archive.documents) == ["21_DE", "99_DE"]
    assert ReceivedAct.objects.get().id_acte == acte.id_acte

    page = agent_client.get(f"/actes/{acte.pk}/").content.decode()
    # The state in words; the @CTES number only on the detail line and in tooltips.
    assert "Reçu par la préfecture" in page and acte.id_acte in page
    assert "(code @CTES 4)" in page and "4 — " not in page and "(4)</span>" not in page

    stamped = agent_client.get(f"/actes/{acte.pk}/tampon.pdf")
    assert stamped.status_code == 200
    text = pdf_text(stamped.content)
    assert f"ID : {acte.id_acte}" in text
    assert f"Reçu en préfecture le {acte.date_reception:%d/%m/%Y}" in text
    assert "Envoyé en préfecture le" in text
    # The original is kept unstamped.
    main = acte.documents.get(kind=Document.Kind.MAIN)
    assert "ID :" not in pdf_text(main.file.open("rb").read())
    assert first_break() is None


def test_publication_register_lists_published_acts_with_stamped_pdfs(
    agent_client, agent, wire, run_commits, client
):
    create(agent_client, run_commits)
    acte = Transaction.objects.get(type=1)
    response = agent_client.post(f"/actes/{acte.pk}/publier/", {"published_on": "2026-01-20"})
    assert response.status_code == 302
    acte.refresh_from_db()
    assert acte.published_on == date(2026, 1, 20)
    client.logout()
    page = client.get(f"/actes/registre/{acte.organisation_id}/").content.decode()
    assert acte.id_acte in page
    pdf = client.get(f"/actes/registre/{acte.organisation_id}/{acte.pk}.pdf")
    assert "Publié le 20/01/2026" in pdf_text(pdf.content)


def test_unpublished_acts_are_not_public(agent_client, wire, run_commits, client):
    create(agent_client, run_commits)
    acte = Transaction.objects.get(type=1)
    client.logout()
    assert client.get(f"/actes/registre/{acte.organisation_id}/{acte.pk}.pdf").status_code == 404


def test_a_transport_failure_keeps_the_act_waiting_with_the_error(agent_client, wire, run_commits):
    wire.mode = "fail"
    create(agent_client, run_commits)
    acte = Transaction.objects.get(type=1)
    assert acte.status == S.EN_ATTENTE_TRANSMISSION
    env = acte.envelopes.get()
    assert env.attempts == 1 and "injoignable" in env.last_error
    # Sending again reuses the same archive (same serial): idempotent.
    wire.mode = "loop"
    with run_commits():
        assert transmission_services.send_transaction(transaction_id=acte.pk) == "envoyé"
    acte.refresh_from_db()
    assert acte.status == S.ACQUITTEMENT_RECU
    assert acte.envelopes.count() == 1
    assert wire.sent[0][0] == wire.sent[1][0]
    # A third call does nothing.
    assert transmission_services.send_transaction(transaction_id=acte.pk) == "rien à faire"


def test_daily_counter_increments_per_siren_and_resets_each_day(commune):
    a = transmission_services.allocate_serial(siren=commune.siren, day=date(2026, 1, 1))
    b = transmission_services.allocate_serial(siren=commune.siren, day=date(2026, 1, 1))
    c = transmission_services.allocate_serial(siren="000000000", day=date(2026, 1, 1))
    d = transmission_services.allocate_serial(siren=commune.siren, day=date(2026, 1, 2))
    assert (a, b, c, d) == (1, 2, 1, 1)


def test_daily_counter_refuses_past_9999(commune):
    from emegalis.actes.models import DailyCounter

    DailyCounter.objects.create(siren=commune.siren, day=date(2026, 1, 1), value=9999)
    with pytest.raises(p.NamingError, match="9999"):
        transmission_services.allocate_serial(siren=commune.siren, day=date(2026, 1, 1))


def test_cancellation_only_after_acknowledgement(agent_client, agent, wire, run_commits):
    wire.mode = "ok"
    create(agent_client, run_commits)
    acte = Transaction.objects.get(type=1)
    assert acte.status == S.TRANSMIS
    response = agent_client.post(f"/actes/{acte.pk}/annuler/", follow=True)
    assert "accusé de réception de la préfecture reçu" in response.content.decode()
    assert not Transaction.objects.filter(type=6).exists()


def test_cancellation_round_trip(agent_client, prefect_agent, wire, run_commits):
    from emegalis.prefecture import services as pref

    create(agent_client, run_commits)
    acte = Transaction.objects.get(type=1)
    with run_commits():
        agent_client.post(f"/actes/{acte.pk}/annuler/")
    cancel = Transaction.objects.get(type=6)
    assert cancel.status == S.TRANSMIS
    assert wire.codes_sent()[-1] == ["6-1"]
    cancellation = ReceivedAct.objects.get().cancellations.get()
    with run_commits():
        pref.acknowledge_cancellation(
            actor=prefect_agent,
            prefecture=prefect_agent.memberships.get().organisation,
            cancellation=cancellation,
        )
    cancel.refresh_from_db()
    acte.refresh_from_db()
    assert cancel.status == S.ACQUITTEMENT_RECU
    assert acte.status == S.ANNULE
    # A second cancel is refused.
    response = agent_client.post(f"/actes/{acte.pk}/annuler/", follow=True)
    assert "accusé de réception de la préfecture reçu" in response.content.decode()


def test_stale_classification_blocks_sending_with_an_explanation(
    agent_client, commune, wire, run_commits
):
    from emegalis.actes.models import ActesProfile

    ActesProfile.objects.create(
        organisation=commune, announced_classification_date=date(2024, 6, 1)
    )
    response = create(agent_client, run_commits)
    assert response.status_code == 400
    assert "plus récente" in response.content.decode()
    assert not Transaction.objects.exists()
    assert wire.sent == []


def test_classification_request_brings_the_prefecture_version(
    agent_client, commune, wire, run_commits
):
    with run_commits():
        response = agent_client.post("/actes/classification/")
    assert response.status_code == 302
    request = Transaction.objects.get(type=7)
    # Our version has the prefecture's date: it answers « sans changement » (7-3).
    assert request.status == S.ACQUITTEMENT_RECU
    assert wire.codes_sent() == [["7-1"]]
    assert [c for _, d in wire.returns for c in [p.read_archive(d).messages]]
    msgs = [m.CODE for _, d in wire.returns for m in p.read_archive(d).messages.values()]
    assert msgs == ["7-3"]


def test_classification_request_without_a_version_imports_the_returned_one(db, wire, run_commits):
    from emegalis.actes.models import ClassificationVersion
    from emegalis.core.services_catalog import Service
    from emegalis.organisations.roles import Role
    from tests.factories import OrganisationFactory, make_convention, make_member

    commune = OrganisationFactory()
    make_convention(commune, [Service.ACTES])
    user = make_member(commune, Role.AGENT_ACTES)
    assert acts_services.classification_problem(commune)
    with run_commits():
        acts_services.request_classification(actor=user, organisation=commune)
    version = ClassificationVersion.objects.get(organisation=commune)
    assert version.date_classification == date(2017, 12, 8)
    assert acts_services.classification_problem(commune) is None
    assert Transaction.objects.get(type=7).status == S.ACQUITTEMENT_RECU


def test_an_organisation_without_the_actes_service_cannot_transmit(db, login, run_commits):
    from emegalis.organisations.roles import Role
    from tests.factories import OrganisationFactory, make_member

    other = OrganisationFactory()
    user = make_member(other, Role.AGENT_ACTES)
    client = login(user)
    response = client.get("/actes/nouveau/")
    assert response.status_code == 403
    assert "Contrôle de légalité" in response.content.decode()


def test_status_history_is_recorded_for_each_change(agent_client, wire, run_commits):
    create(agent_client, run_commits)
    assert StatusChange.objects.count() == 4
    assert Document.objects.count() == 1


def test_an_annex_with_a_signature_file(agent_client, wire, run_commits):
    sig = SimpleUploadedFile("signature.xml", b"<Signature>abc</Signature>")
    response = create(agent_client, run_commits, signature=sig)
    assert response.status_code == 302
    acte = Transaction.objects.get(type=1)
    assert acte.documents.filter(kind=Document.Kind.SIGNATURE, typologie="99_SE").exists()
    assert acte.status == S.ACQUITTEMENT_RECU
