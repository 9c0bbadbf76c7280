from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.views.decorators.debug import sensitive_variables

from emegalis.core.forms import StyledFormMixin
from emegalis.core.models import JournalEntry

from .models import Organisation, OrganisationKind, User
from .roles import PLATFORM_STAFF_ROLES, Role
from .selectors import parent_choices


def _awaits_confirmation(email: str, password: str) -> bool:
    """A self-signed-up account whose address is not confirmed yet, with the right password."""
    user = (
        User.objects.filter(email__iexact=email, is_active=False, email_confirmed_at__isnull=True)
        .exclude(terms_version="")
        .first()
    )
    return user is not None and user.check_password(password)


class EmailAuthenticationForm(StyledFormMixin, AuthenticationForm):
    username = forms.EmailField(
        label="Adresse électronique",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
        error_messages={
            "required": "Saisissez votre adresse électronique.",
            "invalid": "Saisissez une adresse électronique valide, par exemple nom@commune.fr.",
        },
    )
    password = forms.CharField(
        label="Mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Saisissez votre mot de passe."},
    )
    error_messages = {
        "invalid_login": (
            "Adresse électronique ou mot de passe incorrect. Après plusieurs échecs, le compte "
            "est temporairement bloqué."
        ),
        "inactive": "Ce compte est désactivé.",
    }

    def clean_username(self) -> str:
        # Lower-cased before authenticate(), so the login throttle (django-axes, which counts
        # failures per login) sees « Agent@X.fr » and « agent@x.fr » as the same account.
        return self.cleaned_data["username"].strip().lower()

    @sensitive_variables()
    def clean(self):
        """Django's check, with the address passed as `email` as well as `username`.

        django-axes reads the login from the credentials under AXES_USERNAME_FORM_FIELD, which
        defaults to the user model's USERNAME_FIELD (« email »); Django's form passes it as
        « username » only. Axes then checked the lock under the e-mail but recorded failures
        under no login at all, so a locked account still opened with the right password.
        """
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            self.user_cache = authenticate(
                self.request, username=email, email=email, password=password
            )
            if self.user_cache is None:
                if _awaits_confirmation(email, password):
                    raise forms.ValidationError(
                        "Votre adresse n'est pas encore confirmée : ouvrez le lien reçu par "
                        "courriel à l'inscription, ou demandez-en un nouveau depuis « Lien de "
                        "confirmation non reçu ».",
                        code="unconfirmed",
                    )
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class EmailPasswordResetForm(StyledFormMixin, PasswordResetForm):
    email = forms.EmailField(
        label="Adresse électronique",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
        error_messages={
            "required": "Saisissez votre adresse électronique.",
            "invalid": "Saisissez une adresse électronique valide, par exemple nom@commune.fr.",
        },
    )

    def get_users(self, email):
        """Active users with this address, including those invited who never chose a password
        (Django skips unusable passwords; here they are how invited agents start)."""
        return (
            user
            for user in User._default_manager.filter(email__iexact=email.strip(), is_active=True)
            if user.email.lower() == email.strip().lower()
        )


class NewPasswordForm(StyledFormMixin, SetPasswordForm):
    """Django's set-password form (its French labels and validator messages), styled."""


class SwitchOrganisationForm(forms.Form):
    organisation = forms.IntegerField()
    next = forms.CharField(required=False)


class AppPasswordForm(StyledFormMixin, forms.Form):
    name = forms.CharField(
        label="Nom du mot de passe",
        max_length=100,
        help_text="Par exemple l'ordinateur ou le logiciel qui l'utilise (Windows, Thunderbird…).",
    )


class ApiKeyForm(StyledFormMixin, forms.Form):
    name = forms.CharField(
        label="Nom de la clé",
        max_length=100,
        help_text="Par exemple le logiciel qui l'utilise (Pastell, logiciel de rédaction…).",
    )


class ClientCertificateForm(StyledFormMixin, forms.Form):
    name = forms.CharField(
        label="Nom du certificat",
        max_length=100,
        help_text="Par exemple le poste ou le logiciel qui le présente.",
    )
    certificate = forms.FileField(
        label="Certificat public (.pem, .crt ou .cer)",
        help_text="Le certificat seul, jamais sa clé privée. 64 Kio au plus.",
    )

    def clean_certificate(self):
        f = self.cleaned_data["certificate"]
        if f.size > 64 * 1024:
            raise forms.ValidationError(
                "Un certificat pèse quelques Kio : ce fichier est trop gros."
            )
        return f.read()


class TokenForm(StyledFormMixin, forms.Form):
    token = forms.CharField(
        label="Code à 6 chiffres",
        min_length=6,
        max_length=6,
        help_text="Le code affiché par votre application d'authentification, sans espace.",
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
        error_messages={
            "required": "Saisissez le code affiché par votre application.",
            "min_length": "Le code comporte 6 chiffres.",
            "max_length": "Le code comporte 6 chiffres.",
        },
    )

    def clean_token(self):
        token = self.cleaned_data["token"].strip()
        if not token.isdigit():
            raise forms.ValidationError("Le code ne contient que des chiffres.")
        return token


# Roles a référent hands out; platform roles (gestionnaire, support) are the syndicat's own.
ASSIGNABLE_ROLE_CHOICES = [
    (value, label) for value, label in Role.choices if value not in PLATFORM_STAFF_ROLES
]
_ROLES_BY_KIND = {
    OrganisationKind.ENTREPRISE: {Role.REFERENT, Role.ENTREPRISE, Role.STAGIAIRE},
    OrganisationKind.PREFECTURE: {Role.REFERENT, Role.AGENT_PREFECTURE},
}
_PUBLIC_BUYER_ROLES = {value for value, _ in ASSIGNABLE_ROLE_CHOICES} - {
    Role.ENTREPRISE,
    Role.AGENT_PREFECTURE,
}


def assignable_role_choices(organisation: Organisation) -> list[tuple[str, str]]:
    """The roles that make sense in this kind of organisation, platform roles excluded."""
    allowed = _ROLES_BY_KIND.get(organisation.kind, _PUBLIC_BUYER_ROLES)
    return [(value, label) for value, label in ASSIGNABLE_ROLE_CHOICES if value in allowed]


class MemberRolesForm(StyledFormMixin, forms.Form):
    roles = forms.MultipleChoiceField(
        label="Rôles",
        choices=ASSIGNABLE_ROLE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Un rôle lié à un service ne sert que si la convention de l'organisation "
        "ouvre ce service.",
    )

    def __init__(self, *args, organisation: Organisation, **kwargs):
        self.organisation = organisation
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = assignable_role_choices(organisation)


class MemberAddForm(MemberRolesForm):
    email = forms.EmailField(
        label="Adresse électronique",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        error_messages={
            "required": "Saisissez l'adresse électronique de l'agent.",
            "invalid": "Saisissez une adresse électronique valide, par exemple nom@commune.fr.",
        },
    )
    first_name = forms.CharField(
        label="Prénom",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    last_name = forms.CharField(
        label="Nom",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    field_order = ["email", "first_name", "last_name", "roles"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        already = self.organisation.memberships.filter(
            user__email__iexact=email, is_active=True
        ).exists()
        if already:
            raise forms.ValidationError(
                "Cet agent est déjà rattaché à l'organisation : modifiez ses rôles depuis la "
                "liste des utilisateurs."
            )
        return email


class OrganisationForm(StyledFormMixin, forms.ModelForm):
    """The syndicat's form to register an organisation. Field formats, checksums and the
    SIREN/SIRET agreement are checked by the model (validators and Organisation.clean)."""

    class Meta:
        model = Organisation
        fields = [
            "name",
            "kind",
            "siren",
            "siret",
            "insee_nature",
            "insee_code",
            "departement",
            "arrondissement",
            "parent",
            "email",
        ]
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "organization"}),
            "siren": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
            "siret": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
            "insee_nature": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
            "insee_code": forms.TextInput(attrs={"autocomplete": "off"}),
            "departement": forms.TextInput(attrs={"autocomplete": "off"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }
        help_texts = {
            "siren": "9 chiffres, sans espace.",
            "siret": "14 chiffres : le SIREN suivi du NIC de l'établissement (siège).",
            "departement": "3 caractères, par exemple 056, 02A ou 974.",
            "parent": "L'EPCI dont la commune est membre ; pour un CCAS ou un autre "
            "établissement public local, sa commune.",
        }
        error_messages = {
            "name": {"required": "Saisissez le nom de l'organisation."},
            "kind": {"required": "Choisissez le type d'organisation."},
            "siren": {
                "required": "Saisissez le SIREN de l'organisation.",
                "max_length": "Le SIREN doit comporter exactement 9 chiffres.",
            },
            "siret": {"max_length": "Le SIRET doit comporter exactement 14 chiffres."},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parent_choices()
        self.fields["parent"].empty_label = "— aucun —"

    def service_fields(self) -> dict:
        """The cleaned values, as keyword arguments for services.create_organisation."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class JournalFilterForm(StyledFormMixin, forms.Form):
    date_from = forms.DateField(
        label="Du",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label="Au",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    organisation = forms.ModelChoiceField(
        label="Organisation",
        required=False,
        queryset=Organisation.objects.order_by("name"),
        empty_label="Toutes",
    )
    action = forms.ChoiceField(label="Type d'événement", required=False)
    object_type = forms.CharField(label="Type d'objet", required=False, max_length=100)
    object_id = forms.CharField(label="Identifiant de l'objet", required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actions = (
            JournalEntry.objects.order_by("action").values_list("action", flat=True).distinct()
        )
        self.fields["action"].choices = [("", "Tous")] + [(a, a) for a in actions]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("La date de début est postérieure à la date de fin.")
        return data
