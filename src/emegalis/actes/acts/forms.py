"""Forms of the contrôle de légalité. Format checks only: the rules (numbering, dates,
classification, typologies, files) are the service's, whose errors land on these fields."""

from django import forms

from emegalis.actes import protocol as p
from emegalis.core.forms import StyledFormMixin

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


ANNEX_SLOTS = 5


SERVICE_FIELD_MAP = {
    "matieres": "classification",
    "annexes": "annexe_1",
    "type_pj": "annexe_1",
    "signature": "signature",
}


def classification_choices(classification: p.Classification | None):
    if classification is None:
        return [("", "— aucune classification reçue —")]
    choices = [("", "— choisir —")]
    for path, matiere in classification.iter_matieres():
        if len(path) >= 2:
            code = ".".join(str(c) for c in path)
            choices.append((code, f"{code} — {matiere.libelle}"))
    return choices


def typology_choices(classification: p.Classification | None):
    choices = [("", "— choisir —")]
    if classification is None:
        return choices
    for nature in classification.natures:
        group = [(f"{t.code}", f"{t.code} — {t.libelle}") for t in nature.typologies]
        choices.append((f"{nature.libelle} ({nature.type_abrege})", group))
    choices.append(("Toutes natures", [("99_SE", "99_SE — Fichier de signature électronique")]))
    return choices


class ActeForm(StyledFormMixin, forms.Form):
    nature = forms.TypedChoiceField(
        label="Nature de l'acte",
        coerce=int,
        choices=[("", "— choisir —")] + [(n.code, n.label) for n in p.NATURES.values()],
    )
    numero_interne = forms.CharField(
        label="Numéro de l'acte",
        max_length=50,
        help_text="Lettres majuscules sans accent, chiffres et _ ; 15 caractères au plus "
        "(ex. DEL2026_015).",
    )
    decision_date = forms.DateField(
        label="Date de la décision", widget=DATE_WIDGET, input_formats=DATE_FORMATS
    )
    objet = forms.CharField(
        label="Objet",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
        help_text="500 caractères au plus.",
    )
    classification = forms.ChoiceField(
        label="Classification (matière)",
        help_text="Niveaux 1 et 2 obligatoires, selon la classification de votre préfecture.",
    )
    document = forms.FileField(label="Document principal (PDF)")
    type_acte = forms.ChoiceField(label="Typologie du document principal")
    signature = forms.FileField(
        label="Signature électronique du document principal (XML, facultatif)", required=False
    )

    def __init__(self, *args, classification: p.Classification | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["classification"].choices = classification_choices(classification)
        typologies = typology_choices(classification)
        self.fields["type_acte"].choices = typologies
        for i in range(1, ANNEX_SLOTS + 1):
            self.fields[f"annexe_{i}"] = forms.FileField(label=f"Annexe {i}", required=False)
            self.fields[f"type_pj_{i}"] = forms.ChoiceField(
                label=f"Typologie de l'annexe {i}", required=False, choices=typologies
            )
        for name in self.fields:
            widget = self.fields[name].widget
            if "class" not in widget.attrs:
                widget.attrs["class"] = (
                    "form-select" if isinstance(widget, forms.Select) else "form-control"
                )

    # Format checks repeated here so that every error shows at once; the service decides.
    def clean_numero_interne(self):
        value = self.cleaned_data["numero_interne"].strip()
        try:
            p.check_numero_interne(value)
        except p.NamingError as exc:
            raise forms.ValidationError(exc.message) from None
        return value

    def clean_decision_date(self):
        from emegalis.actes.acts.services import decision_date_problem

        value = self.cleaned_data["decision_date"]
        problem = decision_date_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean(self):
        data = super().clean()
        for i in range(1, ANNEX_SLOTS + 1):
            if data.get(f"annexe_{i}") and not data.get(f"type_pj_{i}"):
                self.add_error(f"type_pj_{i}", "Choisissez la typologie de cette annexe.")
        return data

    def matieres(self) -> list[int]:
        value = self.cleaned_data.get("classification") or ""
        return [int(c) for c in value.split(".") if c.isdigit()]

    def annex_fields(self):
        return [(self[f"annexe_{i}"], self[f"type_pj_{i}"]) for i in range(1, ANNEX_SLOTS + 1)]

    def main_fields(self):
        return [
            self[n]
            for n in (
                "nature",
                "numero_interne",
                "decision_date",
                "objet",
                "classification",
                "document",
                "type_acte",
                "signature",
            )
        ]


class ReplyForm(StyledFormMixin, forms.Form):
    send = forms.TypedChoiceField(
        label="Réponse",
        coerce=int,
        choices=[(4, "Envoyer les pièces / répondre"), (3, "Refuser / rejeter")],
        widget=forms.RadioSelect,
        initial=4,
    )
    document = forms.FileField(label="Document (PDF, XML, JPG ou PNG)")


class PublishForm(StyledFormMixin, forms.Form):
    published_on = forms.DateField(
        label="Date de publication", widget=DATE_WIDGET, input_formats=DATE_FORMATS
    )
