"""Writes on organisations, users and roles. Each runs in one transaction and is journaled."""

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from emegalis.core import clock, journal

from . import certificates, signup_tokens
from .models import (
    ApiKey,
    ApiNounce,
    AppPassword,
    ClientCertificate,
    Membership,
    Organisation,
    OrganisationKind,
    RoleAssignment,
    User,
)
from .roles import PLATFORM_STAFF_ROLES, TWO_FACTOR_ROLES, Role
from .selectors import active_holders, may_manage_members

logger = logging.getLogger(__name__)


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
        target=organisation,
        payload={"name": organisation.name, "kind": organisation.kind, "siren": organisation.siren},
    )
    return organisation


def _validate_roles(
    roles: Iterable[str],
    *,
    actor: User | None,
    organisation: Organisation,
    current: Iterable[str] = (),
) -> list[str]:
    """Known roles only; platform roles are given or taken only by the syndicat's staff.

    A référent who is not platform staff could otherwise make themselves « gestionnaire de la
    plateforme » and see every organisation.
    """
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise ValidationError(f"Rôle inconnu : {', '.join(unknown)}.")
    wanted_platform = set(roles) & PLATFORM_STAFF_ROLES
    if wanted_platform and organisation.kind != OrganisationKind.SYNDICAT:
        raise ValidationError(
            "Les rôles de gestion de la plateforme ne s'attribuent qu'au sein du syndicat."
        )
    changes_platform = wanted_platform != set(current) & PLATFORM_STAFF_ROLES
    if changes_platform and actor is not None and not actor.is_platform_staff:
        raise PermissionDenied(
            "Seul le syndicat peut attribuer ou retirer un rôle de gestion de la plateforme."
        )
    return roles


def invitation_path(user: User) -> str:
    """The path where a user chooses a password (Django's password-reset token)."""
    return reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )


def send_invitation(*, user: User, organisation: Organisation, inviter: User | None) -> None:
    """E-mail a new user the link to choose their password. Failures are logged, not raised:
    the account exists and « Mot de passe oublié » sends a new link."""
    context = {
        "user": user,
        "organisation": organisation,
        "inviter": inviter,
        "link": settings.SITE_URL.rstrip("/") + invitation_path(user),
        "site_url": settings.SITE_URL.rstrip("/"),
        "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    subject = "".join(render_to_string("registration/invitation_subject.txt", context).splitlines())
    body = render_to_string("registration/invitation_email.txt", context)
    try:
        send_mail(subject, body, None, [user.email])
    except Exception:
        logger.exception("Invitation e-mail to user %s failed", user.pk)


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

    A new user without a password gets an unusable one and, once the transaction commits, an
    e-mail with a link to choose it (Django's password-reset token). Re-adding a deactivated
    member reactivates them.
    """
    if actor is not None and not may_manage_members(actor, organisation):
        raise PermissionDenied("Seuls les référents de l'organisation peuvent ajouter un agent.")
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    existing = (
        Membership.objects.filter(user=user, organisation=organisation).first() if user else None
    )
    current = list(existing.roles.values_list("role", flat=True)) if existing else []
    roles = _validate_roles(roles, actor=actor, organisation=organisation, current=current)
    created = user is None
    if created:
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
        target=membership,
        payload={"user": user.email, "roles": roles, "new_user": created},
    )
    if created and not password:
        transaction.on_commit(
            lambda: send_invitation(user=user, organisation=organisation, inviter=actor)
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
    roles = _validate_roles(
        roles,
        actor=actor,
        organisation=membership.organisation,
        current=list(membership.roles.values_list("role", flat=True)),
    )
    _replace_roles(membership, roles)
    journal.record(
        action="membership.roles_changed",
        actor=actor,
        organisation=membership.organisation,
        target=membership,
        payload={"user": membership.user.email, "roles": roles},
    )
    return membership


def _check_may_change_membership(actor: User, membership: Membership, verb: str) -> None:
    if not may_manage_members(actor, membership.organisation):
        raise PermissionDenied(f"Seuls les référents de l'organisation peuvent {verb} un agent.")
    holds_platform_role = membership.roles.filter(role__in=PLATFORM_STAFF_ROLES).exists()
    if holds_platform_role and not actor.is_platform_staff:
        raise PermissionDenied(f"Seul le syndicat peut {verb} un gestionnaire de la plateforme.")


def _set_active(actor: User, membership: Membership, *, active: bool) -> Membership:
    """Store and journal the new state; a membership already in that state is left alone."""
    if membership.is_active == active:
        return membership
    membership.is_active = active
    membership.save(update_fields=["is_active"])
    journal.record(
        action="membership.reactivated" if active else "membership.deactivated",
        actor=actor,
        organisation=membership.organisation,
        target=membership,
        payload={"user": membership.user.email},
    )
    return membership


@transaction.atomic
def deactivate_member(*, actor: User, membership: Membership) -> Membership:
    """Detach an agent from the organisation: they keep their account and their history but
    lose every role there until they are reactivated."""
    _check_may_change_membership(actor, membership, "désactiver")
    if membership.user_id == actor.pk:
        raise ValidationError("Vous ne pouvez pas désactiver votre propre rattachement.")
    return _set_active(actor, membership, active=False)


@transaction.atomic
def reactivate_member(*, actor: User, membership: Membership) -> Membership:
    _check_may_change_membership(actor, membership, "réactiver")
    return _set_active(actor, membership, active=True)


# --- Two-factor authentication -----------------------------------------------------------------


def pending_totp_device(*, user: User) -> TOTPDevice:
    """The user's unconfirmed TOTP device, created on first use (its key is shown once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, confirmed=False, name="Application d'authentification"
        )
    return device


@transaction.atomic
def confirm_totp_device(
    *, user: User, device: TOTPDevice, organisation: Organisation | None
) -> TOTPDevice:
    """Mark a device whose first code was checked as confirmed, and drop stale pending ones."""
    if device.user_id != user.pk:
        raise PermissionDenied("Cet appareil n'appartient pas à votre compte.")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).exclude(pk=device.pk).delete()
    journal.record(
        action="account.two_factor_enrolled",
        actor=user,
        organisation=organisation,
        target=user,
    )
    return device


@transaction.atomic
def disable_two_factor(*, user: User, organisation: Organisation | None) -> None:
    """Remove every TOTP device of a user for whom the second factor is optional."""
    if user.role_set() & TWO_FACTOR_ROLES:
        raise PermissionDenied(
            "Vos rôles imposent la double authentification : elle ne peut pas être désactivée."
        )
    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    if deleted:
        journal.record(
            action="account.two_factor_disabled",
            actor=user,
            organisation=organisation,
            target=user,
        )


# --- API keys ----------------------------------------------------------------------------------

API_KEY_PREFIX = "emg_"
# last_used_at is written at most this often, not on every call of a busy client.
API_KEY_USE_RESOLUTION = timedelta(minutes=1)


def hash_api_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_api_key(*, user: User, organisation: Organisation, name: str) -> tuple[ApiKey, str]:
    """A new key for the user acting for one of their organisations. The secret is returned
    once, here, and never stored: only its SHA-256 is kept."""
    if not user.memberships.filter(organisation=organisation, is_active=True).exists():
        raise PermissionDenied("Vous n'êtes pas rattaché à cette organisation.")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError(
            {"name": ["Donnez à la clé un nom de 1 à 100 caractères (par exemple le logiciel)."]}
        )
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        user=user,
        organisation=organisation,
        name=name,
        prefix=secret[:12],
        key_hash=hash_api_key(secret),
    )
    journal.record(
        action="api_key.created",
        actor=user,
        organisation=organisation,
        target=key,
        payload={"name": name, "prefix": key.prefix},
    )
    return key, secret


@transaction.atomic
def revoke_api_key(*, user: User, key: ApiKey) -> ApiKey:
    """Revoke one of the user's own keys (revoking it again changes nothing)."""
    if key.user_id != user.pk:
        raise PermissionDenied("Cette clé ne vous appartient pas.")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
        journal.record(
            action="api_key.revoked",
            actor=user,
            organisation=key.organisation,
            target=key,
            payload={"name": key.name, "prefix": key.prefix},
        )
    return key


def find_api_key(secret: str, *, login: str | None = None) -> ApiKey | None:
    """The live key this secret is, or None (its last use noted).

    `login`, where the protocol sends one (HTTP Basic), must be the key owner's e-mail. The
    caller still checks what the user may do in the organisation: the key only says who acts.
    """
    if not secret or len(secret) > 200:
        return None
    key = (
        ApiKey.objects.select_related("user", "organisation")
        .filter(key_hash=hash_api_key(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if key is None:
        return None
    if login is not None and key.user.email.lower() != login.strip().lower():
        return None
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at > API_KEY_USE_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def authenticate_api_key(
    secret: str, *, login: str | None = None
) -> tuple[User, Organisation] | None:
    """The (user, organisation) a live key acts for, or None (see :func:`find_api_key`)."""
    key = find_api_key(secret, login=login)
    return (key.user, key.organisation) if key else None


# --- S²LOW-style nounces and client certificates ------------------------------------------


def _nounce_digest(presented_hash: str) -> str:
    return hashlib.sha256(presented_hash.strip().lower().encode()).hexdigest()


@transaction.atomic
def issue_nounce(*, key: ApiKey, secret: str) -> str:
    """A nounce for a client that has just authenticated with ``secret`` (its key, in clear on
    this request only). The client then signs URLs with ``sha256("secret:nounce")``; what is
    kept is the digest of that value. Expired nounces are deleted on the way."""
    now = clock.now()
    ApiNounce.objects.filter(created_at__lt=now - settings.API_NOUNCE_LIFETIME).delete()
    nounce = secrets.token_hex(16)
    expected = hashlib.sha256(f"{secret}:{nounce}".encode()).hexdigest()
    ApiNounce.objects.create(
        user=key.user,
        organisation=key.organisation,
        api_key=key,
        nounce=nounce,
        login=key.user.email.lower(),
        hash_digest=_nounce_digest(expected),
        created_at=now,
    )
    return nounce


def verify_nounce(*, login: str, nounce: str, presented_hash: str) -> ApiKey | None:
    """The key a live nounce was issued for, when ``presented_hash`` is the right one; the key
    must still be live. A nounce may be used until it expires, as S²LOW allows."""
    if not (login and nounce and presented_hash) or len(presented_hash) > 128:
        return None
    found = (
        ApiNounce.objects.select_related("api_key__user", "api_key__organisation")
        .filter(
            nounce=nounce[:64],
            login=login.strip().lower(),
            created_at__gte=clock.now() - settings.API_NOUNCE_LIFETIME,
            api_key__revoked_at__isnull=True,
            user__is_active=True,
        )
        .first()
    )
    if found is None or not secrets.compare_digest(
        found.hash_digest, _nounce_digest(presented_hash)
    ):
        return None
    return found.api_key


@transaction.atomic
def register_client_certificate(
    *, user: User, organisation: Organisation, name: str, data: bytes
) -> ClientCertificate:
    """Bind a client certificate to the account, for one of its organisations. From then on
    the account's API calls must come with one of its certificates."""
    if not user.memberships.filter(organisation=organisation, is_active=True).exists():
        raise PermissionDenied("Vous n'êtes pas rattaché à cette organisation.")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": ["Donnez au certificat un nom de 1 à 100 caractères."]})
    try:
        info = certificates.read_certificate(data)
    except certificates.CertificateError as exc:
        raise ValidationError({"certificate": [str(exc)]}) from None
    if info.not_after <= clock.now():
        raise ValidationError(
            {"certificate": [f"Ce certificat a expiré le {info.not_after:%d/%m/%Y}."]}
        )
    if user.client_certificates.filter(fingerprint=info.fingerprint, revoked_at__isnull=True):
        raise ValidationError({"certificate": ["Ce certificat est déjà lié à votre compte."]})
    cert = ClientCertificate.objects.create(
        user=user,
        organisation=organisation,
        name=name,
        fingerprint=info.fingerprint,
        subject=info.subject,
        issuer=info.issuer,
        not_after=info.not_after,
    )
    journal.record(
        action="client_certificate.registered",
        actor=user,
        organisation=organisation,
        target=cert,
        payload={"name": name, "fingerprint": info.fingerprint, "subject": info.subject},
    )
    return cert


@transaction.atomic
def revoke_client_certificate(*, user: User, cert: ClientCertificate) -> ClientCertificate:
    if cert.user_id != user.pk:
        raise PermissionDenied("Ce certificat n'est pas lié à votre compte.")
    if cert.revoked_at is None:
        cert.revoked_at = clock.now()
        cert.save(update_fields=["revoked_at"])
        journal.record(
            action="client_certificate.revoked",
            actor=user,
            organisation=cert.organisation,
            target=cert,
            payload={"name": cert.name, "fingerprint": cert.fingerprint},
        )
    return cert


# --- App passwords (WebDAV and calendar clients) -------------------------------------------


def _app_password_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_app_password(*, user: User, name: str) -> tuple[AppPassword, str]:
    """A new app password; the secret is returned once and only its SHA-256 is kept."""
    name = " ".join(str(name or "").split())
    if not name or len(name) > 100:
        raise ValidationError(
            {"name": ["Donnez-lui un nom de 1 à 100 caractères (par exemple l'ordinateur)."]}
        )
    # Four groups of five letters and digits: easy to type in a desktop client's dialog.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    secret = "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))
    password = AppPassword.objects.create(
        user=user, name=name, prefix=secret[:5], secret_hash=_app_password_hash(secret)
    )
    journal.record(
        action="app_password.created",
        actor=user,
        target=password,
        payload={"name": name, "prefix": password.prefix},
    )
    return password, secret


@transaction.atomic
def revoke_app_password(*, user: User, password: AppPassword) -> AppPassword:
    if password.user_id != user.pk:
        raise PermissionDenied("Ce mot de passe ne vous appartient pas.")
    if password.revoked_at is None:
        password.revoked_at = clock.now()
        password.save(update_fields=["revoked_at"])
        journal.record(
            action="app_password.revoked",
            actor=user,
            target=password,
            payload={"name": password.name, "prefix": password.prefix},
        )
    return password


def authenticate_app_password(login: str, secret: str) -> User | None:
    """The active user whose live app password this is, the login being their e-mail."""
    if not login or not secret or len(secret) > 100:
        return None
    password = (
        AppPassword.objects.select_related("user")
        .filter(
            secret_hash=_app_password_hash(secret.strip()),
            revoked_at__isnull=True,
            user__is_active=True,
        )
        .first()
    )
    if password is None or password.user.email.lower() != login.strip().lower():
        return None
    now = clock.now()
    if password.last_used_at is None or now - password.last_used_at > API_KEY_USE_RESOLUTION:
        AppPassword.objects.filter(pk=password.pk).update(last_used_at=now)
    return password.user


# --- Company sign-up by SIRET ------------------------------------------------------------------


@transaction.atomic
def register_company(
    *,
    siret: str,
    company_name: str,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    terms_version: str,
) -> Membership:
    """A company user signs up with the company's SIRET (one company, many users).

    - A new SIRET creates the company (kind « entreprise ») and its first user, who becomes
      its representative and référent: active at once.
    - A SIRET already registered as a company adds the user with an inactive membership: one
      of the company's référents approves it (« réactiver » on the company's users page), and
      they are e-mailed about the request once the address is confirmed. Nobody joins a
      company on their own say-so.
    - A SIRET held by a public organisation is refused.

    The account stays inactive until its address is confirmed through the link e-mailed now
    (confirm_signup); the conditions of use accepted are recorded with their version.
    """
    from django.contrib.auth.password_validation import validate_password

    from .validators import validate_siret

    siret = "".join((siret or "").split())
    validate_siret(siret)
    email = User.objects.normalize_email(email or "").strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(
            {
                "email": [
                    "Un compte existe déjà pour cette adresse : connectez-vous, ou utilisez "
                    "« Mot de passe oublié »."
                ]
            }
        )
    if terms_version != settings.TERMS_VERSION:
        raise ValidationError(
            {
                "accept_terms": [
                    "Acceptez les conditions d'utilisation en vigueur pour vous inscrire."
                ]
            }
        )
    now = clock.now()
    user = User(
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        is_active=False,
        terms_version=terms_version,
        terms_accepted_at=now,
    )
    user.full_clean(exclude=["password"])
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    company = Organisation.objects.filter(siret=siret).first()
    if company is not None and company.kind != OrganisationKind.ENTREPRISE:
        raise ValidationError(
            {"siret": ["Ce SIRET est celui d'une organisation publique, pas d'une entreprise."]}
        )
    created = company is None
    if created:
        name = (company_name or "").strip()
        if not name:
            raise ValidationError({"company_name": ["Indiquez la raison sociale."]})
        company = Organisation(
            name=name, kind=OrganisationKind.ENTREPRISE, siren=siret[:9], siret=siret
        )
        company.full_clean()
        company.save()
        journal.record(
            action="organisation.created",
            actor=None,
            organisation=company,
            object_type="organisation",
            object_id=company.pk,
            payload={"name": company.name, "kind": company.kind, "siren": company.siren},
        )
    user.save()
    membership = Membership.objects.create(user=user, organisation=company, is_active=created)
    roles = [Role.ENTREPRISE, Role.REFERENT] if created else [Role.ENTREPRISE]
    _replace_roles(membership, roles)
    journal.record(
        action="company.user_registered",
        actor=user,
        organisation=company,
        object_type="membership",
        object_id=membership.pk,
        payload={
            "user": email,
            "siret": siret,
            "new_company": created,
            "approved": created,
            "terms_version": terms_version,
        },
    )
    _send_signup_confirmation(user, company)
    return membership


def _send_signup_confirmation(user: User, company: Organisation | None) -> None:
    link = settings.SITE_URL.rstrip("/") + reverse(
        "signup_confirm", args=[signup_tokens.make_token(user)]
    )
    _send_on_commit(
        f"Confirmez votre adresse sur {settings.PLATFORM_IDENTITY['name']}",
        render_to_string(
            "registration/signup_confirm_email.txt",
            {"user": user, "company": company, "link": link, "hours": signup_tokens.valid_hours()},
        ),
        [user.email],
    )


def _send_on_commit(subject: str, body: str, recipients: list[str]) -> None:
    def send():
        for address in recipients:
            try:
                send_mail(subject, body, None, [address])
            except Exception:
                logger.exception("E-mail to %s failed", address)

    transaction.on_commit(send)


@transaction.atomic
def confirm_signup(*, token: str) -> User:
    """The address is confirmed: the account works from now on. A pending company membership
    is then announced to the company's référents. A link used twice is harmless."""
    user = signup_tokens.read_token(token)  # ValidationError when expired or forged
    if user.email_confirmed_at is not None:
        return user
    user.email_confirmed_at = clock.now()
    user.is_active = True
    user.save(update_fields=["email_confirmed_at", "is_active"])
    journal.record(
        action="account.email_confirmed",
        actor=user,
        object_type="user",
        object_id=user.pk,
        payload={"email": user.email},
    )
    for membership in Membership.objects.filter(user=user, is_active=False).select_related(
        "organisation"
    ):
        _announce_join_request(user, membership.organisation)
    return user


def resend_signup_confirmation(*, email: str) -> None:
    """A new link for an account still waiting for its confirmation; nothing otherwise (the
    answer shown is the same, so that nobody learns which addresses have accounts)."""
    user = User.objects.filter(
        email__iexact=(email or "").strip(), email_confirmed_at__isnull=True, is_active=False
    ).first()
    if user is None or not user.terms_version:
        return
    _send_signup_confirmation(user, Organisation.objects.filter(memberships__user=user).first())


def _announce_join_request(user: User, company: Organisation) -> None:
    tell_referents(
        company,
        subject=f"Demande de rattachement à {company.name}",
        text=f"{user.get_full_name() or user.email} ({user.email}) demande à rejoindre "
        f"{company.name} sur e-mégalis. Si vous le connaissez, activez son compte ici :",
    )


def tell_referents(organisation: Organisation, *, subject: str, text: str) -> None:
    """E-mails the organisation's active référents once the transaction commits, with the
    link to its users page (where they grant roles and (de)activate accounts) after `text`."""
    link = settings.SITE_URL.rstrip("/") + reverse("organisation_members", args=[organisation.pk])
    referents = active_holders(organisation, Role.REFERENT).values_list("email", flat=True)
    _send_on_commit(subject, f"{text}\n{link}\n", list(referents))
