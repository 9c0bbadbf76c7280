"""Plis of format version 1 (one data key per file, deposits before the 2026-12 change): a
complete one still opens at the opening session; an incomplete one cannot be resumed (its
data key, sealed with the server's secret, was dropped) and says so (ADR 0004, cut-over)."""

import hashlib
import io
import os

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from emegalis.core import clock
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit import storage
from emegalis.marches.deposit.models import PliStatus
from emegalis.marches.opening import services as opening_services
from emegalis.marches.opening.models import OpenedFile
from tests.core.sealing_v1 import seal_version_1
from tests.marches.helpers import after_deadline

CHUNK = 1024 * 1024


def legacy_file(company_user, consultation, content: bytes, *, complete: bool):
    """A deposit turned into a version-1 file, as the migration leaves one."""
    pli = deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[deposit_services.DeclaredFile(kind="offre", name="offre.pdf", size=len(content))],
    )
    f = pli.files.get()
    sealed = seal_version_1(content, consultation.opening_commission.public_key_bytes, CHUNK)
    header, chunks = sealed[:112], sealed[112:]
    f.header, f.hash_state = header, None
    if complete:
        default_storage.save(storage.segment_name(f, 0), ContentFile(chunks))
        f.received, f.sha256 = len(content), hashlib.sha256(content).hexdigest()
        pli.status, pli.completed_at = PliStatus.RECU, clock.now()
        pli.save(update_fields=["status", "completed_at"])
    f.save()
    return pli, f


def test_a_complete_version_1_pli_still_opens(company_user, opened, monkeypatch):  # noqa: F811
    consultation, shares = opened
    content = os.urandom(2 * CHUNK + 123)
    pli, f = legacy_file(company_user, consultation, content, complete=True)
    after_deadline(monkeypatch, consultation)
    members = [m.user for m in consultation.opening_commission.members.order_by("position")]
    opening_services.open_plis(
        actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
    )
    opened_file = OpenedFile.objects.get(pli_file=f)
    assert opened_file.intact, opened_file.error
    with default_storage.open(opened_file.content.name, "rb") as clear:
        assert clear.read() == content


def test_an_incomplete_version_1_deposit_asks_to_start_again(
    company_user,
    opened,  # noqa: F811
    client_for,
):
    consultation, _ = opened
    content = os.urandom(CHUNK + 5)
    pli, f = legacy_file(company_user, consultation, content, complete=False)
    with pytest.raises(ValidationError, match="recommencez le dépôt"):
        deposit_services.receive(
            actor=company_user,
            pli_pk=pli.pk,
            file_pk=f.pk,
            offset=0,
            stream=io.BytesIO(content),
            length=len(content),
        )
    response = client_for(company_user).put(
        f"/marches/plis/{pli.pk}/fichiers/{f.pk}/",
        data=content,
        content_type="application/octet-stream",
        headers={"Upload-Offset": "0"},
    )
    assert response.status_code == 409 and "recommencez" in response.json()["detail"]
    f.refresh_from_db()
    assert f.received == 0
