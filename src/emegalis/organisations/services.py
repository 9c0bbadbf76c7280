"""Writes on organisations, users and roles. Each runs in one transaction and is journaled."""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from emegalis.core import journal

from .models import Membership, Organisation, RoleAssignment, User
from .roles import Role
from .selectors import may_manage_members


@transaction.atomic
def create_organisation(*, actor: User | None, **fields) -> Organisation:
    """Create an organisation after full validation (SIREN/SIRET checksums, codes)."""
    if actor is not None and not actor.is_platform_staff:
        raise PermissionDenied("Seul le syndicat peut enregistrer une organisation.")
    organisation = Organisation(**fields)
    organisation.full_clean()
    organisation.save()
    journal.record(
        action="organisation.created",
        actor=actor,
        organisation=organisation,
        object_type="organisation",
        object_id=organisation.pk,
        payload={"name": organisation.name, "kind": organisation.kind, "siren": organisation.siren},
    )
    return organisation


def _validate_roles(roles: Iterable[str]) -> list[str]:
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise ValidationError(f"Rôle inconnu : {', '.join(unknown)}.")
    return roles


@transaction.atomic
def add_member(
    *,
    actor: User | None,
    organisation: Organisation,
    email: str,
    first_name: str = "",
    last_name: str = "",
    roles: Iterable[str] = (),
    password: str | None = None,
) -> Membership:
    """Attach a user (created if new) to an organisation with the given roles.

    A new user without a password gets an unusable one and sets it through the reset e-mail.
    """
    if actor is not None and not may_manage_members(actor, organisation):
        raise PermissionDenied("Seuls les référents de l'organisation peuvent ajouter un agent.")
    roles = _validate_roles(roles)
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(email=email, first_name=first_name, last_name=last_name)
        user.full_clean(exclude=["password"])
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    membership, _ = Membership.objects.get_or_create(user=user, organisation=organisation)
    if not membership.is_active:
        membership.is_active = True
        membership.save(update_fields=["is_active"])
    _replace_roles(membership, roles)
    journal.record(
        action="membership.added",
        actor=actor,
        organisation=organisation,
        object_type="membership",
        object_id=membership.pk,
        payload={"user": user.email, "roles": roles},
    )
    return membership


def _replace_roles(membership: Membership, roles: list[str]) -> None:
    membership.roles.exclude(role__in=roles).delete()
    existing = set(membership.roles.values_list("role", flat=True))
    RoleAssignment.objects.bulk_create(
        RoleAssignment(membership=membership, role=r) for r in roles if r not in existing
    )


@transaction.atomic
def set_roles(*, actor: User, membership: Membership, roles: Iterable[str]) -> Membership:
    if not may_manage_members(actor, membership.organisation):
        raise PermissionDenied("Seuls les référents de l'organisation peuvent changer les rôles.")
    roles = _validate_roles(roles)
    _replace_roles(membership, roles)
    journal.record(
        action="membership.roles_changed",
        actor=actor,
        organisation=membership.organisation,
        object_type="membership",
        object_id=membership.pk,
        payload={"user": membership.user.email, "roles": roles},
    )
    return membership
