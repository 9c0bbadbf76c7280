"""A groupement de commandes, its convention constitutive and its needs survey.

The rules are in docs/groupements.md."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from emegalis.organisations.models import Organisation


class Kind(models.TextChoices):
    PONCTUEL = "ponctuel", "Ponctuel (une procédure)"
    PERMANENT = "permanent", "Permanent (plusieurs procédures sur sa durée)"


class Missions(models.TextChoices):
    PROCEDURE = "procedure", "Procédure seule (chaque membre signe et notifie son marché)"
    SIGNATURE = "signature", "Procédure, signature et notification pour tous"
    EXECUTION = "execution", "Procédure, signature, notification et exécution pour tous"


class Cao(models.TextChoices):
    GROUPEMENT = "groupement", "CAO du groupement (art. L1414-3 I du CGCT)"
    COORDINATEUR = "coordinateur", "CAO du coordonnateur (art. L1414-3 II du CGCT)"


class CostKey(models.TextChoices):
    EGAL = "egal", "Parts égales"
    BESOINS = "besoins", "Au prorata du montant estimé des besoins"
    POPULATION = "population", "Au prorata de la population"
    FIXE_VARIABLE = "fixe_variable", "Part fixe égale et part variable selon les besoins"


class State(models.TextChoices):
    BROUILLON = "brouillon", "Brouillon"
    EN_SIGNATURE = "en_signature", "Convention en signature"
    CONSTITUE = "constitue", "Constitué"
    DISSOUS = "dissous", "Dissous"


class Groupement(models.Model):
    object = models.CharField("objet", max_length=200)
    kind = models.CharField("nature", max_length=10, choices=Kind.choices)
    start_date = models.DateField("début")
    end_date = models.DateField("fin")
    coordinator = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="coordinated_groupements"
    )
    missions = models.CharField(
        "missions confiées au coordonnateur", max_length=10, choices=Missions.choices
    )
    cao = models.CharField("commission d'appel d'offres", max_length=12, choices=Cao.choices)
    cost_key = models.CharField(
        "clé de répartition des frais", max_length=14, choices=CostKey.choices
    )
    fixed_part_percent = models.DecimalField(
        "part fixe (%)", max_digits=5, decimal_places=2, default=Decimal("0")
    )
    joining_rules = models.TextField("adhésion de nouveaux membres", blank=True, default="")
    withdrawal_rules = models.TextField("retrait d'un membre", blank=True, default="")
    state = models.CharField(max_length=12, choices=State.choices, default=State.BROUILLON)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "groupement de commandes"
        verbose_name_plural = "groupements de commandes"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="groupement_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.object


class Member(models.Model):
    groupement = models.ForeignKey(Groupement, on_delete=models.CASCADE, related_name="members")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="groupement_memberships"
    )
    joined_on = models.DateField("membre depuis")
    withdrawn_on = models.DateField("retiré le", null=True, blank=True)

    class Meta:
        verbose_name = "membre"
        ordering = ["organisation__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["groupement", "organisation"], name="groupement_member_once"
            )
        ]

    def __str__(self) -> str:
        return str(self.organisation)


class ConventionVersion(models.Model):
    """The convention constitutive as generated from the record; a change of the record
    before every member has signed makes a new version, and voids the signatures given."""

    groupement = models.ForeignKey(
        Groupement, on_delete=models.CASCADE, related_name="convention_versions"
    )
    number = models.PositiveIntegerField("version")
    reason = models.CharField("motif", max_length=200)
    pdf = models.BinaryField("PDF")
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "version de la convention constitutive"
        ordering = ["groupement", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["groupement", "number"], name="groupement_convention_version_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.groupement} — version {self.number}"


class Signature(models.Model):
    """One member's approval of one version: its deliberation, then its référent's signature."""

    version = models.ForeignKey(
        ConventionVersion, on_delete=models.CASCADE, related_name="signatures"
    )
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="signatures")
    deliberation_date = models.DateField("date de la délibération")
    deliberation_number = models.CharField("numéro de la délibération", max_length=50)
    acte_reference = models.CharField(
        "acte transmis au contrôle de légalité", max_length=100, blank=True, default=""
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField()

    class Meta:
        verbose_name = "signature de la convention"
        ordering = ["version", "member__organisation__name"]
        constraints = [
            models.UniqueConstraint(fields=["version", "member"], name="groupement_sign_once")
        ]

    def __str__(self) -> str:
        return f"{self.member} — version {self.version.number}"


class SurveyState(models.TextChoices):
    PREPARATION = "preparation", "En préparation"
    OUVERT = "ouvert", "Ouvert à la saisie"
    CLOS = "clos", "Clos"


class Survey(models.Model):
    """A recensement des besoins: lots, items, and each member's quantities."""

    groupement = models.ForeignKey(Groupement, on_delete=models.CASCADE, related_name="surveys")
    title = models.CharField("intitulé", max_length=200)
    deadline = models.DateTimeField("date limite de saisie")
    state = models.CharField(
        max_length=12, choices=SurveyState.choices, default=SurveyState.PREPARATION
    )
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    snapshot_sha256 = models.CharField(max_length=64, blank=True, default="")
    reminded_at = models.DateTimeField(null=True, blank=True)
    # The members when the survey opened: a member that joins later takes no part in it.
    participants = models.ManyToManyField(Member, related_name="surveys", blank=True)
    # The one consultation run for all from this survey (salle des marchés).
    consultation = models.OneToOneField(
        "marches.Consultation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = "recensement des besoins"
        verbose_name_plural = "recensements des besoins"
        ordering = ["-deadline", "-id"]

    def __str__(self) -> str:
        return self.title


class Lot(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="lots")
    number = models.PositiveIntegerField("numéro")
    title = models.CharField("intitulé", max_length=200)

    class Meta:
        ordering = ["survey", "number"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "number"], name="groupement_lot_once")
        ]

    def __str__(self) -> str:
        return f"Lot {self.number} — {self.title}"


class Item(models.Model):
    lot = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    designation = models.CharField("désignation", max_length=200)
    unit = models.CharField("unité", max_length=30)
    unit_price = models.DecimalField("prix unitaire estimé HT", max_digits=12, decimal_places=2)
    minimum = models.DecimalField("minimum", max_digits=12, decimal_places=3, null=True, blank=True)
    maximum = models.DecimalField("maximum", max_digits=12, decimal_places=3, null=True, blank=True)

    class Meta:
        ordering = ["lot", "position"]

    def __str__(self) -> str:
        return self.designation


class Need(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="needs")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="needs")
    quantity = models.DecimalField("quantité", max_digits=12, decimal_places=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "member"], name="groupement_need_once"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="groupement_need_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} — {self.item} : {self.quantity}"


class LotAllocation(models.Model):
    """An awarded lot shared out: the holder's unit prices (its bordereau), checked to add up
    with every member's quantities to the awarded amount."""

    lot = models.OneToOneField(Lot, on_delete=models.PROTECT, related_name="allocation")
    decision = models.ForeignKey(
        "marches.AwardDecision", on_delete=models.PROTECT, related_name="+"
    )
    awarded_amount = models.DecimalField(max_digits=14, decimal_places=2)
    allocated_at = models.DateTimeField()
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Répartition — {self.lot}"


class AwardedPrice(models.Model):
    allocation = models.ForeignKey(LotAllocation, on_delete=models.CASCADE, related_name="prices")
    item = models.OneToOneField(Item, on_delete=models.PROTECT, related_name="awarded_price")
    unit_price = models.DecimalField("prix unitaire attribué HT", max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.item} : {self.unit_price} €"


class ProcedureCost(models.Model):
    """A cost of the procedure (publication, assistance) shared out between the members by the
    convention's key; each member's part becomes a charge in the adhésions service."""

    groupement = models.ForeignKey(Groupement, on_delete=models.PROTECT, related_name="costs")
    label = models.CharField("objet", max_length=200)
    amount_ht = models.DecimalField("montant HT (€)", max_digits=12, decimal_places=2)
    year = models.PositiveSmallIntegerField("exercice")
    shares = models.JSONField("répartition (membre → montant HT)", default=dict)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    entered_at = models.DateTimeField()

    class Meta:
        ordering = ["-entered_at", "-id"]

    def __str__(self) -> str:
        return f"{self.label} — {self.amount_ht} €"


class MemberContract(models.Model):
    """A member's own marché for an allocated lot, when the convention leaves the signature
    and the notification to each member (« procédure seule »): its share of the lot, signed
    by the member's référent, then notified to the holder through the secure messaging of
    the consultation. Its DECP fields are those of the salle des marchés' notification."""

    allocation = models.ForeignKey(
        LotAllocation, on_delete=models.PROTECT, related_name="member_contracts"
    )
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="contracts")
    amount = models.DecimalField("montant (€ HT)", max_digits=14, decimal_places=2)
    number = models.CharField("numéro du marché", max_length=16, blank=True)
    decp = models.JSONField("caractéristiques (données essentielles)", default=dict)
    signed_at = models.DateTimeField("signé le", null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    notified_on = models.DateField("notifié le", null=True, blank=True)
    notified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    letter = models.BinaryField("lettre de notification (PDF)", null=True)
    letter_sha256 = models.CharField(max_length=64, blank=True)
    message = models.ForeignKey(
        "marches.Message", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "marché d'un membre"
        verbose_name_plural = "marchés des membres"
        ordering = ["allocation", "member__organisation__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "member"], name="groupement_member_contract_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member} — {self.allocation.lot} : {self.amount} €"

    @property
    def state_label(self) -> str:
        if self.notified_on:
            return "Notifié"
        if self.signed_at:
            return "Signé, à notifier"
        return "À signer"
