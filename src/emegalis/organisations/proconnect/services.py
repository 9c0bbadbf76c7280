"""Who a ProConnect sign-in is: the account it links to, or the one it creates.

Rules (issue 17, docs/site.md « ProConnect »):
- an identity already linked (same issuer and `sub`) is that account;
- else the verified e-mail links to the existing account of that address, once;
- else, when the `siret` claim is a public organisation of the platform, a new account is
  created in it, with no role: its référents are told, and grant the roles themselves;
- roles are never read from the claims; company accounts keep their password and are refused
  here; so are deactivated accounts and unknown SIRETs, each with what to do.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from emegalis.core import clock, journal

from ..models import (
    Membership,
    Organisation,
    OrganisationKind,
    ProConnectIdentity,
    User,
)
from ..services import tell_referents

logger = logging.getLogger(__name__)


class SignInRefused(Exception):
    """The identity is genuine but opens no account here; `reason` names the page to show."""

    def __init__(self, reason: str, **context):
        super().__init__(reason)
        self.reason = reason
        self.context = context


@dataclass(frozen=True)
class SignIn:
    user: User
    identity: ProConnectIdentity
    organisation: Organisation | None  # the membership the `siret` claim points to
    strong: bool  # the acr/amr counts as the second factor (settings.PROCONNECT_2FA_*)
    created: bool


def _amr(id_claims: dict) -> list[str]:
    """The authentication methods, as a list (a lone string is allowed by the spec)."""
    amr = id_claims.get("amr") or []
    return [amr] if isinstance(amr, str) else list(amr)


def is_strong(id_claims: dict) -> bool:
    return id_claims.get("acr") in settings.PROCONNECT_2FA_ACR or bool(
        set(_amr(id_claims)) & settings.PROCONNECT_2FA_AMR
    )


def _siret_of(userinfo: dict) -> str:
    return "".join(str(userinfo.get("siret") or "").split())


def _is_company_account(user: User) -> bool:
    return user.memberships.filter(organisation__kind=OrganisationKind.ENTREPRISE).exists()


def _designated(organisations: list[Organisation], siret: str) -> Organisation | None:
    """The organisation a SIRET designates among these: the one registered with it, else the
    only one of its SIREN (a commune's services have their own establishment numbers)."""
    if len(siret) != 14 or not siret.isdigit():
        return None
    exact = [o for o in organisations if o.siret == siret]
    if exact:
        return exact[0]
    same_siren = [o for o in organisations if o.siren == siret[:9]]
    return same_siren[0] if len(same_siren) == 1 else None


def organisation_for_siret(siret: str) -> Organisation | None:
    candidates = Organisation.objects.filter(Q(siret=siret) | Q(siren=siret[:9]))
    return _designated(list(candidates[:10]), siret)


@transaction.atomic
def sign_in(*, issuer: str, id_claims: dict, userinfo: dict) -> SignIn:
    sub = id_claims["sub"]
    siret = _siret_of(userinfo)
    identity = (
        ProConnectIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=issuer, sub=sub)
        .first()
    )
    created = False
    if identity is None:
        user, created = _account_for_new_identity(issuer, userinfo, siret)
        identity = ProConnectIdentity.objects.create(
            user=user,
            name="ProConnect",
            confirmed=True,
            issuer=issuer,
            sub=sub,
            linked_at=clock.now(),
        )
        journal.record(
            action="account.proconnect_linked",
            actor=user,
            object_type="user",
            object_id=user.pk,
            payload={"email": user.email, "siret": siret, "new_account": created},
        )
    user = identity.user
    if _is_company_account(user):
        raise SignInRefused("company_account", email=user.email)
    if not user.is_active:
        raise SignInRefused("inactive", email=user.email)
    identity.last_sign_in_at = clock.now()
    identity.last_acr = str(id_claims.get("acr") or "")[:255]
    identity.last_amr = _amr(id_claims)
    identity.last_siret = siret[:14]
    identity.save(update_fields=["last_sign_in_at", "last_acr", "last_amr", "last_siret"])
    return SignIn(
        user=user,
        identity=identity,
        organisation=_membership_organisation(user, siret),
        strong=is_strong(id_claims),
        created=created,
    )


def _account_for_new_identity(issuer: str, userinfo: dict, siret: str) -> tuple[User, bool]:
    if userinfo.get("email_verified") is False:
        raise SignInRefused("no_email")
    email = User.objects.normalize_email(str(userinfo.get("email") or "")).strip().lower()
    if not email:
        raise SignInRefused("no_email")
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        if _is_company_account(existing):
            raise SignInRefused("company_account", email=email)
        if ProConnectIdentity.objects.filter(user=existing, issuer=issuer).exists():
            # Another ProConnect identity holds this account already: not taken over.
            raise SignInRefused("already_linked", email=email)
        return existing, False
    organisation = organisation_for_siret(siret)
    if organisation is None:
        logger.info("ProConnect sign-in refused: SIRET %r unknown", siret)
        raise SignInRefused("unknown_siret", email=email, siret=siret)
    if organisation.kind == OrganisationKind.ENTREPRISE:
        raise SignInRefused("company_siret", email=email, siret=siret)
    user = User(
        email=email,
        first_name=str(userinfo.get("given_name") or "")[:150],
        last_name=str(userinfo.get("usual_name") or userinfo.get("family_name") or "")[:150],
        email_confirmed_at=clock.now(),
    )
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    membership = Membership.objects.create(user=user, organisation=organisation, is_active=True)
    journal.record(
        action="account.created_by_proconnect",
        actor=user,
        organisation=organisation,
        object_type="membership",
        object_id=membership.pk,
        payload={"email": email, "siret": siret},
    )
    _tell_referents(user, organisation)
    return user, True


def _membership_organisation(user: User, siret: str) -> Organisation | None:
    memberships = Membership.objects.filter(user=user, is_active=True).select_related(
        "organisation"
    )
    return _designated([m.organisation for m in memberships], siret)


def _tell_referents(user: User, organisation: Organisation) -> None:
    tell_referents(
        organisation,
        subject=f"Nouvel agent de {organisation.name} sur {settings.PLATFORM_IDENTITY['name']}",
        text=f"{user.get_full_name() or user.email} ({user.email}) s'est connecté(e) avec "
        f"ProConnect au titre de {organisation.name} : son compte a été créé, sans aucun rôle.\n"
        "Si cette personne travaille bien pour vous, attribuez-lui ses rôles ; sinon, "
        "désactivez son compte :",
    )


@transaction.atomic
def unlink(*, user: User) -> int:
    """The account forgets its ProConnect identities; the next ProConnect sign-in links again
    by the verified e-mail. Returns how many links were removed."""
    identities = list(ProConnectIdentity.objects.filter(user=user))
    for identity in identities:
        journal.record(
            action="account.proconnect_unlinked",
            actor=user,
            object_type="user",
            object_id=user.pk,
            payload={"sub": identity.sub, "issuer": identity.issuer},
        )
        identity.delete()
    return len(identities)
