"""The procurement room: consultations, lots, DCE files and versions, retraits, questions
and saved searches (API keys belong to the account: organisations.ApiKey).

Writes go through services.py (state machine, journal); reads through selectors.py (scoping).
A model's save() has no side effect.
"""

import uuid

from django.conf import settings
from django.db import models

from emegalis.organisations.models import Organisation


class Procedure(models.TextChoices):
    MAPA = "mapa", "Procédure adaptée (MAPA)"
    AO_OUVERT = "ao_ouvert", "Appel d'offres ouvert"
    AO_RESTREINT = "ao_restreint", "Appel d'offres restreint"
    NEGOCIATION = "negociation", "Procédure avec négociation"
    DIALOGUE = "dialogue", "Dialogue compétitif"
    SANS_PUBLICITE = "sans_publicite", "Marché sans publicité ni mise en concurrence préalable"


class Nature(models.TextChoices):
    TRAVAUX = "travaux", "Travaux"
    FOURNITURES = "fournitures", "Fournitures"
    SERVICES = "services", "Services"


class State(models.TextChoices):
    BROUILLON = "brouillon", "Brouillon"
    PUBLIEE = "publiee", "Publiée"
    CLOTUREE = "cloturee", "Clôturée"
    ATTRIBUEE = "attribuee", "Attribuée"
    INFRUCTUEUSE = "infructueuse", "Infructueuse"
    ANNULEE = "annulee", "Annulée"


class Consultation(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        verbose_name="acheteur",
        on_delete=models.PROTECT,
        related_name="consultations",
    )
    reference = models.CharField("référence", max_length=50)
    title = models.CharField("intitulé", max_length=255)
    object = models.TextField("objet")
    procedure = models.CharField("procédure", max_length=20, choices=Procedure.choices)
    nature = models.CharField("nature", max_length=20, choices=Nature.choices)
    cpv_main = models.CharField("code CPV principal", max_length=10)
    cpv_extra = models.JSONField("codes CPV complémentaires", default=list, blank=True)
    # " 45000000-7 45210000-2": every code, space-prefixed, for the CPV filter.
    cpv_search = models.CharField(max_length=500, blank=True, default="", editable=False)
    place_of_execution = models.CharField("lieu d'exécution", max_length=255, blank=True)
    departement = models.CharField("département d'exécution", max_length=3, blank=True)
    estimated_value = models.DecimalField(
        "valeur estimée (€ HT)", max_digits=14, decimal_places=2, null=True, blank=True
    )
    variants_allowed = models.BooleanField("variantes autorisées", default=False)
    signature_required = models.BooleanField(
        "signature électronique de l'offre exigée", default=False
    )
    electronic_submission = models.BooleanField(
        "remise des plis par voie électronique", default=True
    )
    prior_information = models.BooleanField("avis de préinformation publié", default=False)
    urgency = models.BooleanField("urgence dûment justifiée", default=False)
    contact_name = models.CharField("contact", max_length=150, blank=True)
    contact_email = models.EmailField("adresse électronique du contact", blank=True)
    contact_phone = models.CharField("téléphone du contact", max_length=30, blank=True)
    questions_deadline = models.DateTimeField("date limite des questions")
    bids_deadline = models.DateTimeField("date limite de remise des plis")
    state = models.CharField(
        "état", max_length=20, choices=State.choices, default=State.BROUILLON, db_index=True
    )
    published_at = models.DateTimeField("publiée le", null=True, blank=True)
    state_changed_at = models.DateTimeField("état changé le", null=True, blank=True)
    is_test = models.BooleanField("consultation de test (toujours ouverte)", default=False)
    # Normalised text (lower case, no accents) of reference, title, object, buyer and place;
    # indexed by the full-text search of each database backend (see search_backend.py).
    search_document = models.TextField(blank=True, default="", editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "consultation"
        ordering = ["bids_deadline", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "reference"],
                name="consultation_unique_reference",
                violation_error_message="Votre organisation a déjà une consultation de cette "
                "référence.",
            )
        ]
        indexes = [
            models.Index(fields=["state", "bids_deadline"], name="consult_state_deadline"),
            models.Index(fields=["state", "published_at"], name="consult_state_published"),
            models.Index(fields=["cpv_main"], name="consult_cpv"),
            models.Index(fields=["departement", "bids_deadline"], name="consult_dept"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    @property
    def cpv_codes(self) -> list[str]:
        return [self.cpv_main, *self.cpv_extra]

    @property
    def is_public(self) -> bool:
        return self.state != State.BROUILLON


class Lot(models.Model):
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="lots")
    number = models.PositiveSmallIntegerField("numéro")
    title = models.CharField("intitulé", max_length=255)
    cpv = models.CharField("code CPV", max_length=10, blank=True)
    estimated_value = models.DecimalField(
        "valeur estimée (€ HT)", max_digits=14, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = "lot"
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "number"],
                name="lot_unique_number",
                violation_error_message="Un lot porte déjà ce numéro.",
            )
        ]

    def __str__(self) -> str:
        return f"Lot {self.number} — {self.title}"


class DceVersion(models.Model):
    """A published state of the DCE: version 1 at publication, then one per rectificatif."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="dce_versions"
    )
    number = models.PositiveIntegerField("version")
    published_at = models.DateTimeField("publiée le")
    reason = models.TextField("motif du rectificatif", blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = "version du DCE"
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "number"], name="dce_version_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"Version {self.number}"

    @property
    def is_rectificatif(self) -> bool:
        return self.number > 1


def dce_upload_to(instance: "DceFile", filename: str) -> str:
    return f"marches/dce/{instance.consultation_id}/{uuid.uuid4().hex}"


class DceFile(models.Model):
    """One file of the DCE. Staged (added_in None) until the next publication or rectificatif;
    removed_in marks the version from which it is no longer part of the DCE."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="dce_files"
    )
    folder = models.CharField("dossier", max_length=200, blank=True)
    name = models.CharField("nom", max_length=255)
    file = models.FileField("fichier", upload_to=dce_upload_to, max_length=255)
    size = models.BigIntegerField("taille (octets)")
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_at = models.DateTimeField("déposé le", auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    added_in = models.ForeignKey(
        DceVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="added_files"
    )
    removed_in = models.ForeignKey(
        DceVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="removed_files"
    )
    pending_removal = models.BooleanField("retrait prévu au prochain rectificatif", default=False)

    class Meta:
        verbose_name = "fichier du DCE"
        ordering = ["folder", "name", "pk"]

    def __str__(self) -> str:
        return self.path

    @property
    def path(self) -> str:
        return f"{self.folder.strip('/')}/{self.name}" if self.folder else self.name


class Retrait(models.Model):
    """One download of the DCE (whole zip or one file), identified or anonymous."""

    class Kind(models.TextChoices):
        ZIP = "zip", "DCE complet (zip)"
        FILE = "file", "Fichier"

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="retraits"
    )
    version = models.ForeignKey(DceVersion, on_delete=models.PROTECT, related_name="retraits")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.ForeignKey(DceFile, null=True, blank=True, on_delete=models.SET_NULL)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.SET_NULL)
    # Kept even if the user is deleted later: the register must stay readable.
    user_label = models.CharField(max_length=255, blank=True)
    organisation_label = models.CharField(max_length=255, blank=True)
    organisation_siret = models.CharField(max_length=14, blank=True)
    downloaded_at = models.DateTimeField("retiré le")

    class Meta:
        verbose_name = "retrait"
        ordering = ["downloaded_at", "pk"]
        indexes = [models.Index(fields=["consultation", "user"], name="retrait_consult_user")]

    def __str__(self) -> str:
        return f"Retrait {self.pk} — {self.user_label or 'anonyme'}"

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None and not self.user_label


class Question(models.Model):
    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="questions"
    )
    text = models.TextField("question")
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="marches_questions",
    )
    organisation = models.ForeignKey(Organisation, null=True, on_delete=models.SET_NULL)
    asked_at = models.DateTimeField("posée le")
    answer = models.TextField("réponse", blank=True)
    answered_at = models.DateTimeField("répondue le", null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "question"
        ordering = ["asked_at", "pk"]

    def __str__(self) -> str:
        return f"Question {self.pk}"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class SavedSearch(models.Model):
    """A company user's search kept as an alert: a daily e-mail of new matches."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="marches_alerts"
    )
    name = models.CharField("nom", max_length=100)
    params = models.JSONField("critères", default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # Consultations published after this moment are "new" for the next e-mail.
    checked_until = models.DateTimeField()

    class Meta:
        verbose_name = "alerte"
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


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


class PliStatus(models.TextChoices):
    EN_COURS = "en_cours", "Dépôt en cours (incomplet)"
    RECU = "recu", "Reçu dans les délais"
    HORS_DELAI = "hors_delai", "Reçu hors délai"
    REMPLACE = "remplace", "Remplacé par un dépôt ultérieur"


class Pli(models.Model):
    """One deposit of a company for a consultation: files sealed to the opening public key.

    Counted only once complete (every file received and confirmed by the company): the
    server time at completion decides whether it is in time. A later complete deposit in
    time replaces the earlier ones, which are kept and marked « remplacé ».
    """

    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="plis")
    company = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    depositor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    depositor_label = models.CharField("déposant", max_length=255)
    company_label = models.CharField("entreprise", max_length=255)
    company_siret = models.CharField("SIRET", max_length=14, blank=True)
    status = models.CharField(
        "statut", max_length=20, choices=PliStatus.choices, default=PliStatus.EN_COURS
    )
    started_at = models.DateTimeField("commencé le")
    completed_at = models.DateTimeField("reçu le", null=True, blank=True)
    total_size = models.BigIntegerField("taille totale (octets)", default=0)
    file_count = models.PositiveIntegerField("nombre de fichiers", default=0)
    backup_copy_declared = models.BooleanField("copie de sauvegarde annoncée", default=False)
    receipt = models.FileField("accusé de réception", upload_to="marches/recus/", blank=True)

    class Meta:
        verbose_name = "pli"
        ordering = ["completed_at", "pk"]
        indexes = [
            models.Index(fields=["consultation", "status"], name="pli_consult_status"),
            models.Index(fields=["consultation", "company"], name="pli_consult_company"),
        ]

    def __str__(self) -> str:
        return f"Pli {self.pk} — {self.company_label}"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


class PliFileKind(models.TextChoices):
    CANDIDATURE = "candidature", "Candidature"
    OFFRE = "offre", "Offre"


class CandidatureDocument(models.TextChoices):
    """What a candidature file is (arrêté du 22 mars 2019: DUME or DC1/DC2, or free files)."""

    DUME = "dume", "DUME (document unique de marché européen)"
    DC1 = "dc1", "DC1 — lettre de candidature"
    DC2 = "dc2", "DC2 — déclaration du candidat"
    AUTRE = "autre", "Autre pièce de candidature"


class PliFile(models.Model):
    """One file of a pli, stored only sealed: its header and one storage object per segment
    of chunks, each segment under a data key of its own wrapped to the opening public key
    (docs/plis-format.md). No key is kept between requests (ADR 0004)."""

    pli = models.ForeignKey(Pli, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField("pièce", max_length=20, choices=PliFileKind.choices)
    document = models.CharField(
        "document de candidature",
        max_length=10,
        choices=CandidatureDocument.choices,
        blank=True,
        default="",
    )
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField("nom", max_length=255)
    size = models.BigIntegerField("taille (octets)")
    received = models.BigIntegerField("octets reçus", default=0)
    header = models.BinaryField("en-tête scellé", editable=False)
    # SHA-256 state of the plaintext received so far (rehashes), so that any worker can go
    # on with the next request; emptied at completion. It opens nothing (ADR 0004).
    hash_state = models.BinaryField(null=True, blank=True, editable=False)
    sha256 = models.CharField("empreinte SHA-256", max_length=64, blank=True)

    class Meta:
        verbose_name = "fichier de pli"
        ordering = ["kind", "lot__number", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def piece_label(self) -> str:
        """« Candidature (DC1 — lettre de candidature) », « Offre, lot 2 »."""
        if self.document:
            return f"{self.get_kind_display()} ({self.get_document_display()})"
        return self.get_kind_display() + (f", lot {self.lot.number}" if self.lot_id else "")

    @property
    def is_received(self) -> bool:
        return self.received == self.size

    @property
    def storage_prefix(self) -> str:
        return f"marches/plis/{self.pli.consultation_id}/{self.pli_id}/{self.pk}"


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


# ---------------------------------------------------------------------------------------
# After the opening: secure messaging, analysis, award, letters, contract (DECP / OCDS).
# Services: messaging.py (messages), attribution.py (analysis → award → letters →
# notification), opendata.py (DECP v2 and OCDS exports).
# ---------------------------------------------------------------------------------------


class MessageDirection(models.TextChoices):
    TO_COMPANY = "to_company", "De l'acheteur à l'entreprise"
    TO_BUYER = "to_buyer", "De l'entreprise à l'acheteur"


class Message(models.Model):
    """A message of the secure messaging between a consultation's buyer and one company.

    Its content is read on the platform only (the e-mail only says a message is waiting);
    the first opening by a user of the receiving side is the read receipt (accusé de lecture).
    """

    consultation = models.ForeignKey(
        Consultation, on_delete=models.PROTECT, related_name="messages"
    )
    company = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="entreprise"
    )
    direction = models.CharField("sens", max_length=20, choices=MessageDirection.choices)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    sender_label = models.CharField("expéditeur", max_length=255)
    subject = models.CharField("objet", max_length=255)
    body = models.TextField("message")
    attachment = models.FileField(
        "pièce jointe", upload_to="marches/messages/", blank=True, max_length=255
    )
    attachment_name = models.CharField("nom de la pièce jointe", max_length=255, blank=True)
    attachment_sha256 = models.CharField(max_length=64, blank=True)
    in_reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    sent_at = models.DateTimeField("envoyé le")
    read_at = models.DateTimeField("lu le", null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    read_by_label = models.CharField("lu par", max_length=255, blank=True)

    class Meta:
        verbose_name = "message sécurisé"
        verbose_name_plural = "messages sécurisés"
        ordering = ["-sent_at", "-pk"]
        indexes = [
            models.Index(fields=["consultation", "company"], name="msg_consult_company"),
            models.Index(fields=["company", "direction", "read_at"], name="msg_company_unread"),
        ]

    def __str__(self) -> str:
        return self.subject


class CriterionKind(models.TextChoices):
    PRIX = "prix", "Prix"
    TECHNIQUE = "technique", "Valeur technique"
    AUTRE = "autre", "Autre critère"


class AwardCriterion(models.Model):
    """A weighted award criterion of a consultation, for one lot or (lot empty) for a
    consultation without lots. The weights of one lot add up to 100. The price criterion is
    scored by formula (best price / price × 20); the others are scored by the buyer on 20."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="criteria"
    )
    lot = models.ForeignKey(
        Lot, null=True, blank=True, on_delete=models.CASCADE, related_name="criteria"
    )
    kind = models.CharField("type", max_length=20, choices=CriterionKind.choices)
    label = models.CharField("critère", max_length=200)
    weight = models.PositiveSmallIntegerField("pondération (%)")
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "critère d'attribution"
        verbose_name_plural = "critères d'attribution"
        ordering = ["lot__number", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.label} ({self.weight} %)"


class Evaluation(models.Model):
    """The analysis of one pli's offer for one lot (lot empty: consultation without lots)."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="evaluations"
    )
    lot = models.ForeignKey(
        Lot, null=True, blank=True, on_delete=models.CASCADE, related_name="evaluations"
    )
    pli = models.ForeignKey(Pli, on_delete=models.PROTECT, related_name="evaluations")
    price = models.DecimalField(
        "montant de l'offre (€ HT)", max_digits=14, decimal_places=2, null=True, blank=True
    )
    # An offer set aside (irrégulière, inacceptable, inappropriée) is not ranked.
    excluded = models.BooleanField("offre écartée", default=False)
    exclusion_reason = models.TextField("motif de l'éviction", blank=True)
    # Score on 20 per criterion pk (as a string), price included once computed.
    scores = models.JSONField("notes sur 20 par critère", default=dict, blank=True)
    total = models.DecimalField(
        "note pondérée sur 20", max_digits=6, decimal_places=3, null=True, blank=True
    )
    rank = models.PositiveSmallIntegerField("rang", null=True, blank=True)
    comment = models.TextField("appréciation", blank=True)
    updated_at = models.DateTimeField("mise à jour le", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "analyse d'une offre"
        verbose_name_plural = "analyses des offres"
        ordering = ["lot__number", "rank", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["pli", "lot"], name="evaluation_pli_lot"),
            models.UniqueConstraint(
                fields=["pli"], condition=models.Q(lot=None), name="evaluation_pli_no_lot"
            ),
        ]

    def __str__(self) -> str:
        return f"Analyse {self.pli.company_label}"


class DecisionOutcome(models.TextChoices):
    ATTRIBUE = "attribue", "Attribué"
    INFRUCTUEUX = "infructueux", "Infructueux"


class AwardDecision(models.Model):
    """The award decision for one lot (lot empty: consultation without lots), frozen with
    the ranking it was taken on. Letters go out from it; the standstill runs from their
    sending; the contract is notified once it has ended."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.PROTECT, related_name="decisions"
    )
    lot = models.ForeignKey(
        Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    outcome = models.CharField("décision", max_length=20, choices=DecisionOutcome.choices)
    winner = models.ForeignKey(
        Pli, null=True, blank=True, on_delete=models.PROTECT, related_name="won_decisions"
    )
    amount = models.DecimalField(
        "montant attribué (€ HT)", max_digits=14, decimal_places=2, null=True, blank=True
    )
    reason = models.TextField("motivation", blank=True)
    # [{"pli": pk, "company": label, "siret": …, "price": "…", "total": "…", "rank": n,
    #   "excluded": bool, "reason": "…"}] as decided.
    ranking = models.JSONField("classement retenu", default=list)
    decided_at = models.DateTimeField("décidée le")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    letters_sent_at = models.DateTimeField("lettres envoyées le", null=True, blank=True)
    standstill_ends_on = models.DateField("fin du délai de suspension", null=True, blank=True)

    class Meta:
        verbose_name = "décision d'attribution"
        verbose_name_plural = "décisions d'attribution"
        ordering = ["lot__number", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "lot"], name="decision_per_lot"),
            models.UniqueConstraint(
                fields=["consultation"], condition=models.Q(lot=None), name="decision_no_lot"
            ),
        ]

    def __str__(self) -> str:
        return f"Décision {self.consultation.reference} — {self.lot or 'marché unique'}"


class LetterKind(models.TextChoices):
    REJET = "rejet", "Lettre de rejet"
    ATTRIBUTION = "attribution", "Lettre d'attribution"
    NOTIFICATION = "notification", "Notification du marché"


class AwardLetter(models.Model):
    """A letter generated from a decision (PDF) and sent through the secure messaging."""

    decision = models.ForeignKey(AwardDecision, on_delete=models.PROTECT, related_name="letters")
    pli = models.ForeignKey(Pli, on_delete=models.PROTECT, related_name="letters")
    kind = models.CharField("type", max_length=20, choices=LetterKind.choices)
    pdf = models.FileField("lettre (PDF)", upload_to="marches/lettres/", max_length=255)
    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.PROTECT, related_name="letter"
    )
    sent_at = models.DateTimeField("envoyée le")

    class Meta:
        verbose_name = "lettre"
        ordering = ["decision", "kind", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "pli", "kind"], name="letter_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.pli.company_label}"


class Contract(models.Model):
    """The contract (marché) recorded at notification: the source of its DECP v2 record and
    of the OCDS contract. Initial values never change once published; changes are
    ContractModification rows (the DECP append-only rule)."""

    class FormePrix(models.TextChoices):
        UNITAIRE = "Unitaire"
        FORFAITAIRE = "Forfaitaire"
        MIXTE = "Mixte"

    decision = models.OneToOneField(
        AwardDecision, on_delete=models.PROTECT, related_name="contract"
    )
    consultation = models.ForeignKey(
        Consultation, on_delete=models.PROTECT, related_name="contracts"
    )
    buyer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    holder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    # DECP `id`: 1–16 characters, unique per buyer, no space, comma, semicolon, & " \ <.
    number = models.CharField("numéro du marché", max_length=16)
    object = models.CharField("objet", max_length=1000)
    cpv = models.CharField("code CPV", max_length=10)
    amount = models.DecimalField("montant (€ HT)", max_digits=14, decimal_places=2)
    duration_months = models.PositiveSmallIntegerField("durée (mois)")
    notified_on = models.DateField("notifié le")
    data_published_on = models.DateField("données publiées le")
    forme_prix = models.CharField(
        "forme du prix", max_length=20, choices=FormePrix.choices, default=FormePrix.FORFAITAIRE
    )
    # DECP vocabularies (lists of their exact French values).
    types_prix = models.JSONField("types de prix", default=list)
    techniques = models.JSONField("techniques d'achat", default=list)
    modalites_execution = models.JSONField("modalités d'exécution", default=list)
    ccag = models.CharField("CCAG", max_length=80, default="Pas de CCAG")
    considerations_sociales = models.JSONField(default=list)
    considerations_environnementales = models.JSONField(default=list)
    marche_innovant = models.BooleanField("marché innovant", default=False)
    attribution_avance = models.BooleanField("avance", default=False)
    taux_avance = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    sous_traitance_declaree = models.BooleanField("sous-traitance déclarée", default=False)
    type_groupement = models.CharField(max_length=30, default="Pas de groupement")
    offers_received = models.PositiveIntegerField("offres reçues")
    place_code = models.CharField("lieu d'exécution (code)", max_length=10)
    place_code_type = models.CharField(max_length=30, default="Code département")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "marché notifié"
        verbose_name_plural = "marchés notifiés"
        ordering = ["-notified_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["buyer", "number"], name="contract_number_per_buyer"),
        ]

    def __str__(self) -> str:
        return f"Marché {self.number}"


class ContractModification(models.Model):
    """A change to a notified contract (avenant): new duration, amount and/or holder.
    Append-only, numbered 1, 2, … per contract."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="modifications")
    sequence = models.PositiveSmallIntegerField("numéro")
    notified_on = models.DateField("notifiée le")
    data_published_on = models.DateField("données publiées le")
    duration_months = models.PositiveSmallIntegerField(null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    holder = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField("objet de la modification", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "modification du marché"
        ordering = ["contract", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "sequence"], name="modification_seq"),
        ]

    def __str__(self) -> str:
        return f"Modification n° {self.sequence} du marché {self.contract.number}"
