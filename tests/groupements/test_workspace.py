"""A groupement gets its workspace in the outils collaboratifs once constituted, with the
référents and coordinateurs of every member whose convention opens that service; it follows
withdrawals and is archived when the groupement is dissolved."""

import pytest

from emegalis.collaboratif.models import Workspace
from emegalis.core.services_catalog import Service
from emegalis.groupements import services

from .helpers import constituted, side

pytestmark = pytest.mark.django_db


def test_the_groupement_workspace_follows_its_members_and_its_end():
    agglo = side(Service.GROUPEMENTS, Service.COLLABORATIF)
    lorient = side(Service.GROUPEMENTS, Service.COLLABORATIF)
    lanester = side(Service.GROUPEMENTS)  # no outils collaboratifs in its convention
    groupement = constituted(agglo, lorient, lanester, kind="permanent")
    workspace = Workspace.objects.get(source=f"groupement:{groupement.pk}")
    roles = {m.user: m.role for m in workspace.members.all()}
    assert roles == {
        agglo.coordinator: "administrateur",
        agglo.referent: "administrateur",
        lorient.coordinator: "contributeur",
        lorient.referent: "contributeur",
    }
    assert workspace.organisation == agglo.organisation
    services.remove_member(
        actor=agglo.coordinator, groupement=groupement, organisation=lorient.organisation
    )
    assert set(workspace.members.values_list("user", flat=True)) == {
        agglo.coordinator.pk,
        agglo.referent.pk,
    }
    services.dissolve(actor=agglo.coordinator, groupement=groupement, reason="Fin du besoin")
    workspace.refresh_from_db()
    assert workspace.archived_at is not None
