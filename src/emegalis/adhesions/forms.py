"""Forms of the adhésions pages. They only parse and check input; services decide."""

from decimal import Decimal

from django import forms

from emegalis.core import clock
from emegalis.core.forms import StyledFormMixin
from emegalis.core.services_catalog import Service
from emegalis.core.validators import SingleLineValidator
from emegalis.organisations.models import PUBLIC_BUYER_KINDS, Organisation, OrganisationKind

from .models import ConventionKind, ConventionStatus
from .services import MAX_YEAR, MIN_YEAR, date_problem


class FrenchDateField(forms.DateField):
    """A date picked in the browser's calendar or typed as « 31/12/2026 »."""

    widget = forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")
    input_formats = ["%Y-%m-%d", "%d/%m/%Y"]
    default_error_messages = {"invalid": "Saisissez une date valide (jj/mm/aaaa)."}

    def validate(self, value):
        super().validate(value)
        problem = date_problem(value)
        if problem:
            raise forms.ValidationError(problem, code="implausible_date")


class YearField(forms.IntegerField):
    """A year the adhésions accept (MIN_YEAR to MAX_YEAR)."""

    widget = forms.NumberInput(attrs={"class": "form-control"})
    default_error_messages = {"invalid": "Saisissez une année (par exemple 2026)."}

    def __init__(self, **kwargs):
        super().__init__(label="Année", min_value=MIN_YEAR, max_value=MAX_YEAR, **kwargs)


def _any(label: str) -> list[tuple[str, str]]:
    return [("", label)]


class MemberFilterForm(StyledFormMixin, forms.Form):
    """GET filters of the operator's member list; invalid values are simply ignored."""

    type = forms.ChoiceField(
        label="Type",
        required=False,
        choices=_any("Tous les types")
        + [
            (value, label)
            for value, label in OrganisationKind.choices
            if value in PUBLIC_BUYER_KINDS
        ],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    epci = forms.ModelChoiceField(
        label="EPCI de rattachement",
        required=False,
        queryset=Organisation.objects.none(),
        empty_label="Tous les EPCI",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    statut = forms.ChoiceField(
        label="Statut de la dernière convention",
        required=False,
        choices=_any("Tous les statuts") + list(ConventionStatus.choices),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    service = forms.ChoiceField(
        label="Service ouvert aujourd'hui",
        required=False,
        choices=_any("Tous les services") + list(Service.choices),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, epcis=None, **kwargs):
        super().__init__(*args, **kwargs)
        if epcis is not None:
            self.fields["epci"].queryset = epcis


class ConventionStatusForm(StyledFormMixin, forms.Form):
    status = forms.ChoiceField(
        label="Nouveau statut",
        choices=ConventionStatus.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    effective_on = FrenchDateField(label="À compter du")
    note = forms.CharField(
        label="Commentaire",
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def __init__(self, *args, allowed: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if allowed is not None:
            self.fields["status"].choices = [
                (value, label) for value, label in ConventionStatus.choices if value in allowed
            ]
        self.fields["effective_on"].initial = clock.today()


class SignedDocumentForm(StyledFormMixin, forms.Form):
    document = forms.FileField(
        label="Convention signée (PDF)",
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".pdf"}),
        error_messages={"required": "Choisissez le fichier PDF de la convention signée."},
    )
    signed_on = FrenchDateField(
        label="Signée le",
        required=False,
    )


class GenerateCallsForm(StyledFormMixin, forms.Form):
    year = YearField()
    issued_on = FrenchDateField(
        label="Date d'émission",
        required=False,
        help_text="Aujourd'hui si vide.",
    )


class MarkPaidForm(StyledFormMixin, forms.Form):
    paid_on = FrenchDateField(label="Payé le")
    payment_reference = forms.CharField(
        label="Référence du paiement",
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control"}),
        help_text="Numéro de mandat ou de virement.",
    )


class YearFilterForm(StyledFormMixin, forms.Form):
    annee = forms.IntegerField(
        label="Année", min_value=MIN_YEAR, max_value=MAX_YEAR, required=False
    )
    impayes = forms.BooleanField(label="Impayés seulement", required=False)


class ServicesField(forms.MultipleChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            label="Services ouverts",
            choices=Service.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            **kwargs,
        )


class ConventionCreateForm(StyledFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label="Type de convention",
        choices=ConventionKind.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    reference = forms.CharField(
        label="Référence",
        max_length=50,
        widget=forms.TextInput(attrs={"class": "form-control"}),
        validators=[SingleLineValidator("La référence")],
    )
    start_date = FrenchDateField(label="Début")
    end_date = FrenchDateField(
        label="Fin",
        required=False,
        help_text="Laisser vide pour une convention sans terme.",
    )
    deliberation_reference = forms.CharField(
        label="Référence de la délibération",
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
        validators=[SingleLineValidator("La référence de la délibération")],
    )
    services = ServicesField()

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "La date de fin précède la date de début.")
        return data


class ConventionServicesForm(StyledFormMixin, forms.Form):
    services = ServicesField()


class FrenchDecimalField(forms.DecimalField):
    """Accepts « 3 000,50 » as well as « 3000.50 »."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace("\u202f", "").replace("\xa0", "").replace(" ", "")
            value = value.replace(",", ".")
        return super().to_python(value)


class ContributionCreateForm(StyledFormMixin, forms.Form):
    year = YearField()
    amount_ht = FrenchDecimalField(
        label="Montant HT (€)",
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "decimal"}),
        error_messages={"invalid": "Saisissez un montant (par exemple 3000 ou 3000,50)."},
    )
    label = forms.CharField(
        label="Objet",
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    beneficiaries = forms.ModelMultipleChoiceField(
        label="Organisations bénéficiaires",
        queryset=Organisation.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Cochez au moins une organisation bénéficiaire."},
    )

    def __init__(self, *args, candidates=None, **kwargs):
        super().__init__(*args, **kwargs)
        if candidates is not None:
            self.fields["beneficiaries"].queryset = candidates
