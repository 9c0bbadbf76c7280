from django import forms
from django.urls import reverse

from emegalis.core.forms import StyledFormMixin
from emegalis.core.validators import SingleLineValidator
from emegalis.marches.consultations import cpv
from emegalis.marches.consultations.models import Nature, Procedure, State
from emegalis.marches.consultations.selectors import SORT_LABELS, SearchParams
from emegalis.organisations.validators import validate_departement

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]


DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


# Search dates: every consultation's deadline lies in these years (deadlines at most 2 years
# ahead, the test consultation's in 2099); beyond them a date has no Paris datetime (year 1,
# 9999) and would only be a typing mistake.
SEARCH_YEARS = (2000, 2100)


class CpvInput(forms.TextInput):
    """A code input with suggestions as you type (static/js/cpv-picker.js, /marches/cpv/)."""

    template_name = "marches/widgets/cpv_input.html"

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget_id = context["widget"]["attrs"].get("id", name)
        context["widget"]["attrs"]["list"] = f"{widget_id}_cpvlist"
        context["widget"]["attrs"]["data-cpv-picker"] = reverse("marches_cpv_search")
        context["cpv_label"] = cpv.label(cpv.normalise(value or "")) if value else ""
        return context


class DistinctIdsMixin:
    """Forms shown together on one page get distinct HTML ids (auto_id_prefix)."""

    auto_id_prefix = "id"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.auto_id_prefix}_%s")
        super().__init__(*args, **kwargs)


class ConsultationForm(StyledFormMixin, forms.Form):
    reference = forms.CharField(
        label="Référence",
        max_length=50,
        help_text="Votre numéro interne, par exemple 2026-015.",
        validators=[SingleLineValidator("La référence")],
    )
    title = forms.CharField(label="Intitulé", max_length=255)
    object = forms.CharField(label="Objet", widget=forms.Textarea(attrs={"rows": 4}))
    procedure = forms.ChoiceField(label="Procédure", choices=Procedure.choices)
    nature = forms.ChoiceField(label="Nature du marché", choices=Nature.choices)
    cpv_main = forms.CharField(
        label="Code CPV principal",
        max_length=200,
        help_text="Tapez un code ou des mots (« voirie », « nettoyage ») et choisissez dans la "
        "liste : 8 chiffres, un tiret et la clé, par exemple 45000000-7.",
        validators=[cpv.validate_cpv],
        widget=CpvInput(),
    )
    cpv_extra = forms.CharField(
        label="Codes CPV complémentaires",
        required=False,
        help_text="Séparés par des virgules ou des espaces.",
    )
    place_of_execution = forms.CharField(label="Lieu d'exécution", max_length=255, required=False)
    departement = forms.CharField(
        label="Département d'exécution",
        max_length=3,
        required=False,
        validators=[validate_departement],
        help_text="Code sur 3 caractères, par exemple 056.",
    )
    estimated_value = forms.DecimalField(
        label="Valeur estimée (€ HT)", required=False, min_value=0, max_digits=14, decimal_places=2
    )
    electronic_submission = forms.BooleanField(
        label="Remise des plis par voie électronique", required=False, initial=True
    )
    prior_information = forms.BooleanField(label="Avis de préinformation publié", required=False)
    urgency = forms.BooleanField(label="Urgence dûment justifiée", required=False)
    variants_allowed = forms.BooleanField(label="Variantes autorisées", required=False)
    signature_required = forms.BooleanField(
        label="Signature électronique de l'offre exigée", required=False
    )
    questions_deadline = forms.DateTimeField(
        label="Date limite des questions (heure de Paris)",
        widget=DATETIME_WIDGET,
        input_formats=DATETIME_FORMATS,
    )
    bids_deadline = forms.DateTimeField(
        label="Date limite de remise des plis (heure de Paris)",
        widget=DATETIME_WIDGET,
        input_formats=DATETIME_FORMATS,
    )
    contact_name = forms.CharField(label="Contact", max_length=150, required=False)
    contact_email = forms.EmailField(label="Adresse électronique du contact", required=False)
    contact_phone = forms.CharField(label="Téléphone du contact", max_length=30, required=False)

    def clean_cpv_extra(self):
        value = self.cleaned_data["cpv_extra"]
        codes = [c for c in value.replace(";", ",").replace(",", " ").split() if c]
        errors = []
        for code in codes:
            try:
                cpv.validate_cpv(code)
            except forms.ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise forms.ValidationError(errors)
        return codes

    def service_fields(self) -> dict:
        return dict(self.cleaned_data)

    @classmethod
    def initial_from(cls, consultation) -> dict:
        data = {name: getattr(consultation, name) for name in cls.base_fields}
        data["cpv_extra"] = ", ".join(consultation.cpv_extra)
        return data


class LotForm(DistinctIdsMixin, StyledFormMixin, forms.Form):
    auto_id_prefix = "lot"

    number = forms.IntegerField(label="Numéro", min_value=1, max_value=999)
    title = forms.CharField(label="Intitulé du lot", max_length=255)
    cpv = forms.CharField(
        label="Code CPV",
        max_length=200,
        required=False,
        validators=[cpv.validate_cpv],
        widget=CpvInput(),
    )
    estimated_value = forms.DecimalField(
        label="Valeur estimée (€ HT)", required=False, min_value=0, max_digits=14, decimal_places=2
    )


class DceUploadForm(DistinctIdsMixin, StyledFormMixin, forms.Form):
    auto_id_prefix = "dce"

    folder = forms.CharField(
        label="Dossier",
        max_length=200,
        required=False,
        help_text="Facultatif, par exemple « Pièces techniques/Plans ».",
    )
    file = forms.FileField(label="Fichier")


class RectificatifForm(DistinctIdsMixin, StyledFormMixin, forms.Form):
    auto_id_prefix = "rectif"

    reason = forms.CharField(
        label="Motif du rectificatif", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    questions_deadline = forms.DateTimeField(
        label="Nouvelle date limite des questions (facultatif)",
        required=False,
        widget=DATETIME_WIDGET,
        input_formats=DATETIME_FORMATS,
    )
    bids_deadline = forms.DateTimeField(
        label="Nouvelle date limite de remise des plis (facultatif)",
        required=False,
        widget=DATETIME_WIDGET,
        input_formats=DATETIME_FORMATS,
    )


class StateForm(DistinctIdsMixin, StyledFormMixin, forms.Form):
    auto_id_prefix = "etat"

    to = forms.ChoiceField(
        label="Nouvel état",
        choices=[
            (State.CLOTUREE, "Clôturer (date limite passée)"),
            # « Attribuée » follows the award decisions of every lot (attribution.py).
            (State.INFRUCTUEUSE, "Infructueuse"),
            (State.ANNULEE, "Annulée"),
        ],
    )
    reason = forms.CharField(label="Motif", max_length=500, required=False)


class QuestionForm(DistinctIdsMixin, StyledFormMixin, forms.Form):
    auto_id_prefix = "question"

    text = forms.CharField(
        label="Votre question", widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
    )


class AnswerForm(StyledFormMixin, forms.Form):
    answer = forms.CharField(
        label="Réponse (publiée sans l'identité de l'entreprise)",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=10000,
    )


class SearchForm(StyledFormMixin, forms.Form):
    q = forms.CharField(
        label="Mots-clés", required=False, max_length=200, help_text="Intitulé, objet, acheteur."
    )
    cpv = forms.CharField(
        label="Code CPV",
        required=False,
        max_length=200,
        help_text="Tapez un code ou des mots et choisissez dans la liste : 45000000-7 trouve "
        "tous les travaux.",
        validators=[cpv.validate_cpv],
        widget=CpvInput(),
    )
    procedure = forms.ChoiceField(
        label="Procédure", required=False, choices=[("", "Toutes")] + Procedure.choices
    )
    nature = forms.ChoiceField(
        label="Nature", required=False, choices=[("", "Toutes")] + Nature.choices
    )
    departement = forms.CharField(
        label="Département",
        required=False,
        max_length=3,
        validators=[validate_departement],
        help_text="Par exemple 056.",
    )
    deadline_from = forms.DateField(
        label="Date limite après le", required=False, widget=DATE_WIDGET, input_formats=DATE_FORMATS
    )
    deadline_to = forms.DateField(
        label="Date limite avant le", required=False, widget=DATE_WIDGET, input_formats=DATE_FORMATS
    )
    include_closed = forms.BooleanField(label="Inclure les consultations closes", required=False)
    sort = forms.ChoiceField(label="Trier par", required=False, choices=list(SORT_LABELS.items()))

    def _clean_search_date(self, name):
        value = self.cleaned_data.get(name)
        first, last = SEARCH_YEARS
        if value is not None and not first <= value.year <= last:
            raise forms.ValidationError(
                f"La date ({value:%d/%m/%Y}) doit être comprise entre le 01/01/{first} et le "
                f"31/12/{last} : les consultations de la plateforme sont toutes dans ces années."
            )
        return value

    def clean_deadline_from(self):
        return self._clean_search_date("deadline_from")

    def clean_deadline_to(self):
        return self._clean_search_date("deadline_to")

    def clean(self):
        data = super().clean()
        start, end = data.get("deadline_from"), data.get("deadline_to")
        if start and end and start > end:
            self.add_error("deadline_to", "La fin de la période précède son début.")
        return data

    def params(self) -> SearchParams:
        data = self.cleaned_data
        return SearchParams(
            q=data.get("q") or "",
            cpv=data.get("cpv") or "",
            procedure=data.get("procedure") or "",
            nature=data.get("nature") or "",
            departement=data.get("departement") or "",
            deadline_from=data.get("deadline_from"),
            deadline_to=data.get("deadline_to"),
            include_closed=bool(data.get("include_closed")),
            sort=data.get("sort") or "echeance",
        )


class AlertForm(DistinctIdsMixin, StyledFormMixin, forms.Form):
    auto_id_prefix = "alerte"

    name = forms.CharField(label="Nom de l'alerte", max_length=100)


class CompanySignupForm(StyledFormMixin, forms.Form):
    siret = forms.CharField(
        label="SIRET de l'entreprise",
        max_length=20,
        help_text="14 chiffres. Si l'entreprise est déjà inscrite, votre demande est transmise "
        "à ses responsables.",
    )
    company_name = forms.CharField(
        label="Raison sociale",
        max_length=255,
        required=False,
        help_text="Obligatoire si l'entreprise n'est pas encore inscrite.",
    )
    first_name = forms.CharField(label="Prénom", max_length=150)
    last_name = forms.CharField(label="Nom", max_length=150)
    email = forms.EmailField(label="Adresse électronique")
    password = forms.CharField(
        label="Mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="12 caractères au moins.",
    )
    password2 = forms.CharField(
        label="Confirmation du mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    accept_terms = forms.BooleanField(
        label="J'ai lu et j'accepte les conditions d'utilisation de la plateforme",
        help_text="Version en vigueur, lisible avant de vous inscrire (lien ci-dessus).",
        error_messages={"required": "Acceptez les conditions d'utilisation pour vous inscrire."},
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", "Les deux mots de passe ne sont pas identiques.")
        return data


class CompanyProfileForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label="Raison sociale", max_length=255)
    address = forms.CharField(label="Adresse", max_length=255, required=False)
    postcode = forms.CharField(label="Code postal", max_length=5, required=False)
    city = forms.CharField(label="Commune", max_length=100, required=False)
    email = forms.EmailField(label="Adresse électronique de contact", required=False)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class DepositTestForm(StyledFormMixin, forms.Form):
    files = MultipleFileField(label="Fichiers à déposer pour le test")


class CommissionForm(DistinctIdsMixin, StyledFormMixin, forms.Form):
    """The buyer names the opening commission among the organisation's commission members."""

    auto_id_prefix = "commission"

    members = forms.ModelMultipleChoiceField(
        label="Membres de la commission d'ouverture",
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        help_text="Comptes ayant le rôle « membre de commission d'ouverture » (double "
        "authentification obligatoire) et leur clé de membre, créée dans leur navigateur. "
        "Chacun recevra une part de la clé d'ouverture, chiffrée pour sa clé.",
    )
    threshold = forms.IntegerField(
        label="Parts nécessaires pour ouvrir les plis",
        min_value=2,
        max_value=16,
        initial=2,
        help_text="Par exemple 2 sur 3 : l'absence ou la perte d'une part n'empêche pas "
        "l'ouverture, mais aucun membre ne peut ouvrir seul.",
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = candidates
        with_key = set(
            candidates.filter(
                member_keys__revoked_at__isnull=True, member_keys__isnull=False
            ).values_list("pk", flat=True)
        )
        self.fields["members"].label_from_instance = lambda u: (
            f"{u.get_full_name() or u.email} ({u.email})"
            + ("" if u.pk in with_key else " — n'a pas encore créé sa clé de membre")
        )
