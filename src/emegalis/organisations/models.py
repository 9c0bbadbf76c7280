import re

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django_otp.models import Device

from emegalis.core.validators import check_single_line

from .roles import PLATFORM_STAFF_ROLES, TWO_FACTOR_ROLES, Role
from .validators import (
    validate_departement,
    validate_insee_nature,
    validate_siren,
    validate_siret,
)


class OrganisationKind(models.TextChoices):
    SYNDICAT = "syndicat", "Syndicat (opérateur de la plateforme)"
    REGION = "region", "Région"
    DEPARTEMENT = "departement", "Département"
    METROPOLE = "metropole", "Métropole"
    COMMUNAUTE_URBAINE = "cu", "Communauté urbaine"
    COMMUNAUTE_AGGLOMERATION = "ca", "Communauté d'agglomération"
    COMMUNAUTE_COMMUNES = "cc", "Communauté de communes"
    COMMUNE = "commune", "Commune"
    AUTRE_PUBLIC = "autre_public", "Autre établissement public"
    ENTREPRISE = "entreprise", "Entreprise"
    PREFECTURE = "prefecture", "Préfecture"


EPCI_KINDS = frozenset(
    {
        OrganisationKind.METROPOLE,
        OrganisationKind.COMMUNAUTE_URBAINE,
        OrganisationKind.COMMUNAUTE_AGGLOMERATION,
        OrganisationKind.COMMUNAUTE_COMMUNES,
    }
)
# Kinds that may sign a convention and use the services as a buying or transmitting body.
PUBLIC_BUYER_KINDS = frozenset(
    {
        OrganisationKind.SYNDICAT,
        OrganisationKind.REGION,
        OrganisationKind.DEPARTEMENT,
        OrganisationKind.COMMUNE,
        OrganisationKind.AUTRE_PUBLIC,
    }
    | EPCI_KINDS
)


class Organisation(models.Model):
    name = models.CharField("nom", max_length=255)
    kind = models.CharField("type", max_length=20, choices=OrganisationKind.choices)
    siren = models.CharField("SIREN", max_length=9, validators=[validate_siren], db_index=True)
    siret = models.CharField(
        "SIRET", max_length=14, validators=[validate_siret], blank=True, default=""
    )
    insee_nature = models.CharField(
        "code nature INSEE",
        max_length=2,
        blank=True,
        default="",
        validators=[validate_insee_nature],
        help_text="Nature de la collectivité utilisée par @CTES (31 commune, 46 CA…).",
    )
    insee_code = models.CharField("code INSEE de la commune", max_length=5, blank=True, default="")
    departement = models.CharField(
        "département", max_length=3, blank=True, default="", validators=[validate_departement]
    )
    arrondissement = models.PositiveSmallIntegerField("arrondissement", null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name="rattachement (EPCI)",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    email = models.EmailField("adresse électronique de contact", blank=True, default="")
    address = models.CharField("adresse", max_length=255, blank=True, default="")
    postcode = models.CharField("code postal", max_length=5, blank=True, default="")
    city = models.CharField("commune", max_length=100, blank=True, default="")
    population = models.PositiveIntegerField("population", null=True, blank=True)
    is_demo = models.BooleanField("donnée de démonstration", default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "organisation"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["siret"],
                condition=~models.Q(siret=""),
                name="organisation_unique_siret",
                violation_error_message="Une organisation portant ce SIRET est déjà enregistrée.",
                violation_error_code="siret_taken",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Rules that tie several fields together (each field's own format is checked first)."""
        errors = {}
        # The name goes into e-mail subjects (a header) and file names: one line only.
        label = "La raison sociale" if self.kind == OrganisationKind.ENTREPRISE else "Le nom"
        try:
            check_single_line(self.name, label=label)
        except ValidationError as exc:
            errors["name"] = exc.error_list
        # A SIRET is the SIREN followed by the establishment's NIC: it must start with it.
        # Only checked on well-formed numbers: a malformed one already has its own message.
        well_formed = re.fullmatch(r"[0-9]{14}", self.siret or "") and re.fullmatch(
            r"[0-9]{9}", self.siren or ""
        )
        if well_formed and not self.siret.startswith(self.siren):
            errors["siret"] = ValidationError(
                "Le SIRET doit commencer par le SIREN de l'organisation (ses 9 premiers "
                "chiffres sont le SIREN).",
                code="siret_siren_mismatch",
            )
        if self.parent_id is not None:
            parent = self.parent
            if parent.pk == self.pk:
                errors["parent"] = ValidationError(
                    "Une organisation ne peut pas être rattachée à elle-même.",
                    code="parent_self",
                )
            elif not (
                parent.is_epci
                # A CCAS or another local public body may hang from its commune.
                or (
                    self.kind == OrganisationKind.AUTRE_PUBLIC
                    and parent.kind == OrganisationKind.COMMUNE
                )
            ):
                errors["parent"] = ValidationError(
                    "Le rattachement doit être un EPCI (métropole, communauté urbaine, "
                    "d'agglomération ou de communes), ou une commune pour un CCAS ou un autre "
                    "établissement public local.",
                    code="parent_not_epci",
                )
        if errors:
            raise ValidationError(errors)

    @property
    def is_epci(self) -> bool:
        return self.kind in EPCI_KINDS

    @property
    def is_operator(self) -> bool:
        return self.kind == OrganisationKind.SYNDICAT


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("L'adresse électronique est obligatoire.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("adresse électronique", unique=True)
    first_name = models.CharField("prénom", max_length=150, blank=True)
    last_name = models.CharField("nom", max_length=150, blank=True)
    phone = models.CharField("téléphone", max_length=30, blank=True, default="")
    is_active = models.BooleanField("actif", default=True)
    is_staff = models.BooleanField("accès à l'administration Django", default=False)
    is_demo = models.BooleanField("compte de démonstration", default=False)
    date_joined = models.DateTimeField("inscrit le", auto_now_add=True)
    # Self sign-up (companies): the account works once its address is confirmed; the version
    # of the conditions of use accepted then is kept with its date.
    email_confirmed_at = models.DateTimeField("adresse confirmée le", null=True, blank=True)
    terms_version = models.CharField("version des CGU acceptée", max_length=20, blank=True)
    terms_accepted_at = models.DateTimeField("CGU acceptées le", null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "utilisateur"
        ordering = ["last_name", "first_name", "email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_unique_email_ci"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    def role_set(self) -> set[str]:
        """Every role the user holds, in any organisation (cached on the instance)."""
        if not hasattr(self, "_role_cache"):
            self._role_cache = set(
                RoleAssignment.objects.filter(
                    membership__user=self, membership__is_active=True
                ).values_list("role", flat=True)
            )
        return self._role_cache

    @property
    def is_platform_staff(self) -> bool:
        return bool(self.role_set() & PLATFORM_STAFF_ROLES)

    @property
    def requires_two_factor(self) -> bool:
        # Django admin accounts reach every table: they need a second factor too.
        return self.is_staff or self.is_superuser or bool(self.role_set() & TWO_FACTOR_ROLES)


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    job_title = models.CharField("fonction", max_length=150, blank=True, default="")
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "rattachement"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"], name="membership_unique_user_organisation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.organisation}"


class RoleAssignment(models.Model):
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField("rôle", max_length=40, choices=Role.choices)

    class Meta:
        verbose_name = "rôle"
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "role"], name="role_unique_per_membership"
            )
        ]

    def __str__(self) -> str:
        return self.get_role_display()


class ApiKey(models.Model):
    """A personal API key: a user acting for one organisation from another piece of software.

    One key opens every API of the platform: the marchés API (``Authorization: Bearer``) and
    the S²LOW-style actes API (HTTP Basic with the user's e-mail). What it may do there comes
    from the user's roles in the key's organisation and that organisation's convention,
    checked at each call. Only the key's SHA-256 is stored; the key itself is shown once, when
    it is created.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField("nom", max_length=100)
    prefix = models.CharField("début", max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "clé d'API"
        verbose_name_plural = "clés d'API"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AppPassword(models.Model):
    """A password for a desktop client (WebDAV, calendars) that cannot sign in through the
    browser: named, shown once, only its SHA-256 kept, revocable, its last use shown. It opens
    the WebDAV folders and calendars only, never the pages or the APIs."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="app_passwords")
    name = models.CharField("nom", max_length=100)
    prefix = models.CharField("début", max_length=8)
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "mot de passe d'application"
        verbose_name_plural = "mots de passe d'application"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ClientCertificate(models.Model):
    """A TLS client certificate bound to an account, as S²LOW deployments bind theirs: the TLS
    proxy verifies the certificate and forwards its SHA-256 fingerprint; API calls of an account
    that has one succeed only when they come with one of its certificates, and a certificate
    alone identifies the account it is bound to (for the organisation chosen when it was
    registered). Only the public certificate's fingerprint and names are kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="client_certificates")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="client_certificates"
    )
    name = models.CharField("nom", max_length=100)
    fingerprint = models.CharField("empreinte SHA-256", max_length=64)
    subject = models.CharField("sujet", max_length=500, blank=True, default="")
    issuer = models.CharField("émetteur", max_length=500, blank=True, default="")
    not_after = models.DateTimeField("valide jusqu'au", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "certificat client"
        verbose_name_plural = "certificats clients"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "fingerprint"],
                condition=models.Q(revoked_at__isnull=True),
                name="organisations_clientcert_live_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.fingerprint[:12]}…)"


class ApiNounce(models.Model):
    """A one-time value of S²LOW's nounce scheme (``/api/get-nounce.php``): handed to a client
    that authenticated with its key, it lets the client build URLs ``?nounce&login&hash`` where
    ``hash = sha256("key:nounce")`` for five minutes. What is stored is the SHA-256 of that
    hash, so the table alone opens nothing."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="nounces")
    nounce = models.CharField(max_length=64, unique=True)
    login = models.CharField(max_length=254)
    hash_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "nounce d'API"

    def __str__(self) -> str:
        return f"nounce {self.nounce[:8]}… de {self.login}"


class ProConnectIdentity(Device):
    """The link between an account and its ProConnect identity (organisations/proconnect/).

    ProConnect gives each service its own `sub` for a person, stable across sign-ins: the first
    sign-in links it by the verified e-mail, the next ones find the account by `sub` even if
    the address changed. As a django-otp device, it is the session's second factor when the
    sign-in's acr/amr is one the operator trusts (settings.PROCONNECT_2FA_ACR/AMR): only the
    callback puts it in a session, never a password login.
    """

    issuer = models.CharField("fournisseur", max_length=255)
    sub = models.CharField("identifiant ProConnect (sub)", max_length=255)
    linked_at = models.DateTimeField("relié le")
    last_sign_in_at = models.DateTimeField("dernière connexion", null=True, blank=True)
    last_acr = models.CharField("dernier niveau (acr)", max_length=255, blank=True, default="")
    last_amr = models.JSONField("dernières méthodes (amr)", default=list, blank=True)
    last_siret = models.CharField("dernier SIRET", max_length=14, blank=True, default="")

    class Meta:
        verbose_name = "identité ProConnect"
        verbose_name_plural = "identités ProConnect"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "sub"], name="proconnect_unique_sub"),
            models.UniqueConstraint(fields=["user", "issuer"], name="proconnect_one_per_user"),
        ]

    def __str__(self) -> str:
        return f"ProConnect {self.sub[:12]}… de {self.user}"
