"""Convention services: creation, the status state machine, services and the signed PDF."""

import hashlib
import io
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.adhesions import services
from emegalis.adhesions.models import Convention, ConventionKind, ConventionStatus
from emegalis.core import journal
from emegalis.core.models import JournalEntry
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from tests.adhesions.helpers import pdf_bytes, stored_files
from tests.factories import OrganisationFactory, make_member

CONVENTION_FILES = "adhesions/conventions"

pytestmark = pytest.mark.django_db


def _create(actor, organisation, reference="CA-2025-001", **overrides):
    fields = {
        "kind": ConventionKind.CHARTE,
        "reference": reference,
        "start_date": date(2025, 1, 1),
        "end_date": date(2029, 12, 31),
        "services": [Service.MARCHES],
        "deliberation_reference": "DEL-2024-42",
    }
    fields.update(overrides)
    return services.create_convention(actor=actor, organisation=organisation, **fields)


def test_create_convention_starts_as_prospect_and_is_journaled(staff, commune_a):
    convention = _create(staff, commune_a)
    assert convention.current_status == ConventionStatus.PROSPECT
    assert [c.status for c in convention.status_changes.all()] == [ConventionStatus.PROSPECT]
    assert convention.services == [Service.MARCHES]
    entry = JournalEntry.objects.get(action="convention.created")
    assert entry.object_id == str(convention.pk)
    assert entry.actor_id == staff.pk
    assert entry.payload["reference"] == "CA-2025-001"
    assert journal.first_break() is None


def test_only_platform_staff_may_write_conventions(commune_a, agent_a):
    referent = make_member(commune_a, Role.REFERENT)
    for actor in (agent_a, referent):
        with pytest.raises(PermissionDenied):
            _create(actor, commune_a)
    assert not Convention.objects.exists()
    assert not JournalEntry.objects.filter(action="convention.created").exists()


def test_create_convention_validates_input(staff, commune_a):
    with pytest.raises(ValidationError, match="date de fin"):
        _create(staff, commune_a, start_date=date(2025, 1, 1), end_date=date(2024, 1, 1))
    with pytest.raises(ValidationError, match="Service inconnu"):
        _create(staff, commune_a, services=["teleportation"])
    _create(staff, commune_a, reference="REF-1")
    with pytest.raises(ValidationError, match="déjà la référence"):
        _create(staff, commune_a, reference="REF-1")
    company = OrganisationFactory(kind=OrganisationKind.ENTREPRISE, insee_nature="")
    with pytest.raises(ValidationError, match="ne signe pas"):
        _create(staff, company, reference="REF-2")
    assert Convention.objects.count() == 1


@pytest.mark.parametrize(
    "path",
    [
        ["en_cours", "adherent", "resilie", "prospect"],
        ["refus", "prospect", "en_cours", "refus"],
        ["en_cours", "adherent"],
    ],
)
def test_legal_transitions(staff, commune_a, path):
    convention = _create(staff, commune_a)
    for i, status in enumerate(path):
        services.change_convention_status(
            actor=staff, convention=convention, status=status, effective_on=date(2025, 1, 1 + i)
        )
    convention.refresh_from_db()
    assert convention.current_status == path[-1]
    assert [c.status for c in convention.status_changes.all()] == ["prospect", *path]
    assert JournalEntry.objects.filter(action="convention.status_changed").count() == len(path)
    assert journal.first_break() is None


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], "adherent"),
        ([], "resilie"),
        (["en_cours"], "prospect"),
        (["en_cours", "adherent"], "en_cours"),
        (["en_cours", "adherent"], "prospect"),
        (["en_cours", "adherent", "resilie"], "adherent"),
        (["refus"], "adherent"),
        ([], "prospect"),
    ],
)
def test_illegal_transitions_raise_a_french_error(staff, commune_a, path, illegal):
    convention = _create(staff, commune_a)
    for status in path:
        services.change_convention_status(
            actor=staff, convention=convention, status=status, effective_on=date(2025, 2, 1)
        )
    count = JournalEntry.objects.count()
    with pytest.raises(ValidationError, match="Passage impossible du statut") as excinfo:
        services.change_convention_status(
            actor=staff, convention=convention, status=illegal, effective_on=date(2025, 3, 1)
        )
    assert ConventionStatus(illegal).label.lower() in excinfo.value.messages[0]
    convention.refresh_from_db()
    assert convention.current_status == (path[-1] if path else "prospect")
    assert JournalEntry.objects.count() == count


def test_unknown_status_is_refused(staff, commune_a):
    convention = _create(staff, commune_a)
    with pytest.raises(ValidationError, match="Statut inconnu"):
        services.change_convention_status(
            actor=staff, convention=convention, status="dissous", effective_on=date(2025, 1, 1)
        )


def test_status_change_cannot_be_dated_before_the_latest(staff, commune_a):
    convention = _create(staff, commune_a)
    services.change_convention_status(
        actor=staff, convention=convention, status="en_cours", effective_on=date(2025, 6, 1)
    )
    with pytest.raises(ValidationError, match="ne peut pas précéder"):
        services.change_convention_status(
            actor=staff, convention=convention, status="adherent", effective_on=date(2025, 5, 1)
        )


def test_current_status_comes_from_the_latest_change_not_the_stored_field(staff, commune_a):
    convention = _create(staff, commune_a)
    # A stale denormalised field must not let an illegal move through.
    Convention.objects.filter(pk=convention.pk).update(current_status="adherent")
    convention.refresh_from_db()
    with pytest.raises(ValidationError):
        services.change_convention_status(
            actor=staff, convention=convention, status="resilie", effective_on=date(2025, 2, 1)
        )
    services.change_convention_status(
        actor=staff, convention=convention, status="en_cours", effective_on=date(2025, 2, 1)
    )
    convention.refresh_from_db()
    assert convention.current_status == "en_cours"


def test_non_staff_cannot_change_status(staff, agent_a, commune_a):
    convention = _create(staff, commune_a)
    with pytest.raises(PermissionDenied):
        services.change_convention_status(
            actor=agent_a, convention=convention, status="en_cours", effective_on=date(2025, 2, 1)
        )


def test_set_convention_services(staff, commune_a):
    convention = _create(staff, commune_a)
    services.set_convention_services(
        actor=staff, convention=convention, services=[Service.ACTES, Service.COLLABORATIF]
    )
    assert sorted(convention.services) == [Service.ACTES, Service.COLLABORATIF]
    entry = JournalEntry.objects.get(action="convention.services_changed")
    assert entry.payload == {
        "reference": convention.reference,
        "before": [Service.MARCHES],
        "after": [Service.ACTES, Service.COLLABORATIF],
    }
    with pytest.raises(ValidationError):
        services.set_convention_services(actor=staff, convention=convention, services=["x"])
    assert sorted(convention.services) == [Service.ACTES, Service.COLLABORATIF]
    assert journal.first_break() is None


def test_attach_signed_document_stores_a_real_pdf(staff, commune_a):
    convention = _create(staff, commune_a)
    data = pdf_bytes()
    upload = SimpleUploadedFile("signee.pdf", data, content_type="application/pdf")
    services.attach_signed_document(
        actor=staff, convention=convention, file=upload, signed_on=date(2025, 1, 15)
    )
    convention.refresh_from_db()
    assert convention.signed_on == date(2025, 1, 15)
    assert convention.signed_document.name in stored_files(CONVENTION_FILES)
    with convention.signed_document.open("rb") as f:
        assert f.read() == data
    entry = JournalEntry.objects.get(action="convention.document_attached")
    assert entry.payload["sha256"] == hashlib.sha256(data).hexdigest()
    assert journal.first_break() is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Bonjour, ceci n'est pas un PDF.", "pas un PDF valide"),
        (b"", "pas un PDF valide"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "pas un PDF valide"),
        ("truncated", "endommagé ou incomplet"),
        ("truncated_with_eof", "endommagé ou incomplet"),
        (b"%PDF-1.4\n%%EOF\n", "endommagé ou incomplet"),
    ],
)
def test_attach_signed_document_rejects_non_pdf_and_stores_nothing(
    staff, commune_a, content, message
):
    convention = _create(staff, commune_a)
    good = pdf_bytes("Un document assez long " * 20)
    if content == "truncated":
        content = good[: len(good) // 2]
    elif content == "truncated_with_eof":
        content = good[: len(good) // 2] + b"\n%%EOF\n"
    before_files = stored_files(CONVENTION_FILES)
    before_entries = JournalEntry.objects.count()
    upload = SimpleUploadedFile("signee.pdf", content, content_type="application/pdf")
    with pytest.raises(ValidationError, match=message):
        services.attach_signed_document(actor=staff, convention=convention, file=upload)
    convention.refresh_from_db()
    assert not convention.signed_document
    assert stored_files(CONVENTION_FILES) == before_files
    assert JournalEntry.objects.count() == before_entries


def test_attach_accepts_a_plain_file_object(staff, commune_a):
    convention = _create(staff, commune_a)
    services.attach_signed_document(
        actor=staff, convention=convention, file=io.BytesIO(pdf_bytes())
    )
    convention.refresh_from_db()
    assert convention.signed_document.name.endswith(".pdf")


def test_non_staff_cannot_attach_document(staff, agent_a, commune_a):
    convention = _create(staff, commune_a)
    with pytest.raises(PermissionDenied):
        services.attach_signed_document(
            actor=agent_a, convention=convention, file=io.BytesIO(pdf_bytes())
        )
