"""Demo data of the collaboratif service, through its services: the workspace « Réseau des
acheteurs du Pays de Lorient » of Lorient Agglomération, with the Commune de Lorient's référent,
the agglomération's buyer and Ploemeur's chargée de mission as members, folders, and documents
with several versions (a PDF shows its preview in the page)."""

from datetime import timedelta

from emegalis.collaboratif import services
from emegalis.collaboratif.models import Workspace
from emegalis.core import clock
from emegalis.organisations.models import Organisation, User

from .marches import _pdf

WORKSPACE = "Réseau des acheteurs du Pays de Lorient"


def _user(local_part: str) -> User | None:
    return User.objects.filter(email=f"{local_part}@demo.e-megalis.bzh").first()


def _join(workspace, admin: User, user: User, organisation: Organisation, role: str) -> None:
    _, secret = services.invite(actor=admin, workspace=workspace, email=user.email, role=role)
    services.accept_invitation(actor=user, organisation=organisation, secret=secret)


def load(organisations: dict[str, Organisation]) -> None:
    """Idempotent: running it again must not duplicate anything."""
    agglo = organisations.get("agglo")
    admin = _user("referent.agglo")
    if agglo is None or admin is None or Workspace.objects.filter(name=WORKSPACE).exists():
        return
    with clock.shifted(timedelta(days=-20)):
        workspace = services.create_workspace(
            actor=admin,
            organisation=agglo,
            name=WORKSPACE,
            description=(
                "Les acheteurs de l'agglomération et des communes partagent leurs modèles de "
                "pièces, leurs comptes rendus et leur calendrier."
            ),
        )
        for local_part, key, role in (
            ("acheteur.agglo", "agglo", "contributeur"),
            ("referent.lorient", "lorient", "contributeur"),
            ("collaboratif.ploemeur", "ploemeur", "contributeur"),
        ):
            user = _user(local_part)
            if user is not None and key in organisations:
                _join(workspace, admin, user, organisations[key], role)
        models = services.create_folder(
            actor=admin, workspace=workspace, parent=None, name="Modèles de pièces"
        )
        minutes = services.create_folder(
            actor=admin, workspace=workspace, parent=None, name="Comptes rendus"
        )
        buyer = _user("acheteur.agglo") or admin
        services.upload(
            actor=buyer,
            workspace=workspace,
            folder=models,
            name="CCAP type fournitures.pdf",
            content=_pdf("CCAP type — fournitures courantes", ["Version de travail."]),
            comment="Premier jet",
            content_type="application/pdf",
        )
    with clock.shifted(timedelta(days=-6)):
        services.upload(
            actor=admin,
            workspace=workspace,
            folder=models,
            name="CCAP type fournitures.pdf",
            content=_pdf(
                "CCAP type — fournitures courantes",
                ["Version relue : pénalités de retard et clause de réexamen ajoutées."],
            ),
            comment="Pénalités et clause de réexamen",
            content_type="application/pdf",
        )
        services.upload(
            actor=admin,
            workspace=workspace,
            folder=minutes,
            name="Réunion du réseau — septembre.pdf",
            content=_pdf(
                "Réunion du réseau des acheteurs",
                ["Ordre du jour : groupements 2027, retours sur la plateforme."],
            ),
            content_type="application/pdf",
        )
