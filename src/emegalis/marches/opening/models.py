"""The opening stage's tables: the commission, its members and their keys, the opening
sessions, late openings and opened files."""

from django.conf import settings
from django.db import models

from emegalis.marches.consultations.models import Consultation
from emegalis.marches.deposit.models import Pli, PliFile


class HexPublicKey:
    """A model whose ``public_key`` field holds a raw public key in hex."""

    @property
    def public_key_bytes(self) -> bytes:
        return bytes.fromhex(self.public_key)

    @property
    def fingerprint(self) -> str:
        """Hex SHA-256 of the raw public key, printed on shares, PVs and key pages."""
        from emegalis.core.sealing import public_key_fingerprint

        return public_key_fingerprint(self.public_key_bytes)


class OpeningCommission(HexPublicKey, models.Model):
    """The commission that opens a consultation's plis: n members, k of them needed.

    The key ceremony (services.create_opening_commission) stores the consultation's opening
    public key and, per member, a commitment to their share and the share encrypted to the
    member's own key (MemberKey), which only the member's browser opens. Each member collects
    their share once; the encrypted copy is then dropped (ADR 0004). The private key is never
    stored, nor anything the server's secrets could open.
    """

    consultation = models.OneToOneField(
        Consultation, on_delete=models.CASCADE, related_name="opening_commission"
    )
    threshold = models.PositiveSmallIntegerField("parts nécessaires à l'ouverture")
    public_key = models.CharField("clé publique d'ouverture (X25519, hex)", max_length=64)
    created_at = models.DateTimeField("cérémonie du")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField("toutes les parts remises le", null=True, blank=True)

    class Meta:
        verbose_name = "commission d'ouverture"
        verbose_name_plural = "commissions d'ouverture"

    def __str__(self) -> str:
        return f"Commission d'ouverture de {self.consultation.reference}"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


class MemberKey(HexPublicKey, models.Model):
    """A commission member's public key (ECDH P-256), made in their browser: the shares of the
    commissions they sit on are encrypted to it. The private key never reaches the platform.
    A member has at most one active key; replacing it revokes the previous one (shares still
    encrypted to it keep needing it)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="member_keys"
    )
    public_key = models.CharField("clé publique (P-256, hex)", max_length=130)
    created_at = models.DateTimeField("créée le")
    revoked_at = models.DateTimeField("remplacée le", null=True, blank=True)

    class Meta:
        verbose_name = "clé de membre de commission"
        verbose_name_plural = "clés de membres de commission"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(revoked_at__isnull=True),
                name="member_key_one_active_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"Clé {self.fingerprint[:16]} de {self.user}"


class CommissionMember(models.Model):
    commission = models.ForeignKey(
        OpeningCommission, on_delete=models.CASCADE, related_name="members"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opening_shares"
    )
    position = models.PositiveSmallIntegerField("numéro de part")
    # Kept for the label of the PV even if the account changes later.
    user_label = models.CharField(max_length=255)
    share_commitment = models.CharField("empreinte de la part", max_length=64)
    # The member's key the share was encrypted to at the ceremony (null: ceremonies before
    # 2026-12, whose waiting shares were dropped at the change; see ADR 0004).
    member_key = models.ForeignKey(
        MemberKey, null=True, blank=True, on_delete=models.PROTECT, related_name="seats"
    )
    # The share encrypted to member_key until the member collects it, then emptied.
    encrypted_share = models.BinaryField(null=True, blank=True, editable=False)
    collected_at = models.DateTimeField("part remise le", null=True, blank=True)

    class Meta:
        verbose_name = "membre de commission d'ouverture"
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["commission", "user"], name="commission_member_unique_user"
            ),
            models.UniqueConstraint(
                fields=["commission", "position"], name="commission_member_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"Part {self.position} — {self.user_label}"

    @property
    def has_collected(self) -> bool:
        return self.collected_at is not None

    @property
    def share_lost(self) -> bool:
        """Not collected and no longer on the platform (a ceremony before 2026-12): the
        commission must be named again."""
        return self.collected_at is None and self.encrypted_share is None


class OpeningSession(models.Model):
    """The opening of a consultation's plis, after the deadline, with k shares of its key."""

    consultation = models.OneToOneField(
        Consultation, on_delete=models.PROTECT, related_name="opening_session"
    )
    opened_at = models.DateTimeField("ouverte le")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Labels of the members whose shares opened the key (« Part 1 — Nom <e-mail> »).
    share_holders = models.JSONField("parts fournies par", default=list)
    pv = models.FileField("procès-verbal d'ouverture", upload_to="marches/pv/", blank=True)

    class Meta:
        verbose_name = "séance d'ouverture"

    def __str__(self) -> str:
        return f"Ouverture de {self.consultation.reference}"


class LateOpening(models.Model):
    """The opening of one pli received after the deadline, decided by the buyer and done by
    the commission with k shares in a complementary session (its own signed PV)."""

    pli = models.OneToOneField(Pli, on_delete=models.PROTECT, related_name="late_opening")
    session = models.ForeignKey(
        OpeningSession, on_delete=models.PROTECT, related_name="late_openings"
    )
    opened_at = models.DateTimeField("ouvert le")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField("motivation de l'ouverture")
    share_holders = models.JSONField("parts fournies par", default=list)
    pv = models.FileField(
        "procès-verbal complémentaire", upload_to="marches/pv/", blank=True, max_length=255
    )

    class Meta:
        verbose_name = "ouverture d'un pli hors délai"
        verbose_name_plural = "ouvertures de plis hors délai"

    def __str__(self) -> str:
        return f"Ouverture du pli hors délai {self.pli_id}"


class OpenedFile(models.Model):
    """The result of opening one file of a pli: integrity check and, when intact, the
    decrypted content (readable by the buyer from then on)."""

    session = models.ForeignKey(OpeningSession, on_delete=models.CASCADE, related_name="files")
    pli_file = models.OneToOneField(PliFile, on_delete=models.PROTECT, related_name="opened")
    intact = models.BooleanField("intègre")
    sha256 = models.CharField("empreinte SHA-256 à l'ouverture", max_length=64, blank=True)
    error = models.CharField("anomalie", max_length=255, blank=True)
    content = models.FileField("contenu déchiffré", upload_to="marches/ouverts/", blank=True)

    class Meta:
        verbose_name = "fichier ouvert"
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.pli_file.name} ({'intègre' if self.intact else 'altéré'})"
