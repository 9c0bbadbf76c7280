"""The always-open test consultation, where a company checks its workstation before a real
deposit."""

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from emegalis.core import clock, journal
from emegalis.marches.consultations import services
from emegalis.marches.consultations.models import (
    Consultation,
    DceFile,
    DceVersion,
    Nature,
    Procedure,
    State,
)
from emegalis.marches.consultations.services import build_search_document
from emegalis.marches.filenames import clean_filename
from emegalis.organisations.models import Organisation

TEST_REFERENCE = "TEST-POSTE"


TEST_DEADLINE = datetime(2099, 12, 31, 18, 0, tzinfo=UTC)


@transaction.atomic
def ensure_test_consultation(*, organisation: Organisation) -> Consultation:
    """The consultation where companies check their workstation (arrêté du 22 mars 2019,
    art. 1 II 3°): always published, never closed, its deadline kept a year ahead."""
    from django.core.files.base import ContentFile

    now = clock.now()
    consultation = Consultation.objects.filter(organisation=organisation, is_test=True).first()
    if consultation is None:
        consultation = Consultation(
            organisation=organisation,
            reference=TEST_REFERENCE,
            title="Consultation de test — vérifiez votre poste et simulez un dépôt",
            object=(
                "Consultation fictive, toujours ouverte : téléchargez le DCE, posez une "
                "question et simulez un dépôt pour vérifier que votre poste de travail est "
                "prêt avant une vraie consultation."
            ),
            procedure=Procedure.MAPA,
            nature=Nature.SERVICES,
            cpv_main="79000000-4",
            departement=organisation.departement,
            is_test=True,
            contact_name="Support e-mégalis",
            contact_email="",
        )
    # Far-future deadlines: always open, found by every search of open consultations.
    consultation.questions_deadline = TEST_DEADLINE - timedelta(days=1)
    consultation.bids_deadline = TEST_DEADLINE
    consultation.cpv_search = " " + " ".join(consultation.cpv_codes)
    consultation.search_document = build_search_document(consultation, organisation.name)
    consultation.save()
    if consultation.state == State.BROUILLON:
        if not consultation.dce_versions.exists():
            dce = DceFile(
                consultation=consultation,
                name="reglement-de-consultation-test.txt",
                size=0,
                sha256="",
                content_type="text/plain",
            )
            content = (
                "Règlement de la consultation de test e-mégalis.\n"
                "Ce fichier sert à vérifier le téléchargement du DCE.\n"
            ).encode()
            dce.size = len(content)
            dce.sha256 = hashlib.sha256(content).hexdigest()
            dce.file.save(dce.name, ContentFile(content), save=False)
            dce.save()
            version = DceVersion.objects.create(
                consultation=consultation, number=1, published_at=now
            )
            consultation.dce_files.filter(added_in__isnull=True).update(added_in=version)
        consultation.published_at = now
        services.CONSULTATION_STATES.check(consultation.state, State.PUBLIEE)
        consultation.state = State.PUBLIEE
        consultation.state_changed_at = now
        consultation.save()
        journal.record(
            action="marches.consultation.published",
            organisation=organisation,
            object_type="consultation",
            object_id=consultation.pk,
            payload={"reference": consultation.reference, "test": True},
        )
    return consultation


def simulate_deposit(*, uploaded_files: Iterable) -> list[dict]:
    """Read each file in chunks and return its size and SHA-256; nothing is stored."""
    receipt = []
    for uploaded in uploaded_files:
        digest = hashlib.sha256()
        size = 0
        for chunk in uploaded.chunks():
            digest.update(chunk)
            size += len(chunk)
        receipt.append(
            {"name": clean_filename(uploaded.name), "size": size, "sha256": digest.hexdigest()}
        )
    if not receipt:
        raise ValidationError("Choisissez au moins un fichier pour simuler le dépôt.")
    return receipt
