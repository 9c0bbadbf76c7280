"""Secure messaging between a consultation's buyer and each bidder: e-mail notice without the
content, read receipts recorded once and journaled, replies in the thread, a message to every
bidder, attachments (size cap, scoped download), and nobody else sees anything."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone
from django.utils.html import escape

from emegalis.core import clock
from emegalis.core.models import JournalEntry
from emegalis.marches.messaging import services as messaging_services
from emegalis.marches.messaging.models import Message, MessageDirection
from tests.marches.messaging.messaging_helpers import (
    buyer_message,
    company_of_user,
    make_bidders,
    other_company_user,
    post_message,
)

BODY = "Merci de préciser le prix unitaire du poste 3 avant le 15 décembre."


@pytest.fixture
def bidding(opened, company_user, company_b_user):  # noqa: F811
    """The opened-commission consultation where companies A and B deposited a pli."""
    consultation, _ = opened
    make_bidders(consultation, company_user, company_b_user)
    return consultation


def buyer_panel(user, consultation) -> str:
    """The panel buyer_detail.html includes, rendered with the same context names."""
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string(
        "marches/_buyer_messages_panel.html", {"consultation": consultation, "request": request}
    )


def receipt_of(moment, email) -> str:
    local = timezone.localtime(moment)
    return f"Lu le {local:%d/%m/%Y} à {local:%H:%M} par {email}"


# --- buyer → company: notice, read receipt --------------------------------------------------------


def test_buyer_sends_company_is_emailed_without_the_content(
    bidding, buyer_a, company, company_user, client_for, django_capture_on_commit_callbacks
):
    client = client_for(buyer_a)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_message(
            client, bidding, recipient=str(company.pk), subject="Demande de précisions", body=BODY
        )
    assert response.status_code == 302
    message = Message.objects.get()
    assert (message.company, message.direction, message.body) == (
        company,
        MessageDirection.TO_COMPANY,
        BODY,
    )
    assert message.sender == buyer_a and message.read_at is None
    notices = [m for m in mail.outbox if company_user.email in m.to]
    assert len(notices) == 1
    assert bidding.reference in notices[0].subject
    assert "/marches/entreprise/messages/" in notices[0].body
    assert "Demande de précisions" in notices[0].body
    assert "prix unitaire" not in notices[0].body
    sent = JournalEntry.objects.get(action="marches.message.sent")
    assert sent.object_id == str(message.pk) and "body" not in sent.payload
    page = client.get(f"/marches/acheteur/{bidding.pk}/messages/").content.decode()
    assert "Non lu" in page and "Demande de précisions" in page


def test_company_opening_records_the_receipt_once(
    bidding, buyer_a, company, company_user, client_for, monkeypatch
):
    message = buyer_message(buyer_a, bidding, company, body=BODY)
    client = client_for(company_user)
    listing = client.get("/marches/entreprise/messages/").content.decode()
    assert f'data-message="{message.pk}" class="table-primary fw-bold unread"' in listing
    assert "1 message non lu" in listing
    assert "1 non lu" in client.get("/marches/entreprise/").content.decode()

    first = clock.now() + timedelta(hours=2)
    monkeypatch.setattr(clock, "now", lambda: first)
    page = client.get(f"/marches/entreprise/messages/{message.pk}/")
    assert page.status_code == 200 and BODY in page.content.decode()
    assert page["Cache-Control"] == "private, no-store"
    message.refresh_from_db()
    assert message.read_at == first and message.read_by == company_user
    assert message.read_by_label == company_user.email
    reads = JournalEntry.objects.filter(action="marches.message.read")
    assert reads.count() == 1 and reads.get().actor_id == company_user.pk

    later = first + timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    client.get(f"/marches/entreprise/messages/{message.pk}/")
    message.refresh_from_db()
    assert message.read_at == first
    assert JournalEntry.objects.filter(action="marches.message.read").count() == 1
    assert "fw-bold unread" not in client.get("/marches/entreprise/messages/").content.decode()

    buyer_page = client_for(buyer_a).get(f"/marches/acheteur/{bidding.pk}/messages/")
    assert receipt_of(first, company_user.email) in buyer_page.content.decode()
    assert "Non lu" not in buyer_page.content.decode()


def test_the_buyer_opening_their_own_message_records_nothing(bidding, buyer_a, company):
    message = buyer_message(buyer_a, bidding, company)
    assert messaging_services.mark_read(actor=buyer_a, message=message).read_at is None
    message.refresh_from_db()
    assert message.read_at is None


# --- replies --------------------------------------------------------------------------------------


def test_company_replies_in_the_thread_and_the_buyer_reading_it_records_the_receipt(
    bidding,
    buyer_a,
    company,
    company_user,
    client_for,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    bidding.contact_email = "marches@lorient.test"
    bidding.save(update_fields=["contact_email"])
    question = buyer_message(buyer_a, bidding, company, subject="Précisions")
    client = client_for(company_user)
    form = client.get(f"/marches/entreprise/messages/{question.pk}/").content.decode()
    assert 'value="Re : Précisions"' in form
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/marches/entreprise/messages/{question.pk}/",
            {"subject": "Re : Précisions", "body": "Le prix unitaire est de 12,50 € HT."},
        )
    assert response.status_code == 302
    reply = Message.objects.get(direction=MessageDirection.TO_BUYER)
    assert reply.in_reply_to == question and reply.company == company
    assert reply.sender == company_user and reply.read_at is None
    assert [m.to for m in mail.outbox] == [["marches@lorient.test"]]
    assert f"/marches/acheteur/{bidding.pk}/messages/" in mail.outbox[0].body
    assert "12,50" not in mail.outbox[0].body

    buyer = client_for(buyer_a)
    panel = buyer_panel(buyer_a, bidding)
    assert "Messagerie sécurisée" in panel and "1 non lu" in panel
    assert f'href="/marches/acheteur/{bidding.pk}/messages/"' in panel
    listing = buyer.get(f"/marches/acheteur/{bidding.pk}/messages/").content.decode()
    assert f'data-company="{company.pk}" class="table-warning"' in listing
    moment = clock.now() + timedelta(minutes=30)
    monkeypatch.setattr(clock, "now", lambda: moment)
    thread = buyer.get(f"/marches/acheteur/{bidding.pk}/messages/{company.pk}/").content.decode()
    assert thread.index("Précisions") < thread.index("12,50 € HT")
    reply.refresh_from_db()
    assert reply.read_at == moment and reply.read_by == buyer_a
    read = JournalEntry.objects.get(action="marches.message.read", object_id=str(reply.pk))
    assert read.actor_id == buyer_a.pk
    assert "non lu" not in buyer_panel(buyer_a, bidding)

    answer = buyer.post(
        f"/marches/acheteur/{bidding.pk}/messages/{company.pk}/",
        {"subject": "Re : Précisions", "body": "Bien noté, merci."},
    )
    assert answer.status_code == 302
    last = Message.objects.filter(company=company).order_by("-pk").first()
    assert last.direction == MessageDirection.TO_COMPANY and last.in_reply_to == reply


def test_a_reply_in_another_thread_is_refused(bidding, buyer_a, company, company_b_user):  # noqa: F811
    company_b = company_of_user(company_b_user)
    to_a = buyer_message(buyer_a, bidding, company)
    with pytest.raises(ValidationError, match="même échange"):
        buyer_message(buyer_a, bidding, company_b, in_reply_to=to_a)


# --- to every bidder, non-bidders ---------------------------------------------------------------


def test_a_message_to_all_bidders_makes_one_per_company(
    bidding,
    buyer_a,
    company,
    company_user,
    company_b_user,  # noqa: F811
    client_for,
    django_capture_on_commit_callbacks,
):
    company_b = company_of_user(company_b_user)
    client = client_for(buyer_a)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_message(
            client, bidding, recipient="tous", subject="Prolongation de validité", body=BODY
        )
    assert response.status_code == 302
    messages = Message.objects.order_by("company__name")
    assert sorted(m.company_id for m in messages) == sorted([company.pk, company_b.pk])
    assert {m.subject for m in messages} == {"Prolongation de validité"}
    assert sorted(a for m in mail.outbox for a in m.to) == sorted(
        [company_user.email, company_b_user.email]
    )
    assert JournalEntry.objects.filter(action="marches.message.sent").count() == 2
    # Each company sees its own copy only.
    own = client_for(company_b_user).get("/marches/entreprise/messages/").content.decode()
    assert own.count("data-message=") == 1
    b_message = messages.get(company=company_b)
    assert f'data-message="{b_message.pk}"' in own


def test_a_company_without_a_pli_is_refused(bidding, buyer_a, client_for):
    outsider = company_of_user(other_company_user())
    with pytest.raises(ValidationError, match="déposé un pli"):
        buyer_message(buyer_a, bidding, outsider)
    client = client_for(buyer_a)
    response = post_message(
        client, bidding, recipient=str(outsider.pk), subject="Bonjour", body=BODY
    )
    assert response.status_code == 400
    assert "Choisissez une entreprise ayant déposé un pli." in response.content.decode()
    assert client.get(f"/marches/acheteur/{bidding.pk}/messages/{outsider.pk}/").status_code == 404
    assert not Message.objects.exists()


def test_without_bidders_the_page_says_so(make_consultation, buyer_a, client_for):
    consultation = make_consultation()
    with pytest.raises(ValidationError, match="Aucune entreprise"):
        messaging_services.send_to_bidders(
            actor=buyer_a, consultation=consultation, subject="A", body="B"
        )
    page = client_for(buyer_a).get(f"/marches/acheteur/{consultation.pk}/messages/")
    assert page.status_code == 200
    assert "Aucune entreprise n'a encore déposé de pli complet" in page.content.decode()


# --- validation ---------------------------------------------------------------------------------


def test_an_attachment_over_the_cap_is_refused_in_french(
    bidding, buyer_a, company, client_for, settings
):
    settings.MARCHES_MESSAGE_ATTACHMENT_MAX_BYTES = 1024
    client = client_for(buyer_a)
    response = post_message(
        client,
        bidding,
        recipient=str(company.pk),
        subject="Pièce",
        body=BODY,
        attachment=("annexe.pdf", b"x" * 1025),
    )
    assert response.status_code == 400
    assert "La pièce jointe est trop volumineuse : la taille maximale est de 1 Ko." in (
        response.content.decode()
    )
    assert not Message.objects.exists()
    with pytest.raises(ValidationError) as refused:
        buyer_message(
            buyer_a,
            bidding,
            company,
            attachment_name="annexe.pdf",
            attachment_content=b"x" * 1025,
        )
    assert "attachment" in refused.value.message_dict
    ok = post_message(
        client,
        bidding,
        recipient=str(company.pk),
        subject="Pièce",
        body=BODY,
        attachment=("annexe.pdf", b"x" * 1024),
    )
    assert ok.status_code == 302 and Message.objects.get().attachment_name == "annexe.pdf"


def test_an_empty_subject_or_body_is_refused(bidding, buyer_a, company, client_for):
    client = client_for(buyer_a)
    response = post_message(client, bidding, recipient=str(company.pk), subject="  ", body=BODY)
    assert response.status_code == 400
    assert escape("Indiquez l'objet du message.") in response.content.decode()
    empty_body = post_message(client, bidding, recipient=str(company.pk), subject="A", body="")
    assert empty_body.status_code == 400 and "Le message est vide." in empty_body.content.decode()
    nobody = post_message(client, bidding, recipient="", subject="A", body="B")
    assert nobody.status_code == 400 and "Choisissez le destinataire." in nobody.content.decode()
    with pytest.raises(ValidationError) as refused:
        buyer_message(buyer_a, bidding, company, subject="   ")
    assert refused.value.message_dict["subject"] == ["Indiquez l'objet du message."]
    assert not Message.objects.exists()


# --- attachments ----------------------------------------------------------------------------------


def test_attachment_download_is_scoped_and_keeps_the_original_name(
    bidding,
    buyer_a,
    company,
    company_user,
    company_b_user,  # noqa: F811
    client_for,
):
    content = b"%PDF-1.4 lettre de rejet"
    message = buyer_message(
        buyer_a,
        bidding,
        company,
        subject="Lettre de rejet",
        attachment_name="../../Lettre de rejet — lot 1.pdf",
        attachment_content=content,
        check_permission=False,
    )
    assert message.attachment_name == "Lettre de rejet — lot 1.pdf"
    assert message.attachment.name.startswith("marches/messages/")
    client = client_for(company_user)
    download = client.get(f"/marches/entreprise/messages/{message.pk}/piece-jointe/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert "attachment" in download["Content-Disposition"]
    assert "Lettre%20de%20rejet%20%E2%80%94%20lot%201.pdf" in download["Content-Disposition"]
    message.refresh_from_db()
    assert message.read_by == company_user  # downloading is reading
    buyer = client_for(buyer_a)
    own = buyer.get(f"/marches/acheteur/{bidding.pk}/messages/pieces-jointes/{message.pk}/")
    assert own.status_code == 200 and b"".join(own.streaming_content) == content

    other = client_for(company_b_user)
    assert other.get(f"/marches/entreprise/messages/{message.pk}/").status_code == 404
    assert other.get(f"/marches/entreprise/messages/{message.pk}/piece-jointe/").status_code == 404
    posted = other.post(
        f"/marches/entreprise/messages/{message.pk}/", {"subject": "x", "body": "y"}
    )
    assert posted.status_code == 404
    assert Message.objects.count() == 1


def test_a_message_without_attachment_has_no_download(bidding, buyer_a, company, client_for):
    message = buyer_message(buyer_a, bidding, company)
    client = client_for(buyer_a)
    assert (
        client.get(
            f"/marches/acheteur/{bidding.pk}/messages/pieces-jointes/{message.pk}/"
        ).status_code
        == 404
    )


# --- nobody else sees anything ----------------------------------------------------------------


def test_a_buyer_of_another_commune_gets_404(bidding, buyer_a, buyer_b, company, client_for):
    message = buyer_message(buyer_a, bidding, company)
    client = client_for(buyer_b)
    base = f"/marches/acheteur/{bidding.pk}/messages/"
    for url in (base, f"{base}{company.pk}/", f"{base}pieces-jointes/{message.pk}/"):
        assert client.get(url).status_code == 404, url
    posted = post_message(client, bidding, recipient=str(company.pk), subject="A", body="B")
    assert posted.status_code == 404
    assert Message.objects.count() == 1
    with pytest.raises(PermissionDenied):
        buyer_message(buyer_b, bidding, company)


def test_a_company_cannot_write_in_another_companys_thread(
    bidding,
    company,
    company_b_user,  # noqa: F811
):
    with pytest.raises(PermissionDenied):
        messaging_services.send_message(
            actor=company_b_user,
            consultation=bidding,
            company=company,
            direction=MessageDirection.TO_BUYER,
            subject="Usurpation",
            body="Message au nom d'une autre entreprise.",
        )
    assert not Message.objects.exists()


def test_anonymous_users_are_sent_to_login(bidding, buyer_a, company, client):
    message = buyer_message(buyer_a, bidding, company)
    for url in (
        f"/marches/acheteur/{bidding.pk}/messages/",
        f"/marches/acheteur/{bidding.pk}/messages/{company.pk}/",
        "/marches/entreprise/messages/",
        f"/marches/entreprise/messages/{message.pk}/",
        f"/marches/entreprise/messages/{message.pk}/piece-jointe/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/compte/connexion/" in response["Location"], url


def test_posting_without_the_csrf_token_is_refused(bidding, buyer_a, company):
    """The upload cap moves the CSRF check into the view: it must still apply."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(buyer_a)
    response = client.post(
        f"/marches/acheteur/{bidding.pk}/messages/",
        {"recipient": str(company.pk), "subject": "A", "body": "B"},
    )
    assert response.status_code == 403
    page = client.get(f"/marches/acheteur/{bidding.pk}/messages/")
    token = page.cookies["csrftoken"].value
    accepted = client.post(
        f"/marches/acheteur/{bidding.pk}/messages/",
        {"recipient": str(company.pk), "subject": "A", "body": "B", "csrfmiddlewaretoken": token},
    )
    assert accepted.status_code == 302 and Message.objects.count() == 1


def test_a_bidder_writes_first_to_the_buyer_and_only_where_it_has_a_pli(
    bidding, company_user, client_for, make_consultation, mailoutbox
):
    other = make_consultation(reference="AUTRE-1")  # no pli there
    client = client_for(company_user)
    page = client.get("/marches/entreprise/messages/").content.decode()
    assert 'id="write-to-buyer"' in page
    assert bidding.reference in page and "AUTRE-1 —" not in page
    company = company_of_user(company_user)
    thread = f"{bidding.pk}:{company.pk}"
    response = client.post(
        "/marches/entreprise/messages/",
        {"thread": f"{other.pk}:{company.pk}", "subject": "Question", "body": "Bonjour"},
    )
    assert response.status_code == 400
    assert "Choisissez une consultation" in response.content.decode()
    mailoutbox.clear()
    response = client.post(
        "/marches/entreprise/messages/",
        {"thread": thread, "subject": "Motifs du rejet", "body": "Pouvez-vous préciser ?"},
    )
    assert response.status_code == 302
    message = Message.objects.get(direction=MessageDirection.TO_BUYER)
    assert (message.consultation, message.company, message.in_reply_to) == (bidding, company, None)
    assert "Pouvez-vous préciser" not in " ".join(m.body for m in mailoutbox)


# --- one-line subjects and clean attachment names (issue 9, §3 A, part 4) -----------------------


def test_a_subject_on_several_lines_is_refused_and_names_are_cleaned(
    bidding, buyer_a, company, company_user, client_for
):
    with pytest.raises(ValidationError) as refused:
        buyer_message(buyer_a, bidding, company, subject="Objet\r\nBcc: x@y.test")
    assert (
        "L'objet ne peut contenir aucun caractère de contrôle"
        in (refused.value.message_dict["subject"][0])
    )
    message = buyer_message(
        buyer_a,
        bidding,
        company,
        subject="Lettre",
        attachment_name="rejet\u202efdp.exe\n",
        attachment_content=b"x",
        check_permission=False,
    )
    assert message.attachment_name == "rejet fdp.exe"
    download = client_for(company_user).get(
        f"/marches/entreprise/messages/{message.pk}/piece-jointe/"
    )
    assert download["Content-Disposition"] == 'attachment; filename="rejet fdp.exe"'
