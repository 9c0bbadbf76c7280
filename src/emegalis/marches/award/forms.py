"""Forms of the award pages: criteria, analysis of one offer, decision, notification."""

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from emegalis.core.forms import StyledFormMixin
from emegalis.marches.award.models import CriterionKind, DecisionOutcome
from emegalis.marches.award.services import EXCLUSION_KINDS, CriterionInput
from emegalis.marches.opendata import decp_vocabulary

CRITERIA_ROWS = 6


def _choices(values) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


class CriterionForm(StyledFormMixin, forms.Form):
    kind = forms.ChoiceField(label="Type", choices=CriterionKind.choices, required=False)
    label = forms.CharField(label="Critère", max_length=200, required=False)
    weight = forms.IntegerField(label="Pondération (%)", min_value=1, max_value=100, required=False)

    def clean(self):
        data = super().clean()
        if data.get("label") and not data.get("weight"):
            self.add_error("weight", "Indiquez la pondération de ce critère.")
        if data.get("weight") and not data.get("label"):
            self.add_error("label", "Indiquez l'intitulé de ce critère.")
        if data.get("label") and not data.get("kind"):
            self.add_error("kind", "Choisissez le type de ce critère.")
        return data

    def criterion(self) -> CriterionInput | None:
        data = self.cleaned_data
        if not data.get("label"):
            return None
        return CriterionInput(kind=data["kind"], label=data["label"], weight=data["weight"])


CriteriaFormSet = forms.formset_factory(CriterionForm, extra=0, max_num=CRITERIA_ROWS)


def criteria_formset(data=None, criteria=()) -> forms.BaseFormSet:
    """Existing criteria, then empty rows up to CRITERIA_ROWS."""
    initial = [{"kind": c.kind, "label": c.label, "weight": c.weight} for c in criteria]
    initial += [{"kind": CriterionKind.TECHNIQUE}] * (CRITERIA_ROWS - len(initial))
    return CriteriaFormSet(data, initial=None if data is not None else initial, prefix="crit")


class EvaluationForm(StyledFormMixin, forms.Form):
    """The analysis of one offer: price, a mark per non-price criterion, or its exclusion."""

    price = forms.DecimalField(
        label="Montant de l'offre (€ HT)",
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        localize=True,
    )
    excluded = forms.BooleanField(label="Écarter l'offre", required=False)
    exclusion_kind = forms.ChoiceField(
        label="Motif d'éviction",
        choices=[("", "—"), *EXCLUSION_KINDS.items()],
        required=False,
    )
    exclusion_text = forms.CharField(
        label="Motivation de l'éviction", required=False, max_length=1500
    )
    comment = forms.CharField(
        label="Appréciation",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, criteria=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.all_criteria = list(criteria)
        self.criteria = [c for c in self.all_criteria if c.kind != CriterionKind.PRIX]
        for criterion in self.criteria:
            self.fields[f"mark_{criterion.pk}"] = forms.DecimalField(
                label=f"{criterion.label} (/20)",
                max_digits=6,
                decimal_places=3,
                required=False,
                localize=True,
                validators=[MinValueValidator(0), MaxValueValidator(20)],
                widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control"}),
            )
        self.fields["price"].widget.attrs["inputmode"] = "decimal"

    @classmethod
    def for_evaluation(cls, evaluation, *, criteria, prefix, data=None):
        initial = {}
        if evaluation is not None:
            initial = {
                "price": evaluation.price,
                "excluded": evaluation.excluded,
                "comment": evaluation.comment,
            }
            kind, _, text = evaluation.exclusion_reason.partition(" : ")
            for key, label in EXCLUSION_KINDS.items():
                if label == kind:
                    initial["exclusion_kind"], initial["exclusion_text"] = key, text
            for criterion in criteria:
                value = evaluation.scores.get(str(criterion.pk))
                if value is not None and criterion.kind != CriterionKind.PRIX:
                    initial[f"mark_{criterion.pk}"] = Decimal(value).normalize()
        return cls(data, criteria=criteria, prefix=prefix, initial=initial)

    def marks(self) -> dict[int, Decimal | None]:
        return {c.pk: self.cleaned_data.get(f"mark_{c.pk}") for c in self.criteria}

    def mark_cells(self):
        """(criterion, its mark field, or None for the price criterion marked by formula)."""
        return [
            (c, None if c.kind == CriterionKind.PRIX else self[f"mark_{c.pk}"])
            for c in self.all_criteria
        ]


class DecisionForm(StyledFormMixin, forms.Form):
    outcome = forms.ChoiceField(
        label="Décision",
        choices=[
            (DecisionOutcome.ATTRIBUE, "Attribuer le lot à l'offre classée première"),
            (DecisionOutcome.INFRUCTUEUX, "Déclarer le lot infructueux"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Motivation",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Reprise dans les lettres envoyées aux entreprises.",
    )


class ContractForm(StyledFormMixin, forms.Form):
    """The contract's data at notification (DECP v2 vocabularies)."""

    number = forms.CharField(
        label="Numéro du marché",
        max_length=16,
        help_text="16 caractères au plus : lettres, chiffres, « - », « _ », « / », « . ».",
    )
    duration_months = forms.IntegerField(label="Durée (mois)", min_value=1, max_value=1200)
    forme_prix = forms.ChoiceField(
        label="Forme du prix", choices=_choices(decp_vocabulary.FORMES_PRIX)
    )
    types_prix = forms.MultipleChoiceField(
        label="Types de prix",
        choices=_choices(decp_vocabulary.TYPES_PRIX),
        widget=forms.CheckboxSelectMultiple,
    )
    ccag = forms.ChoiceField(label="CCAG de référence", choices=_choices(decp_vocabulary.CCAG))
    techniques = forms.MultipleChoiceField(
        label="Techniques d'achat",
        choices=_choices(decp_vocabulary.TECHNIQUES),
        widget=forms.CheckboxSelectMultiple,
    )
    modalites_execution = forms.MultipleChoiceField(
        label="Modalités d'exécution",
        choices=_choices(decp_vocabulary.MODALITES_EXECUTION),
        widget=forms.CheckboxSelectMultiple,
    )
    considerations_sociales = forms.MultipleChoiceField(
        label="Considérations sociales",
        choices=_choices(decp_vocabulary.CONSIDERATIONS_SOCIALES),
        widget=forms.CheckboxSelectMultiple,
    )
    considerations_environnementales = forms.MultipleChoiceField(
        label="Considérations environnementales",
        choices=_choices(decp_vocabulary.CONSIDERATIONS_ENVIRONNEMENTALES),
        widget=forms.CheckboxSelectMultiple,
    )
    marche_innovant = forms.BooleanField(label="Marché innovant", required=False)
    attribution_avance = forms.BooleanField(label="Une avance est prévue", required=False)
    taux_avance = forms.DecimalField(
        label="Taux de l'avance",
        required=False,
        min_value=0,
        max_value=1,
        max_digits=4,
        decimal_places=3,
        localize=True,
        help_text="Entre 0 et 1 : 0,05 pour 5 %.",
    )
    sous_traitance_declaree = forms.BooleanField(label="Sous-traitance déclarée", required=False)
    type_groupement = forms.ChoiceField(
        label="Groupement d'opérateurs", choices=_choices(decp_vocabulary.TYPES_GROUPEMENT)
    )

    @classmethod
    def with_defaults(cls, decision, data=None):
        from .services import default_contract_number

        consultation = decision.consultation
        initial = {
            "number": default_contract_number(decision),
            "duration_months": 12,
            "forme_prix": "Forfaitaire",
            "types_prix": ["Définitif ferme"],
            "ccag": decp_vocabulary.DEFAULT_CCAG.get(consultation.nature, "Pas de CCAG"),
            "techniques": ["Sans objet"],
            "modalites_execution": ["Sans objet"],
            "considerations_sociales": ["Pas de considération sociale"],
            "considerations_environnementales": ["Pas de considération environnementale"],
            "type_groupement": "Pas de groupement",
        }
        return cls(data, initial=initial)
