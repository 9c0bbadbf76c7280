"""Questions before the question deadline; answers published without the asker's identity."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from emegalis.core import clock
from emegalis.core.models import JournalEntry
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Question
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_member

pytestmark = pytest.mark.django_db


def test_question_after_the_deadline_is_refused(
    client_for, company_user, make_consultation, monkeypatch
):
    consultation = make_consultation()
    later = consultation.questions_deadline + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(ValidationError) as exc:
        consultations_services.ask_question(
            actor=company_user, organisation=None, consultation=consultation, text="Trop tard ?"
        )
    assert "date limite des questions est passée" in exc.value.messages[0]
    client = client_for(company_user)
    response = client.post(
        f"/marches/consultations/{consultation.pk}/questions/", {"text": "Trop tard ?"}, follow=True
    )
    html = response.content.decode()
    assert "date limite des questions est passée" in html
    assert 'id="question-form"' not in html
    assert not Question.objects.exists()


def test_question_just_before_the_deadline_is_accepted(
    company_user, make_consultation, monkeypatch
):
    consultation = make_consultation()
    just_before = consultation.questions_deadline - timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: just_before)
    consultations_services.ask_question(
        actor=company_user, organisation=None, consultation=consultation, text="Juste à temps ?"
    )
    assert Question.objects.count() == 1


def test_anonymous_visitor_must_log_in_to_ask(client, make_consultation):
    consultation = make_consultation()
    client.logout()
    response = client.post(f"/marches/consultations/{consultation.pk}/questions/", {"text": "?"})
    assert response.status_code == 302
    assert "/compte/connexion/" in response.url
    assert not Question.objects.exists()


def test_empty_question_gets_a_french_message(client_for, company_user, make_consultation):
    consultation = make_consultation()
    client = client_for(company_user)
    response = client.post(
        f"/marches/consultations/{consultation.pk}/questions/", {"text": "  "}, follow=True
    )
    assert response.status_code == 200
    assert "obligatoire" in response.content.decode()
    assert not Question.objects.exists()


def test_answer_is_published_without_identity_and_emailed(
    client,
    client_for,
    buyer_a,
    company,
    company_user,
    make_consultation,
    django_capture_on_commit_callbacks,
):
    consultation = make_consultation(contact_email="acheteur@lorient.test")
    other_company = OrganisationFactory(
        name="Breizh Propreté", kind=OrganisationKind.ENTREPRISE, insee_nature=""
    )
    downloader = make_member(other_company, Role.ENTREPRISE)
    consultations_services.record_retrait(
        consultation=consultation, user=downloader, organisation=other_company, kind="zip"
    )
    consultations_services.record_retrait(
        consultation=consultation, user=None, organisation=None, kind="zip"
    )
    client = client_for(company_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/marches/consultations/{consultation.pk}/questions/",
            {"text": "Les vitres sont-elles comprises ?"},
        )
    question = Question.objects.get()
    assert question.organisation == company
    assert [m.to for m in mail.outbox] == [["acheteur@lorient.test"]]  # the buyer is told
    mail.outbox.clear()
    client = client_for(buyer_a)
    buyer_page = client.get(f"/marches/acheteur/{consultation.pk}/").content.decode()
    assert "Les vitres sont-elles comprises ?" in buyer_page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/marches/acheteur/{consultation.pk}/questions/{question.pk}/reponse/",
            {"answer": "Oui, toutes les vitres."},
        )
    assert response.status_code == 302
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([company_user.email, downloader.email])
    for message in mail.outbox:
        assert "Oui, toutes les vitres." in message.body
        assert company.name not in message.body
        assert company_user.email not in message.body
    client.logout()
    notice = client.get(f"/marches/consultations/{consultation.pk}/").content.decode()
    assert "Les vitres sont-elles comprises ?" in notice
    assert "Oui, toutes les vitres." in notice
    assert company.name not in notice
    assert company_user.email not in notice
    api = client.get(f"/api/v1/marches/consultations/{consultation.pk}").json()
    assert company.name not in str(api)
    with pytest.raises(ValidationError):
        consultations_services.answer_question(actor=buyer_a, question=question, answer="Encore")
    actions = list(
        JournalEntry.objects.filter(action__startswith="marches.question").values_list(
            "action", flat=True
        )
    )
    assert actions == ["marches.question.asked", "marches.question.answered"]


def test_a_company_sees_its_own_pending_question(client_for, company_user, make_consultation):
    consultation = make_consultation()
    consultations_services.ask_question(
        actor=company_user, organisation=None, consultation=consultation, text="Ma question"
    )
    client = client_for(company_user)
    page = client.get(f"/marches/consultations/{consultation.pk}/").content.decode()
    assert "Ma question" in page and "en attente de réponse" in page
