"""Test data builders. Every identifier they produce passes the real validators."""

import itertools
from datetime import date

import factory
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from emegalis.adhesions.models import (
    Convention,
    ConventionKind,
    ConventionService,
    ConventionStatus,
    ConventionStatusChange,
)
from emegalis.organisations.identifiers import siren_from_prefix, siret_from_siren
from emegalis.organisations.models import Membership, Organisation, OrganisationKind, User

_siren_seq = itertools.count(10_000_000)
PASSWORD = "mot-de-passe-de-test-42"


def next_siren() -> str:
    return siren_from_prefix(str(next(_siren_seq)))


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Commune de Test {n}")
    kind = OrganisationKind.COMMUNE
    siren = factory.LazyFunction(next_siren)
    siret = factory.LazyAttribute(lambda o: siret_from_siren(o.siren))
    insee_nature = "31"
    departement = "056"
    arrondissement = 1


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agent{n}@example.test")
    first_name = "Agent"
    last_name = factory.Sequence(lambda n: f"Test{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def token_for(device: TOTPDevice, drift: int = 0) -> str:
    """The code the user's application shows (drift 1: the next 30-second step's code)."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{code:0{device.digits}d}"


def make_member(organisation: Organisation, *roles: str, user: User | None = None) -> User:
    """A user attached to the organisation with the given roles."""
    user = user or UserFactory()
    membership, _ = Membership.objects.get_or_create(user=user, organisation=organisation)
    for role in roles:
        membership.roles.get_or_create(role=role)
    if hasattr(user, "_role_cache"):
        del user._role_cache
    return user


_convention_seq = itertools.count(1)


def make_convention(
    organisation: Organisation,
    services: list[str],
    *,
    start: date = date(2025, 1, 1),
    end: date | None = date(2029, 12, 31),
    status: str = ConventionStatus.ADHERENT,
    status_on: date | None = None,
    kind: str = ConventionKind.CHARTE,
) -> Convention:
    convention = Convention.objects.create(
        organisation=organisation,
        kind=kind,
        reference=f"TEST-{next(_convention_seq):05d}",
        start_date=start,
        end_date=end,
        current_status=status,
    )
    ConventionStatusChange.objects.create(
        convention=convention, status=status, effective_on=status_on or start
    )
    for service in services:
        ConventionService.objects.create(convention=convention, service=service)
    return convention


# Commission members' private keys, as their browsers keep them (user pk → key).
MEMBER_KEYS: dict = {}


def give_member_key(user):
    """Make ``user`` a key pair as their browser would, and register its public key."""
    from emegalis.marches.opening import member_side

    MEMBER_KEYS[user.pk] = member_side.create_key(user)
    return user


def make_commission_member(organisation, *extra_roles):
    """A member with the opening-commission role and a registered member key."""
    from emegalis.organisations.roles import Role

    return give_member_key(make_member(organisation, Role.COMMISSION, *extra_roles))


def collect_share(member, consultation_pk: int) -> str:
    """The member opens their share with their key (as their browser does) and confirms it."""
    from emegalis.marches.opening import member_side

    return member_side.collect(member, MEMBER_KEYS[member.pk], consultation_pk)
