"""Returns from the prefecture: anomalies (applied in « transmis », kept aside otherwise),
envelope anomalies, duplicates, letters with their automatic AR, replies and their AR."""

import html
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.actes import outgoing
from emegalis.actes import protocol as p
from emegalis.actes.models import IncomingArchive, IncomingMessage, Transaction
from emegalis.prefecture import services as pref
from emegalis.prefecture.models import Letter, Reply
from tests.actes.helpers import check_archive, pdf_upload, send_act

pytestmark = pytest.mark.django_db


S = p.ActStatus


def return_archive(acte, message, code, files=None):
    org = acte.organisation
    if code in ("1-2", "1-3"):
        stem = p.TransactionStem(
            org.departement, org.siren, acte.decision_date, acte.numero_interne, acte.nature
        )
    else:
        stem = p.TransactionStem.for_acte(acte.id_acte)
    env_name = p.return_envelope_name(
        application="TACT", service="PREF056", siren=org.siren, day=date(2026, 2, 1), serial=7
    )
    env = p.EnveloppeMISILLCL(
        emetteur=p.ServicePrefecture(kind="PREF", departement="056"),
        formulaires=(stem.message_name(code),),
        destinataire_siren=org.siren,
    )
    data = p.build_archive((env_name, env), {stem.message_name(code): message}, files or {})
    check_archive("retour.tar.gz", data)
    return data


def anomalie(acte, detail="Classification inconnue"):
    echo = p.parse_acte(
        p.build_acte(outgoing.acte_message(acte))  # the act as it was sent
    )
    fields = {k: v for k, v in vars(echo).items() if k != "annexes_declarees"}
    return p.AnomalieActe(
        date=date(2026, 2, 1),
        nature="042",
        detail=detail,
        acte_recu=p.DonneesActe(**fields),
        classification_date_en_cours=date(2017, 12, 8),
    )


def push(client, data):
    return client.post(
        "/actes/retour/",
        data,
        content_type="application/x-gzip",
        HTTP_AUTHORIZATION="Bearer jeton-retour-de-test",
    )


def test_an_anomaly_for_a_transmitted_act_moves_it_to_error(
    agent_client, wire, run_commits, client
):
    wire.mode = "ok"
    acte = send_act(agent_client, run_commits)
    assert acte.status == S.TRANSMIS
    response = push(client, return_archive(acte, anomalie(acte), "1-3"))
    assert response.status_code == 200
    acte.refresh_from_db()
    assert acte.status == S.ERREUR
    assert "Anomalie 042" in acte.error_message and "Classification inconnue" in acte.error_message
    page = agent_client.get(f"/actes/{acte.pk}/").content.decode()
    assert "Classification inconnue" in page and "signification non documentée" in page
    # The error state is named in words and explained: what happened, what to do.
    page = html.unescape(page)
    assert "En erreur" in page and "n'est pas parvenu à la préfecture" in page
    assert "transmettez-le à nouveau" in page and "Erreur (-1)" not in page


def test_an_anomaly_for_an_acknowledged_act_is_kept_aside_and_shown(
    agent_client, wire, run_commits, staff, new_client
):
    client = new_client(staff, verify=True)
    staff_client = client
    acte = send_act(agent_client, run_commits)
    assert acte.status == S.ACQUITTEMENT_RECU
    response = push(client, return_archive(acte, anomalie(acte, "Arrivée tardive"), "1-3"))
    assert response.status_code == 200
    acte.refresh_from_db()
    assert acte.status == S.ACQUITTEMENT_RECU  # not applied
    kept = IncomingMessage.objects.get(outcome=IncomingMessage.Outcome.UNEXPECTED)
    assert kept.transaction == acte and "mise de côté" in kept.detail
    assert "mis de côté" in agent_client.get(f"/actes/{acte.pk}/").content.decode()
    page = staff_client.get("/actes/retours-inattendus/").content.decode()
    assert "Arrivée tardive" in page
    staff_client.post("/actes/retours-inattendus/", {"pk": kept.pk})
    kept.refresh_from_db()
    assert kept.resolved_at is not None


def test_the_operator_page_is_for_platform_staff_only(agent_client):
    assert agent_client.get("/actes/retours-inattendus/").status_code == 403


def test_the_same_return_twice_is_applied_once(agent_client, wire, run_commits, client):
    acte = send_act(agent_client, run_commits)
    name, data = wire.returns[0]
    count = IncomingArchive.objects.count()
    assert push(client, data).status_code == 200
    assert IncomingArchive.objects.count() == count
    assert acte.status_changes.count() == 4


def test_a_duplicate_ar_in_another_archive_is_ignored(agent_client, wire, run_commits, client):
    acte = send_act(agent_client, run_commits)
    ar = p.read_archive(wire.returns[0][1])
    message = next(iter(ar.messages.values()))
    assert push(client, return_archive(acte, message, "1-2")).status_code == 200
    assert IncomingMessage.objects.filter(outcome="duplicate").count() == 1
    acte.refresh_from_db()
    assert acte.status == S.ACQUITTEMENT_RECU


def test_an_envelope_anomaly_moves_the_transmitted_act_to_error(
    agent_client, wire, run_commits, client
):
    wire.mode = "ok"
    acte = send_act(agent_client, run_commits)
    env = acte.envelopes.get()
    sent = p.read_archive(wire.sent[0][1])
    name, data = pref._anomaly_archive(
        env.name,
        p.AnomalieEnveloppe(
            date=date(2026, 2, 1),
            nature="005",
            detail="PREF-VERIF-02",
            enveloppe_recue=sent.envelope,
        ),
    )
    check_archive(name, data)
    assert push(client, data).status_code == 200
    acte.refresh_from_db()
    assert acte.status == S.ERREUR
    assert "SIREN non encore enregistré" in acte.error_message


def test_demande_de_pieces_gets_an_automatic_ar_and_a_reply(
    agent_client, prefecture_letter, acknowledge_reply, wire, run_commits
):
    acte = send_act(agent_client, run_commits)
    letter = prefecture_letter(
        "3-1",
        "Le plan de financement.",
        document=pdf_upload("demande.pdf", "Demande de pièces"),
        document_name="demande.pdf",
    )
    assert letter.acte == acte and letter.direction == "in"
    assert letter.status == S.ACQUITTEMENT_ENVOYE  # 7 then the automatic 3-2 → 8
    assert [s for s in letter.status_changes.values_list("status", flat=True)] == [7, 8]
    assert wire.codes_sent()[-1] == ["3-2"]
    assert Letter.objects.get().ar_received_at is not None
    assert letter.documents.count() == 1

    with run_commits():
        response = agent_client.post(
            f"/actes/{acte.pk}/courriers/{letter.pk}/repondre/",
            {"send": "4", "document": pdf_upload("plan.pdf", "Plan de financement")},
        )
    assert response.status_code == 302
    reply = Transaction.objects.get(message_code="3-4")
    assert reply.status == S.TRANSMIS and reply.reply_to == letter
    assert Reply.objects.get().code == "3-4"

    acknowledge_reply()
    reply.refresh_from_db()
    assert reply.status == S.ACQUITTEMENT_RECU
    # A second answer to the same letter is refused.
    response = agent_client.post(
        f"/actes/{acte.pk}/courriers/{letter.pk}/repondre/",
        {"send": "3", "document": pdf_upload()},
        follow=True,
    )
    assert "déjà été envoyée" in response.content.decode()


def test_lettre_observations_refusal_and_defere(
    agent_client, prefecture_letter, acknowledge_reply, wire, run_commits
):
    acte = send_act(agent_client, run_commits)
    lettre = prefecture_letter("4-1", "Incompétence.")
    defere = prefecture_letter("5-1", "Vice de procédure.", document_name="defere.pdf")
    assert lettre.status == S.ACQUITTEMENT_ENVOYE
    assert defere.status == S.DOCUMENT_RECU_SANS_AR and defere.type == 5
    with run_commits():
        agent_client.post(
            f"/actes/{acte.pk}/courriers/{lettre.pk}/repondre/",
            {"send": "3", "document": pdf_upload("rejet.pdf")},
        )
    rejet = Transaction.objects.get(message_code="4-3")
    acknowledge_reply()
    rejet.refresh_from_db()
    assert rejet.status == S.ACQUITTEMENT_RECU
    page = agent_client.get(f"/actes/{acte.pk}/").content.decode()
    assert "Déféré au tribunal administratif" in page


def test_a_reply_with_a_bad_file_is_refused(agent_client, prefecture_letter, wire, run_commits):
    acte = send_act(agent_client, run_commits)
    letter = prefecture_letter("3-1", "Pièces.", document_name="d.pdf")
    response = agent_client.post(
        f"/actes/{acte.pk}/courriers/{letter.pk}/repondre/",
        {"send": "4", "document": SimpleUploadedFile("faux.pdf", b"pas un pdf")},
        follow=True,
    )
    assert "pas un PDF valide" in response.content.decode()
    assert not Transaction.objects.filter(message_code="3-4").exists()


def test_returns_arrive_by_mail_bytes_too(agent_client, wire, run_commits):
    """The parsing half of the IMAP poller, on a real MIME message."""
    from email.message import EmailMessage

    from emegalis.actes.returns.mailbox import PollResult, process_mail

    wire.mode = "ok"
    acte = send_act(agent_client, run_commits)
    received = pref.receive_archive(source=io.BytesIO(wire.sent[0][1]), name=wire.sent[0][0])
    assert received.outcome == "ARActe"
    from emegalis.prefecture.models import OutgoingReturn

    out = OutgoingReturn.objects.get()
    mail = EmailMessage()
    mail["From"] = "ministere@interieur.gouv.fr"
    mail["To"] = "retour-actes@e-megalis.bzh"
    mail["Subject"] = "Retour @CTES"
    mail.set_content("Veuillez trouver ci-joint l'accusé de réception.")
    mail.add_attachment(
        out.archive.open("rb").read(),
        maintype="application",
        subtype="x-gzip",
        filename=out.name,
    )
    result = PollResult()
    assert process_mail(mail.as_bytes(), result)
    assert result.processed == 1
    acte.refresh_from_db()
    assert acte.status == S.ACQUITTEMENT_RECU
    notice = EmailMessage()
    notice["Subject"] = "Transmission multi-canal"
    notice.set_content("Cet acte a été transmis par un autre canal.")
    assert process_mail(notice.as_bytes(), result)
    assert result.ignored == 1
