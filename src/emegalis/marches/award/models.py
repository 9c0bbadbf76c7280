"""The award stage's tables: criteria, evaluations, decisions, letters, contracts."""

from django.conf import settings
from django.db import models

from emegalis.marches.consultations.models import Consultation, Lot
from emegalis.marches.deposit.models import Pli
from emegalis.marches.messaging.models import Message
from emegalis.organisations.models import Organisation


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
