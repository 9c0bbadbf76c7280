from django import forms

from emegalis.core.forms import StyledFormMixin
from emegalis.marches.award.forms import ContractForm

from .models import Cao, CostKey, Kind, Missions

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class GroupementForm(StyledFormMixin, forms.Form):
    object = forms.CharField(label="Objet", max_length=200)
    kind = forms.ChoiceField(label="Nature", choices=Kind.choices, widget=forms.RadioSelect)
    start_date = forms.DateField(label="Début", widget=DATE)
    end_date = forms.DateField(label="Fin", widget=DATE)
    missions = forms.ChoiceField(
        label="Missions confiées au coordonnateur",
        choices=Missions.choices,
        widget=forms.RadioSelect,
    )
    cao = forms.ChoiceField(
        label="Commission d'appel d'offres", choices=Cao.choices, widget=forms.RadioSelect
    )
    cost_key = forms.ChoiceField(
        label="Clé de répartition des frais de procédure",
        choices=CostKey.choices,
        widget=forms.RadioSelect,
    )
    fixed_part_percent = forms.DecimalField(
        label="Part fixe (%)",
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        help_text="Seulement avec la clé « part fixe et part variable ».",
    )
    joining_rules = forms.CharField(
        label="Adhésion de nouveaux membres",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Laissez vide pour la clause par défaut (avenant signé par tous).",
    )
    withdrawal_rules = forms.CharField(
        label="Retrait d'un membre",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Laissez vide pour la clause par défaut.",
    )


class AddMemberForm(StyledFormMixin, forms.Form):
    organisation = forms.ModelChoiceField(label="Organisation", queryset=None)

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = candidates


class SignForm(StyledFormMixin, forms.Form):
    deliberation_date = forms.DateField(label="Date de la délibération", widget=DATE)
    deliberation_number = forms.CharField(label="Numéro de la délibération", max_length=50)
    acte_reference = forms.CharField(
        label="Référence de l'acte transmis au contrôle de légalité",
        max_length=100,
        required=False,
        help_text=(
            "Identifiant unique ou numéro de l'acte transmis par la plateforme, s'il y a lieu."
        ),
    )


class DissolveForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label="Motif de la dissolution", max_length=500)


class SurveyForm(StyledFormMixin, forms.Form):
    title = forms.CharField(label="Intitulé", max_length=200)
    deadline = forms.DateTimeField(
        label="Date limite de saisie",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    items_text = forms.CharField(
        label="Articles à recenser",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=(
            "Un article par ligne : n° de lot ; intitulé du lot ; désignation ; unité ; "
            "prix unitaire estimé HT [; minimum ; maximum]. "
            "Exemple : 1 ; Papier ; Ramette A4 80 g ; ramette ; 3,20"
        ),
    )


class NeedsUploadForm(StyledFormMixin, forms.Form):
    sheet = forms.FileField(label="Feuille de besoins remplie (.xlsx)")


class ConsultationForm(StyledFormMixin, forms.Form):
    """What the salle des marchés needs beyond the survey: the rest comes from the needs."""

    reference = forms.CharField(label="Référence de la consultation", max_length=50)
    title = forms.CharField(label="Intitulé", max_length=255)
    object = forms.CharField(label="Objet", widget=forms.Textarea(attrs={"rows": 3}))
    procedure = forms.ChoiceField(label="Procédure", choices=())
    nature = forms.ChoiceField(label="Nature", choices=())
    cpv_main = forms.CharField(label="Code CPV principal", max_length=10)
    questions_deadline = forms.DateTimeField(
        label="Date limite des questions",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    bids_deadline = forms.DateTimeField(
        label="Date limite de remise des plis",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, **kwargs):
        from emegalis.marches.consultations.models import Nature, Procedure

        super().__init__(*args, **kwargs)
        self.fields["procedure"].choices = Procedure.choices
        self.fields["nature"].choices = Nature.choices


class AllocationForm(StyledFormMixin, forms.Form):
    """One awarded unit price per item of the lot (the holder's bordereau)."""

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        for item in items:
            self.fields[f"p-{item.pk}"] = forms.CharField(
                label=f"{item.designation} ({item.unit}) — prix unitaire attribué HT",
                max_length=20,
            )

    def prices(self) -> dict:
        return {int(name[2:]): value for name, value in self.cleaned_data.items()}


class CostForm(StyledFormMixin, forms.Form):
    label = forms.CharField(label="Objet des frais", max_length=200)
    amount_ht = forms.CharField(label="Montant HT (€)", max_length=20)
    year = forms.IntegerField(label="Exercice", min_value=2000, max_value=2100)


class MemberContractForm(ContractForm):
    """A member's own marché at its signature: the salle des marchés' notification questions,
    the number proposed from the groupement's survey and lot."""

    @classmethod
    def for_contract(cls, contract, *, number: str, data=None):
        form = cls.with_defaults(contract.allocation.decision, data)
        form.initial["number"] = number
        return form
