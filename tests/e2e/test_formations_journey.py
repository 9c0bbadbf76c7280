"""A training session in Chromium: an agent asks to register, the référent approves, the
session is full; another agent lands on the waiting list; the first cancels and the second is
offered the seat and confirms; the convocation's .ics is parsed back with icalendar; the
trainer opens the half-day's sheet, the trainee checks in with the code, the trainer
countersigns; the attestation's PAdES signature verifies and its code checks online."""

import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from icalendar import Calendar
from playwright.sync_api import expect
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from emegalis.core import clock, signing
from emegalis.formations import services
from emegalis.formations.certificates import services as certificates
from emegalis.formations.models import Half, Registration, Slot
from tests.factories import PASSWORD
from tests.formations.helpers import agent, commune, course, session, staff

pytestmark = pytest.mark.browser


def log_in(page, user):
    page.context.clear_cookies()
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))


def test_formations_journey(page, live_server, transactional_db):
    team = staff()
    the_course = course(team)
    the_session = session(team, the_course, capacity=1)
    trainer = agent(commune()[0])
    the_session.trainers.add(trainer)
    organisation, referent = commune()
    first, second = agent(organisation), agent(organisation)

    # The first agent asks; the référent approves: the only seat is taken.
    log_in(page, first)
    page.goto(f"/formations/catalogue/{the_course.slug}/")
    page.get_by_role("button", name="Demander mon inscription").click()
    expect(page.get_by_text(re.compile("en attente de l'accord du référent"))).to_be_visible()
    log_in(page, referent)
    page.goto("/formations/validations/")
    page.get_by_role("button", name="Accepter").click()
    expect(page.get_by_text("Inscription : inscrit.")).to_be_visible()
    # The second agent asks for the full session: approved onto the waiting list.
    log_in(page, second)
    page.goto(f"/formations/catalogue/{the_course.slug}/")
    page.get_by_role("button", name="M'inscrire sur la liste d'attente").click()
    log_in(page, referent)
    page.goto("/formations/validations/")
    page.get_by_role("button", name="Accepter").click()
    expect(page.get_by_text("Inscription : sur liste d'attente.")).to_be_visible()

    # The first cancels: the seat is offered to the second, who confirms.
    log_in(page, first)
    page.goto("/formations/mes-inscriptions/")
    page.get_by_role("button", name=re.compile("Annuler")).click()
    expect(page.get_by_text("Inscription : annulée.")).to_be_visible()
    mail.outbox.clear()
    log_in(page, second)
    page.goto("/formations/mes-inscriptions/")
    page.get_by_role("button", name="Confirmer la place").click()
    expect(page.get_by_text("Inscription : inscrit.")).to_be_visible()
    (convocation,) = [m for m in mail.outbox if m.subject.startswith("Convocation")]
    ics = next(c for n, c, _ in convocation.attachments if n == "invitation.ics")
    calendar = Calendar.from_ical(ics)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert len(calendar.walk("VEVENT")) == the_session.slots.count()

    # The trainer opens today's sheet; the trainee checks in with the code; countersigned.
    # (Today's half-day is added here, as the staff would from its back office, so that the
    # sheet can be signed in this run.)
    today_slot = Slot.objects.create(session=the_session, date=clock.today(), half=Half.APRES_MIDI)
    log_in(page, trainer)
    page.goto(f"/formations/demi-journees/{today_slot.pk}/")
    page.get_by_role("button", name="Ouvrir l'émargement").click()
    code = page.locator("#sheet-code").inner_text()
    log_in(page, second)
    page.goto("/formations/emargement/")
    page.get_by_label("Code affiché dans la salle").fill(code)
    page.get_by_role("button", name="Émarger").click()
    expect(page.get_by_text("Émargement enregistré : vous êtes présent.")).to_be_visible()
    log_in(page, trainer)
    page.goto(f"/formations/demi-journees/{today_slot.pk}/")
    # The trainee also signs by hand on the trainer's tablet.
    page.get_by_role("button", name="Enregistrer la signature").click()
    expect(page.get_by_text("Signez dans le cadre avant d'enregistrer.")).to_be_visible()
    pad = page.locator("canvas.em-signature-pad").bounding_box()
    page.mouse.move(pad["x"] + 20, pad["y"] + pad["height"] * 0.7)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(
            pad["x"] + 20 + step * 25, pad["y"] + pad["height"] * (0.7 - step % 2 * 0.4)
        )
    page.mouse.up()
    page.get_by_role("button", name="Enregistrer la signature").click()
    expect(page.get_by_text("Signature enregistrée.")).to_be_visible()
    page.get_by_role("button", name="Contresigner la feuille").click()
    expect(page.get_by_text("Feuille contresignée et enregistrée.")).to_be_visible()
    expect(page.get_by_role("link", name="feuille signée (PDF)")).to_be_visible()
    today_slot.refresh_from_db()
    signed = today_slot.attendances.get()
    assert signed.method == "tablette" and bytes(signed.signature).startswith(b"\x89PNG")

    # After the session: the attestation, sealed, checked online with its code.
    last = the_session.slots.order_by("-date").first().date
    with clock.shifted(timedelta(days=(last - clock.today()).days + 1)):
        services.close_due_sessions()
        services.mark_held(actor=team, session=the_session)
        (certificate,) = certificates.issue(actor=team, session=the_session)
    registration = Registration.objects.get(trainee=second, state="inscrite")
    log_in(page, second)
    page.goto("/formations/mes-inscriptions/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Attestation (PDF)").click()
    pdf = download.value.path().read_bytes()
    assert pdf == bytes(certificate.pdf) and registration.certificate == certificate
    reader = PdfFileReader(io.BytesIO(pdf))
    context = ValidationContext(trust_roots=[signing.local_pki().root], allow_fetching=False)
    status = signing.run_async(
        lambda: async_validate_pdf_signature(
            reader.embedded_signatures[0],
            signer_validation_context=context,
            ts_validation_context=context,
        )
    )
    assert status.intact and status.valid
    page.context.clear_cookies()
    page.goto(f"/formations/attestations/{certificate.code}/")
    expect(
        page.get_by_text("Cette attestation a bien été délivrée par la plateforme.")
    ).to_be_visible()
