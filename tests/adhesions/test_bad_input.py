"""Identifiers on one line and plausible dates in the adhésions (issue 9, §3 A, part 4): a
convention reference names the convention's PDF download, and every adhésions date must lie
in the years the adhésions accept (MIN_YEAR to MAX_YEAR, as the contributions' years)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.adhesions import services
from emegalis.adhesions.models import Convention, ConventionKind, ConventionStatus
from emegalis.core.services_catalog import Service
from tests.adhesions.helpers import pdf_bytes

pytestmark = pytest.mark.django_db


def _create(actor, organisation, **overrides):
    fields = {
        "kind": ConventionKind.CHARTE,
        "reference": "CA-2025-001",
        "start_date": date(2025, 1, 1),
        "end_date": date(2029, 12, 31),
        "services": [Service.MARCHES],
        "deliberation_reference": "DEL-2024-42",
    }
    fields.update(overrides)
    return services.create_convention(actor=actor, organisation=organisation, **fields)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"reference": "CA-2025\n001"}, "reference", "La référence ne peut contenir aucun"),
        ({"reference": "CA\u202e1"}, "reference", "La référence ne peut contenir aucun"),
        (
            {"deliberation_reference": "DEL\r\n42"},
            "deliberation_reference",
            "La référence de la délibération ne peut contenir aucun",
        ),
        ({"start_date": date(1800, 1, 1)}, "start_date", "entre le 01/01/2000 et le 31/12/2100"),
        ({"end_date": date(9999, 12, 31)}, "end_date", "entre le 01/01/2000 et le 31/12/2100"),
    ],
)
def test_create_convention_refuses_control_characters_and_implausible_dates(
    staff, commune_a, overrides, field, message
):
    with pytest.raises(ValidationError) as caught:
        _create(staff, commune_a, **overrides)
    assert message in " ".join(caught.value.message_dict[field])
    assert not Convention.objects.exists()


def test_the_convention_form_shows_the_reason(staff_client, commune_a):
    response = staff_client.post(
        f"/operateur/membres/{commune_a.pk}/conventions/nouvelle/",
        {
            "kind": ConventionKind.CHARTE,
            "reference": "CA\n1",
            "start_date": "01/01/1800",
        },
    )
    page = response.content.decode()
    assert "La référence ne peut contenir aucun" in page
    assert "entre le 01/01/2000 et le 31/12/2100" in page
    assert not Convention.objects.exists()


def test_status_signature_and_call_dates_are_bounded(staff, commune_a, agglo_call):
    convention = _create(staff, commune_a)
    with pytest.raises(ValidationError, match="31/12/2100"):
        services.change_convention_status(
            actor=staff,
            convention=convention,
            status=ConventionStatus.EN_COURS,
            effective_on=date(9999, 1, 1),
        )
    with pytest.raises(ValidationError, match="01/01/2000"):
        services.attach_signed_document(
            actor=staff,
            convention=convention,
            file=SimpleUploadedFile("c.pdf", pdf_bytes(), "application/pdf"),
            signed_on=date(1800, 1, 1),
        )
    with pytest.raises(ValidationError, match="31/12/2100"):
        services.generate_calls(actor=staff, year=2027, issued_on=date(9999, 1, 1))
    convention.refresh_from_db()
    assert convention.current_status == ConventionStatus.PROSPECT
    assert not convention.signed_document


def test_a_convention_stored_with_a_line_break_still_downloads(login, staff, agent_a, convention_a):
    """A reference saved before the check (or by the admin) no longer breaks the header."""
    import io

    services.attach_signed_document(
        actor=staff, convention=convention_a, file=io.BytesIO(pdf_bytes("Charte signée"))
    )
    Convention.objects.filter(pk=convention_a.pk).update(reference="CA 2025\r\n01 é")
    response = login(agent_a).get(f"/organisations/conventions/{convention_a.pk}/document/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="convention-CA 2025 01 e.pdf"; '
        "filename*=UTF-8''convention-CA%202025%2001%20%C3%A9.pdf"
    )
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
