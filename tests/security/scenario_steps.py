"""The only place where the attacker scenario touches the sealing API of the platform.

When the key ceremony, the collection of shares or the deposit change (issue 9), port these
four functions to the new API and nothing else: attacker_scenario.py and the attacks in
test_sealed_against_server_secrets.py only rely on what they return and on the database rows
and files the platform leaves behind.
"""

import io

from emegalis.core import sealing
from emegalis.marches.consultations.models import Consultation
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit.models import PliFileKind
from emegalis.marches.opening import member_side
from emegalis.marches.opening import services as opening_services

# The members' private keys, as their browsers hold them: in this process's memory only,
# never written anywhere the attacker copies.
_MEMBER_KEYS: dict = {}


def name_commission(*, buyer, consultation, members, threshold) -> None:
    """Each member makes their key (in their browser), then the key ceremony: the buyer
    names the commission (k = threshold of n = len(members))."""
    for member in members:
        _MEMBER_KEYS[member.pk] = member_side.create_key(member)
    opening_services.create_opening_commission(
        actor=buyer, consultation=consultation, members=members, threshold=threshold
    )


def collect_shares(*, consultation, members) -> list[str]:
    """Each member collects their share once; the words are returned to the caller only."""
    return [
        member_side.collect(member, _MEMBER_KEYS[member.pk], consultation.pk) for member in members
    ]


def deposit_pli(*, company_user, consultation, content: bytes) -> str:
    """Start a deposit of one offer, upload it in two requests through deposit_services.receive,
    confirm it; returns the SHA-256 of the offer printed on the receipt."""
    pli = deposit_services.start_deposit(
        actor=company_user,
        consultation=consultation,
        files=[
            deposit_services.DeclaredFile(
                kind=PliFileKind.OFFRE, name="offre.pdf", size=len(content)
            )
        ],
    )
    pli_file = pli.files.get()
    # First request: two whole chunks; second request: the rest (whole chunks and the tail).
    cut = 2 * sealing.CHUNK_SIZE
    offset = 0
    for part in (content[:cut], content[cut:]):
        offset = deposit_services.receive(
            actor=company_user,
            pli_pk=pli.pk,
            file_pk=pli_file.pk,
            offset=offset,
            stream=io.BytesIO(part),
            length=len(part),
        )
    assert offset == len(content), (offset, len(content))
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli.pk)
    pli_file.refresh_from_db()
    return pli_file.sha256


def public_key_hex(consultation) -> str:
    """The consultation's opening public key (raw X25519, hex)."""
    consultation = Consultation.objects.select_related("opening_commission").get(pk=consultation.pk)
    return consultation.opening_commission.public_key
