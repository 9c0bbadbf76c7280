from decimal import Decimal

from django.conf import settings
from django.db import models

from emegalis.core.services_catalog import Service
from emegalis.organisations.models import Organisation

VAT_RATE = Decimal("0.20")


class ConventionKind(models.TextChoices):
    ACCES = "acces", "Convention d'accès"
    CHARTE = "charte", "Charte d'utilisation"
    AUTRES = "autres", "Convention autres établissements"


class ConventionStatus(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    EN_COURS = "en_cours", "En cours d'adhésion"
    ADHERENT = "adherent", "Adhérent"
    RESILIE = "resilie", "Résilié"
    REFUS = "refus", "Refus d'adhérer"


class Convention(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="conventions"
    )
    kind = models.CharField("type de convention", max_length=10, choices=ConventionKind.choices)
    reference = models.CharField("référence", max_length=50, unique=True)
    start_date = models.DateField("début")
    end_date = models.DateField("fin", null=True, blank=True)
    deliberation_reference = models.CharField(
        "référence de la délibération", max_length=100, blank=True, default=""
    )
    signed_on = models.DateField("signée le", null=True, blank=True)
    signed_document = models.FileField(
        "document signé", upload_to="adhesions/conventions/%Y/", blank=True
    )
    # Denormalised from the latest status change, for listing and filtering.
    current_status = models.CharField(
        "statut actuel",
        max_length=10,
        choices=ConventionStatus.choices,
        default=ConventionStatus.PROSPECT,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "convention"
        ordering = ["-start_date", "reference"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="convention_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference} — {self.organisation}"

    @property
    def services(self) -> list[str]:
        return [s.service for s in self.enabled_services.all()]


class ConventionService(models.Model):
    convention = models.ForeignKey(
        Convention, on_delete=models.CASCADE, related_name="enabled_services"
    )
    service = models.CharField("service", max_length=20, choices=Service.choices)

    class Meta:
        verbose_name = "service ouvert"
        constraints = [
            models.UniqueConstraint(
                fields=["convention", "service"], name="convention_service_unique"
            )
        ]

    def __str__(self) -> str:
        return self.get_service_display()


class ConventionStatusChange(models.Model):
    convention = models.ForeignKey(
        Convention, on_delete=models.CASCADE, related_name="status_changes"
    )
    status = models.CharField("statut", max_length=10, choices=ConventionStatus.choices)
    effective_on = models.DateField("à compter du")
    note = models.CharField("commentaire", max_length=255, blank=True, default="")
    recorded_at = models.DateTimeField("enregistré le", auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = "changement de statut"
        ordering = ["effective_on", "id"]

    def __str__(self) -> str:
        return f"{self.get_status_display()} au {self.effective_on:%d/%m/%Y}"


class Contribution(models.Model):
    """A yearly amount paid by one organisation for itself and/or others."""

    payer = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="contributions_paid"
    )
    year = models.PositiveSmallIntegerField("année")
    amount_ht = models.DecimalField("montant HT (€)", max_digits=12, decimal_places=2)
    label = models.CharField("objet", max_length=255, blank=True, default="")
    beneficiaries = models.ManyToManyField(
        Organisation, related_name="contributions_received", verbose_name="bénéficiaires"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "contribution"
        ordering = ["-year", "payer__name"]
        constraints = [
            models.UniqueConstraint(fields=["payer", "year"], name="contribution_one_per_year"),
            models.CheckConstraint(
                condition=models.Q(amount_ht__gt=0), name="contribution_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Contribution {self.year} — {self.payer}"


class ContributionCall(models.Model):
    """An appel de contribution: a numbered PDF asking the payer for one year's amount."""

    contribution = models.OneToOneField(Contribution, on_delete=models.PROTECT, related_name="call")
    number = models.CharField("numéro", max_length=30, unique=True)
    issued_on = models.DateField("émis le")
    amount_ht = models.DecimalField("montant HT (€)", max_digits=12, decimal_places=2)
    vat_amount = models.DecimalField("TVA (€)", max_digits=12, decimal_places=2)
    amount_ttc = models.DecimalField("montant TTC (€)", max_digits=12, decimal_places=2)
    pdf = models.FileField("PDF", upload_to="adhesions/appels/%Y/")
    paid_on = models.DateField("payé le", null=True, blank=True)
    payment_reference = models.CharField(
        "référence du paiement", max_length=100, blank=True, default=""
    )

    class Meta:
        verbose_name = "appel de contribution"
        verbose_name_plural = "appels de contribution"
        ordering = ["-issued_on", "number"]

    def __str__(self) -> str:
        return self.number

    @property
    def is_paid(self) -> bool:
        return self.paid_on is not None


class Charge(models.Model):
    """An amount charged to a member beside its yearly contribution, by another service of
    the platform (e.g. its share of a groupement's procedure costs), HT / TVA / TTC."""

    payer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="charges")
    year = models.PositiveSmallIntegerField("année")
    label = models.CharField("objet", max_length=255)
    amount_ht = models.DecimalField("montant HT (€)", max_digits=12, decimal_places=2)
    vat_amount = models.DecimalField("TVA (€)", max_digits=12, decimal_places=2)
    amount_ttc = models.DecimalField("montant TTC (€)", max_digits=12, decimal_places=2)
    source = models.CharField("origine", max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "frais refacturés"
        verbose_name_plural = "frais refacturés"
        ordering = ["-year", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["payer", "source"], name="charge_once_per_source"),
            models.CheckConstraint(
                condition=models.Q(amount_ht__gte=0), name="charge_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} — {self.payer}"
