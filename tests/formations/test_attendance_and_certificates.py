"""The feuille d'émargement of a half-day (only on its day: a code in the room, the trainer's
marks, the countersigned PDF with its hash in the journal) and the attestations de présence,
sealed by the platform (PAdES) and checked online with their code."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from emegalis.core import clock, signing
from emegalis.core.models import JournalEntry
from emegalis.core.pdf import extract_text
from emegalis.formations import services
from emegalis.formations.attendance import services as attendance
from emegalis.formations.certificates import services as certificates
from emegalis.formations.models import Registration

from .helpers import agent, commune, course, session, staff

pytestmark = pytest.mark.django_db


def _valid(pdf: bytes) -> bool:
    import io

    reader = PdfFileReader(io.BytesIO(pdf))
    pki = signing.local_pki()
    context = ValidationContext(trust_roots=[pki.root], allow_fetching=False)
    status = signing.run_async(
        lambda: async_validate_pdf_signature(
            reader.embedded_signatures[0],
            signer_validation_context=context,
            ts_validation_context=context,
        )
    )
    return status.intact and status.valid


def test_the_sheet_of_the_day_and_the_certificates(client, login, login_verified):
    team = staff()
    the_session = session(team, course(team), days_ahead=10, halves="matin", capacity=3)
    the_session.trainers.add(trainer := agent(commune()[0]))
    organisation, referent = commune()
    trainees = [agent(organisation) for _ in range(3)]
    for trainee in trainees:
        asked = services.request_registration(
            actor=trainee, organisation=organisation, session=the_session
        )
        services.decide(actor=referent, registration=asked, approve=True)
    slot = the_session.slots.get()
    with pytest.raises(ValidationError, match="pas aujourd'hui"):
        attendance.open_sheet(actor=trainer, slot=slot)
    day = timedelta(days=(slot.date - clock.today()).days)
    with clock.shifted(day):
        with pytest.raises(PermissionDenied):
            attendance.open_sheet(actor=trainees[0], slot=slot)
        sheet = attendance.open_sheet(actor=trainer, slot=slot)
        with pytest.raises(ValidationError, match="pas celui"):
            attendance.check_in(
                actor=trainees[0], slot=slot, code="000000" if sheet.code != "000000" else "111111"
            )
        attendance.check_in(actor=trainees[0], slot=slot, code=sheet.code)
        registrations = {r.trainee: r for r in the_session.registrations.all()}
        attendance.mark(
            actor=trainer, slot=slot, registration=registrations[trainees[1]], status="retard"
        )
        sheet = attendance.countersign(actor=trainer, slot=slot)
        with pytest.raises(ValidationError, match="contresignée"):
            attendance.check_in(actor=trainees[2], slot=slot, code=sheet.code)
    statuses = {a.registration.trainee: a.status for a in slot.attendances.all()}
    assert statuses == {trainees[0]: "present", trainees[1]: "retard", trainees[2]: "absent"}
    text = extract_text(bytes(sheet.pdf))
    assert "Feuille d'émargement" in text and "Absent" in text
    entry = JournalEntry.objects.filter(action="formations.sheet_countersigned").get()
    assert entry.payload["sha256"] == sheet.sha256
    # After the session: held, then the attestations for who attended.
    with clock.shifted(day + timedelta(days=1)):
        services.close_due_sessions()
        services.mark_held(actor=team, session=the_session)
        issued = certificates.issue(actor=team, session=the_session)
    assert sorted(c.registration.trainee.pk for c in issued) == sorted(t.pk for t in trainees[:2])
    certificate = issued[0]
    assert _valid(bytes(certificate.pdf))
    assert certificate.code in extract_text(bytes(certificate.pdf))
    page = client.get(f"/formations/attestations/{certificate.code}/").content.decode()
    assert certificate.sha256 in page
    assert client.get("/formations/attestations/AAAA-BBBB-CCCC/").status_code == 404
    login(certificate.registration.trainee)
    pdf = client.get(f"/formations/inscriptions/{certificate.registration.pk}/attestation.pdf")
    assert pdf.status_code == 200 and pdf.content == bytes(certificate.pdf)
    client.logout()
    login(trainees[2])
    url = f"/formations/inscriptions/{certificate.registration.pk}/attestation.pdf"
    assert client.get(url).status_code == 404
    # The satisfaction questionnaire, once, marks from 1 to 5; the reports and their CSV.
    from emegalis.formations.reports import services as evaluations

    good = {"objectifs": 5, "contenu": 4, "formateur": 5, "organisation": 4, "utilite": 4}
    first = Registration.objects.get(pk=registrations[trainees[0]].pk)
    with pytest.raises(ValidationError, match="une note de 1 à 5"):
        evaluations.evaluate(
            actor=trainees[0],
            registration=first,
            answers={**good, "contenu": 9},
        )
    evaluations.evaluate(actor=trainees[0], registration=first, answers=good)
    with pytest.raises(ValidationError, match="déjà donné"):
        evaluations.evaluate(actor=trainees[0], registration=first, answers=good)
    client.logout()
    login(referent)
    year = certificate.issued_at.year
    report = client.get(f"/formations/rapports/organisation.csv?annee={year}")
    text = report.content.decode("utf-8-sig")
    assert trainees[0].get_full_name() in text and trainees[2].get_full_name() not in text
    assert client.get("/formations/rapports/").status_code == 403
    client.logout()
    login_verified(team)
    courses = client.get("/formations/rapports/formations.csv").content.decode("utf-8-sig")
    assert "Publier une consultation;1;1;3;3;100;4.4;1" in courses


def _png() -> str:
    import base64
    import io

    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (300, 100), "white")
    ImageDraw.Draw(picture).line([(10, 80), (120, 20), (280, 70)], fill="black", width=3)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_signature_drawn_on_the_trainers_tablet(client, login):
    team = staff()
    the_session = session(team, course(team), days_ahead=10, halves="matin", capacity=3)
    trainer = agent(commune()[0])
    the_session.trainers.add(trainer)
    organisation, referent = commune()
    trainee = agent(organisation)
    asked = services.request_registration(
        actor=trainee, organisation=organisation, session=the_session
    )
    registration = services.decide(actor=referent, registration=asked, approve=True)
    slot = the_session.slots.get()
    url = f"/formations/demi-journees/{slot.pk}/"
    login(trainer)
    with clock.shifted(timedelta(days=(slot.date - clock.today()).days)):
        client.post(url, {"action": "ouvrir"})
        for bad in ("", "data:image/png;base64,AAAA", "data:image/png;base64,@@"):
            page = client.post(
                url,
                {"action": "tablette", "registration": registration.pk, "drawing": bad},
                follow=True,
            ).content.decode()
            assert "signature dessinée" in page.lower()
        assert not slot.attendances.exists()
        client.post(url, {"action": "tablette", "registration": registration.pk, "drawing": _png()})
        attendance = slot.attendances.get()
        assert attendance.method == "tablette" and bytes(attendance.signature).startswith(
            b"\x89PNG"
        )
        client.post(url, {"action": "contresigner"})
    slot.sheet.refresh_from_db()
    assert "Signature de" in extract_text(bytes(slot.sheet.pdf))
