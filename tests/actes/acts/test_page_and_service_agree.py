"""The act page offers an action exactly when the service would accept it: both ask the same
refusal function (acts.services.cancellation_refusal, courriers.services.reply_refusal)."""

from emegalis.actes.acts.services import cancellation_refusal
from emegalis.actes.courriers.services import reply_refusal
from emegalis.actes.models import Transaction
from tests.actes.helpers import pdf_upload, send_act


def test_a_reply_is_offered_exactly_for_the_letters_the_service_would_answer(
    agent_client, prefecture_letter, wire, run_commits
):
    acte = send_act(agent_client, run_commits)
    letters = [
        prefecture_letter("2-1", "Pour information."),
        prefecture_letter("3-1", "Joindre le plan de financement."),
        prefecture_letter("4-1", "Incompétence."),
        prefecture_letter("5-1", "Vice de procédure.", document_name="defere.pdf"),
    ]
    answered = letters[1]
    with run_commits():
        agent_client.post(
            f"/actes/{acte.pk}/courriers/{answered.pk}/repondre/",
            {"send": "4", "document": pdf_upload("plan.pdf", "Plan de financement")},
        )
    page = agent_client.get(f"/actes/{acte.pk}/").content.decode()
    for letter in letters:
        letter.refresh_from_db()
        offered = f"/actes/{acte.pk}/courriers/{letter.pk}/repondre/" in page
        assert offered == (reply_refusal(letter) == ""), letter.message_code
    assert [letter.message_code for letter in letters if not reply_refusal(letter)] == [
        "2-1",
        "4-1",
    ]
    refused = agent_client.post(
        f"/actes/{acte.pk}/courriers/{letters[3].pk}/repondre/",
        {"send": "4", "document": pdf_upload()},
        follow=True,
    )
    assert "appelle pas de réponse" in refused.content.decode()


def test_cancellation_is_offered_exactly_while_the_service_would_accept_it(
    agent_client, wire, run_commits
):
    acte = send_act(agent_client, run_commits)
    cancel_url = f"/actes/{acte.pk}/annuler/"
    assert cancellation_refusal(acte) == ""
    assert cancel_url in agent_client.get(f"/actes/{acte.pk}/").content.decode()
    with run_commits():
        agent_client.post(cancel_url)
    assert Transaction.objects.filter(acte=acte, message_code="6-1").count() == 1
    assert "déjà en cours" in cancellation_refusal(acte)
    assert cancel_url not in agent_client.get(f"/actes/{acte.pk}/").content.decode()
    refused = agent_client.post(cancel_url, follow=True)
    assert "déjà en cours" in refused.content.decode()
    assert Transaction.objects.filter(acte=acte, message_code="6-1").count() == 1
