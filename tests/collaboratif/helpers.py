"""Builders for the collaboratif tests: organisations with the service open, their agents, a
workspace, an app password."""

from dataclasses import dataclass

from emegalis.collaboratif import services
from emegalis.core.services_catalog import Service
from emegalis.organisations import services as account_services
from emegalis.organisations.models import Organisation, User
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_convention, make_member


@dataclass
class Side:
    organisation: Organisation
    agent: User  # membre d'espace collaboratif


def side(*services_open: str) -> Side:
    organisation = OrganisationFactory()
    make_convention(organisation, list(services_open) or [Service.COLLABORATIF])
    return Side(organisation, make_member(organisation, Role.MEMBRE_COLLABORATIF))


def workspace_of(owner: Side, name: str = "Réseau des acheteurs"):
    return services.create_workspace(actor=owner.agent, organisation=owner.organisation, name=name)


def join(workspace, admin: User, newcomer: Side, role: str = "contributeur"):
    _, secret = services.invite(
        actor=admin, workspace=workspace, email=newcomer.agent.email, role=role
    )
    return services.accept_invitation(
        actor=newcomer.agent, organisation=newcomer.organisation, secret=secret
    )


def app_password(user: User) -> str:
    return account_services.create_app_password(user=user, name="poste")[1]
