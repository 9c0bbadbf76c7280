"""Anchoring the journal: the head hash timestamped by an RFC 3161 authority (the one of
SIGNING_TSA_URL in production, the local test authority otherwise), checked again by
verify_journal. See models.JournalAnchor for why."""

import hashlib
from dataclasses import dataclass

from asn1crypto import cms, tsp
from django.conf import settings
from django.db import transaction
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext

from . import signing, witnesses
from .models import JournalAnchor, JournalEntry


def _imprint(entry_hash: str) -> bytes:
    return hashlib.sha256(entry_hash.encode("ascii")).digest()


def _authority() -> str:
    return getattr(settings, "SIGNING_TSA_URL", "") or "autorité locale de test"


def anchor_head() -> JournalAnchor | None:
    """Timestamp the current head of the journal; None when it is empty or already anchored."""
    head = JournalEntry.objects.order_by("-id").first()
    if head is None:
        return None
    last = JournalAnchor.objects.order_by("-id").first()
    if last is not None and last.entry_id == head.pk:
        return None
    token = signing.run_async(
        lambda: signing.timestamper().async_timestamp(_imprint(head.entry_hash), "sha256")
    )
    info = _tst_info(token)
    with transaction.atomic():
        anchor = JournalAnchor.objects.create(
            entry_id=head.pk,
            entry_hash=head.entry_hash,
            entries=JournalEntry.objects.filter(id__lte=head.pk).count(),
            timestamped_at=info["gen_time"].native,
            token=token.dump(),
            authority=_authority(),
        )
        # The token also goes outside the database: deleting the anchors' rows loses nothing.
        transaction.on_commit(
            lambda: witnesses.log_anchor(
                entry_id=anchor.entry_id,
                entry_hash=anchor.entry_hash,
                token=bytes(anchor.token),
                authority=anchor.authority,
            ),
            robust=True,
        )
        return anchor


def _tst_info(token: cms.ContentInfo) -> tsp.TSTInfo:
    return token["content"]["encap_content_info"]["content"].parsed


@dataclass(frozen=True)
class AnchorProblem:
    anchor_id: int
    reason: str


def _validation_context() -> ValidationContext | None:
    if getattr(settings, "SIGNING_TSA_URL", ""):
        return None  # production: the authority's own chain, checked when the token is used
    return ValidationContext(trust_roots=[signing.local_pki().root])


def check_anchor(anchor: JournalAnchor) -> str | None:
    """Why the anchor no longer matches the journal, or None when it does."""
    entry = JournalEntry.objects.filter(pk=anchor.entry_id).only("entry_hash").first()
    if entry is None:
        return "l'entrée ancrée a disparu du journal"
    if entry.entry_hash != anchor.entry_hash:
        return "l'entrée ancrée n'a plus l'empreinte horodatée (journal réécrit)"
    return check_token(anchor)


def check_token(anchor: JournalAnchor) -> str | None:
    """Why the anchor's token does not prove its hash (unreadable, about another imprint, not
    signed by the authority), or None when it does."""
    try:
        token = cms.ContentInfo.load(bytes(anchor.token))
        info = _tst_info(token)
    except (ValueError, KeyError, TypeError):
        return "le jeton d'horodatage est illisible"
    if bytes(info["message_imprint"]["hashed_message"].native) != _imprint(anchor.entry_hash):
        return "le jeton d'horodatage ne porte pas sur l'empreinte ancrée"
    status = signing.run_async(
        lambda: validate_tst_signed_data(
            token["content"], _validation_context(), lambda _algorithm: _imprint(anchor.entry_hash)
        )
    )
    if not (status["intact"] and status["valid"]):
        return "la signature de l'autorité d'horodatage ne se vérifie pas"
    return None


def problems() -> list[AnchorProblem]:
    found = []
    for anchor in JournalAnchor.objects.order_by("id").iterator():
        reason = check_anchor(anchor)
        if reason:
            found.append(AnchorProblem(anchor.pk, reason))
    return found
