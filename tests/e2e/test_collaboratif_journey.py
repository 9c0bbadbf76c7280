"""A shared workspace in Chromium, on the demo region: Lorient Agglomération's référent
creates it and invites Ploemeur's chargée de mission, who accepts, uploads a document, a
second version, and restores the first; a discussion mentions the référent, who gets the
e-mail; an event's invitation (.ics) and the subscription feed are parsed back with
icalendar; the Commune de Lorient's référent, invited as lecteur, cannot write."""

import re

import pytest
from django.core import mail
from icalendar import Calendar
from playwright.sync_api import expect

from emegalis.collaboratif.models import Document, Workspace
from emegalis.demo.region import demo_email

from .test_groupements_journey import log_in

pytestmark = pytest.mark.browser

NAME = "Groupe de travail achats durables"


def _invitation_link(email: str) -> str:
    message = next(m for m in reversed(mail.outbox) if m.to == [email])
    return re.search(r"https?://\S+/collaboratif/invitation/\S+/", message.body).group(0)


def _accept(page, local_part: str, link: str) -> None:
    log_in(page, local_part)
    page.goto(re.sub(r"^https?://[^/]+", "", link))
    page.get_by_role("button", name="Accepter l'invitation").click()
    expect(page.get_by_text(f"Bienvenue dans « {NAME} »")).to_be_visible()


def test_collaboratif_journey(page, live_server, demo_region, tmp_path):
    # The référent creates the workspace and invites two agents of other organisations.
    log_in(page, "referent.agglo")
    page.goto("/collaboratif/")
    page.get_by_label("Nom de l'espace").fill(NAME)
    page.get_by_role("button", name="Créer l'espace").click()
    expect(page.get_by_text(f"Espace « {NAME} » créé.")).to_be_visible()
    workspace = Workspace.objects.get(name=NAME)
    page.get_by_role("link", name="membres").click()
    for local_part, role in (
        ("collaboratif.ploemeur", "Contributeur"),
        ("referent.lorient", "Lecteur"),
    ):
        page.get_by_label("Adresse électronique").fill(demo_email(local_part))
        page.locator("#id_role").select_option(label=role)
        page.get_by_role("button", name="Inviter").click()
        expect(page.get_by_text(f"Invitation envoyée à {demo_email(local_part)}")).to_be_visible()

    links = {
        who: _invitation_link(demo_email(who))
        for who in ("collaboratif.ploemeur", "referent.lorient")
    }

    # Ploemeur accepts, uploads a document, then a second version, and restores the first.
    _accept(page, "collaboratif.ploemeur", links["collaboratif.ploemeur"])
    note = tmp_path / "note de cadrage.txt"
    note.write_text("Première version de la note.", encoding="utf-8")
    page.get_by_label("Fichier").set_input_files(str(note))
    page.get_by_role("button", name="Déposer", exact=True).click()
    expect(page.get_by_text("« note de cadrage.txt » enregistré (version 1).")).to_be_visible()
    note.write_text("Deuxième version, relue.", encoding="utf-8")
    page.get_by_label("Fichier").set_input_files(str(note))
    page.get_by_label("Commentaire de version").fill("Relue par le service")
    page.get_by_role("button", name="Déposer", exact=True).click()
    expect(page.get_by_text("« note de cadrage.txt » enregistré (version 2).")).to_be_visible()
    page.get_by_role("link", name="note de cadrage.txt").click()
    page.get_by_role("button", name="Restaurer la version 1").click()
    expect(page.get_by_text("Version 1 restaurée (nouvelle version 3).")).to_be_visible()
    document = Document.objects.get(workspace=workspace, name="note de cadrage.txt")
    assert document.current.file.open("rb").read() == "Première version de la note.".encode()

    # A discussion that mentions the référent: the e-mail reaches her.
    page.goto(f"/collaboratif/{workspace.pk}/discussions/")
    page.get_by_label("Sujet").fill("Critères environnementaux")
    page.get_by_label("Message").fill("Pouvez-vous relire la note avant jeudi ?")
    page.get_by_role("checkbox", name="Yannick Le Goff").first.check()
    page.get_by_role("checkbox", name="note de cadrage.txt").check()
    mail.outbox.clear()
    page.get_by_role("button", name="Publier").click()
    expect(page.get_by_text("Discussion ouverte.")).to_be_visible()
    mentioned = [m for m in mail.outbox if "vous mentionne" in m.subject]
    assert [m.to for m in mentioned] == [[demo_email("referent.agglo")]]
    assert "relire la note" in mentioned[0].body

    # An event: its invitation's .ics, parsed back.
    page.goto(f"/collaboratif/{workspace.pk}/agenda/")
    page.get_by_label("Intitulé").fill("Point d'étape")
    page.get_by_label("Début").fill("2027-02-10T10:00")
    page.get_by_label("Fin").fill("2027-02-10T09:00")
    page.get_by_role("button", name="Créer et inviter").click()
    expect(page.get_by_text("La fin de l'événement doit venir après son début.")).to_be_visible()
    page.get_by_label("Fin").fill("2027-02-10T11:30")
    page.get_by_role("checkbox", name="Yannick Le Goff").first.check()
    mail.outbox.clear()
    page.get_by_role("button", name="Créer et inviter").click()
    expect(page.get_by_text(re.compile("Événement « Point d'étape » créé"))).to_be_visible()
    (invitation,) = [m for m in mail.outbox if m.attachments]
    calendar = Calendar.from_ical(invitation.attachments[0][1])
    assert str(calendar["METHOD"]) == "REQUEST"
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Point d'étape" and int(vevent["SEQUENCE"]) == 0
    with page.expect_download() as download:
        page.get_by_role("link", name="Ajouter à mon agenda (.ics)").click()
    downloaded = Calendar.from_ical(download.value.path().read_bytes())
    assert str(downloaded.walk("VEVENT")[0]["UID"]) == str(vevent["UID"])

    # The subscription feed, as a calendar application reads it (no session).
    page.goto("/collaboratif/agenda/abonnements/")
    page.get_by_label("Événements de").select_option(label=NAME)
    page.get_by_role("button", name="Créer un lien d'abonnement").click()
    feed_url = page.locator("#new-feed").inner_text()
    response = page.context.request.get(feed_url.replace("http://testserver", live_server.url))
    feed = Calendar.from_ical(response.body())
    assert [str(e["SUMMARY"]) for e in feed.walk("VEVENT")] == ["Point d'étape"]

    # The Commune de Lorient's référent, lecteur: it reads, and cannot write.
    _accept(page, "referent.lorient", links["referent.lorient"])
    expect(page.get_by_role("link", name="note de cadrage.txt")).to_be_visible()
    expect(page.get_by_role("button", name="Déposer", exact=True)).to_have_count(0)
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    page.context.request.post(
        f"{live_server.url}/collaboratif/{workspace.pk}/dossiers/nouveau/",
        form={"name": "Intrus", "csrfmiddlewaretoken": token or ""},
        headers={"Referer": f"{live_server.url}/collaboratif/{workspace.pk}/"},
    )
    assert not workspace.folders.filter(name="Intrus").exists()
    assert document.versions.count() == 3
