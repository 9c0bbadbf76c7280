"""Reads of organisations and users, scoped to what the asking user may see.

Rules: platform staff see every organisation; anyone else sees the organisations they belong
to. Inside an organisation, its member list is for its référents (and platform staff).
Objects outside a user's scope raise Http404, so their existence is not revealed.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import (
    EPCI_KINDS,
    ApiKey,
    AppPassword,
    ClientCertificate,
    Membership,
    Organisation,
    OrganisationKind,
    ProConnectIdentity,
    RoleAssignment,
    User,
)
from .roles import Role


def active_memberships(user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, is_active=True)
        .select_related("organisation")
        .prefetch_related("roles")
        .order_by("organisation__name")
    )


def roles_in(user: User, organisation: Organisation) -> set[str]:
    return set(
        RoleAssignment.objects.filter(
            membership__user=user, membership__organisation=organisation, membership__is_active=True
        ).values_list("role", flat=True)
    )


def organisations_visible_to(user: User) -> QuerySet[Organisation]:
    if not user.is_authenticated:
        return Organisation.objects.none()
    if user.is_platform_staff:
        return Organisation.objects.all()
    return Organisation.objects.filter(memberships__user=user, memberships__is_active=True)


def get_organisation(user: User, pk: int) -> Organisation:
    try:
        return organisations_visible_to(user).distinct().get(pk=pk)
    except Organisation.DoesNotExist:
        raise Http404("Organisation introuvable.") from None


def require_platform_staff(user: User) -> None:
    if not (user.is_authenticated and user.is_platform_staff):
        raise PermissionDenied("Cette page est réservée au personnel du syndicat.")


def may_manage_members(user: User, organisation: Organisation) -> bool:
    return user.is_platform_staff or Role.REFERENT in roles_in(user, organisation)


def members_of(user: User, organisation_pk: int) -> QuerySet[Membership]:
    """The memberships of an organisation, for its référents and platform staff only."""
    organisation = manageable_organisation(user, organisation_pk)
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .prefetch_related(Prefetch("roles", queryset=RoleAssignment.objects.order_by("role")))
        .order_by("user__last_name", "user__first_name")
    )


def get_membership(user: User, organisation_pk: int, membership_pk: int) -> Membership:
    """One membership of an organisation the user may manage (404 otherwise)."""
    try:
        return members_of(user, organisation_pk).get(pk=membership_pk)
    except Membership.DoesNotExist:
        raise Http404("Utilisateur introuvable.") from None


def manageable_organisation(user: User, pk: int) -> Organisation:
    """An organisation whose members the user may manage: its référents and platform staff.

    Anyone else gets a 404, as if the organisation did not exist.
    """
    organisation = get_organisation(user, pk)
    if not may_manage_members(user, organisation):
        raise Http404("Organisation introuvable.")
    return organisation


def parent_choices() -> QuerySet[Organisation]:
    """Organisations another one may be attached to: EPCIs, and communes (for their CCAS).
    Which kind may hang from which is checked by Organisation.clean()."""
    return Organisation.objects.filter(kind__in=[*EPCI_KINDS, OrganisationKind.COMMUNE]).order_by(
        "name"
    )


def has_confirmed_totp(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def active_holders(organisation: Organisation, role: str) -> QuerySet[User]:
    """Active users holding the role in the organisation through an active membership."""
    return User.objects.filter(
        is_active=True,
        memberships__organisation=organisation,
        memberships__is_active=True,
        memberships__roles__role=role,
    ).distinct()


def proconnect_identities_of(user: User) -> QuerySet[ProConnectIdentity]:
    return ProConnectIdentity.objects.filter(user=user).order_by("linked_at")


def api_keys_of(user: User, organisation: Organisation | None = None) -> QuerySet[ApiKey]:
    """The user's own API keys (revoked ones included), of one organisation if given."""
    keys = ApiKey.objects.filter(user=user).select_related("organisation")
    if organisation is not None:
        keys = keys.filter(organisation=organisation)
    return keys


def get_api_key(user: User, pk: int) -> ApiKey:
    """One of the user's own keys; anyone else's is a 404."""
    try:
        return api_keys_of(user).get(pk=pk)
    except ApiKey.DoesNotExist:
        raise Http404("Clé d'API introuvable.") from None


def client_certificates_of(user: User) -> QuerySet[ClientCertificate]:
    """The user's certificates (revoked ones included), newest first."""
    return ClientCertificate.objects.filter(user=user).select_related("organisation")


def get_client_certificate(user: User, pk: int) -> ClientCertificate:
    try:
        return client_certificates_of(user).get(pk=pk)
    except ClientCertificate.DoesNotExist:
        raise Http404("Certificat introuvable.") from None


def live_certificates(fingerprint: str) -> QuerySet[ClientCertificate]:
    """The live bindings of one certificate (one per account that registered it)."""
    return ClientCertificate.objects.filter(
        fingerprint=fingerprint, revoked_at__isnull=True, user__is_active=True
    ).select_related("user", "organisation")


def live_fingerprints(user: User) -> set[str]:
    """The fingerprints of the account's live certificates: when there is any, the account may
    only call the API with one of them."""
    return set(
        ClientCertificate.objects.filter(user=user, revoked_at__isnull=True).values_list(
            "fingerprint", flat=True
        )
    )


def app_passwords_of(user: User) -> QuerySet[AppPassword]:
    return AppPassword.objects.filter(user=user)


def get_app_password(user: User, pk: int) -> AppPassword:
    """One of the user's own app passwords; anyone else's is a 404."""
    try:
        return app_passwords_of(user).get(pk=pk)
    except AppPassword.DoesNotExist:
        raise Http404("Mot de passe d'application introuvable.") from None
