"""Demo data of the collaboratif service, through its services: the workspace « Réseau des
acheteurs du Pays de Lorient » of Lorient Agglomération, with the Commune de Lorient's référent,
the agglomération's buyer and Ploemeur's chargée de mission as members, folders, documents
with several versions (a PDF shows its preview in the page), a discussion with a mention and a
linked document, and upcoming events (one monthly)."""

from datetime import timedelta

from django.utils import timezone

from emegalis.collaboratif import services
from emegalis.collaboratif.calendars import services as calendars
from emegalis.collaboratif.discussions import services as discussions
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

    _discussion_and_events(workspace, admin)


def _discussion_and_events(workspace, admin: User) -> None:
    lorient, ploemeur = _user("referent.lorient"), _user("collaboratif.ploemeur")
    ccap = workspace.documents.get(name="CCAP type fournitures.pdf")
    with clock.shifted(timedelta(days=-3)):
        thread = discussions.start_thread(
            actor=admin,
            workspace=workspace,
            title="Groupements 2027 : qui participe ?",
            body=(
                "Bonjour à tous, nous préparons les groupements de commandes de 2027 "
                "(fournitures de bureau, papier, défibrillateurs). Dites-nous ici lesquels "
                "vous intéressent. Le CCAP type relu est en lien."
            ),
            documents=[ccap],
        )
    if lorient is not None:
        discussions.reply(
            actor=lorient,
            thread=thread,
            body="La Commune de Lorient participe aux fournitures de bureau et au papier.",
            mentions=[ploemeur] if ploemeur else [],
        )
    start = timezone.localtime(clock.now()).replace(
        hour=14, minute=0, second=0, microsecond=0
    ) + timedelta(days=10)
    attendees = [u for u in (lorient, ploemeur, _user("acheteur.agglo")) if u is not None]
    calendars.create_event(
        actor=admin,
        workspace=workspace,
        title="Réunion du réseau des acheteurs",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place="Maison de l'agglomération, Lorient",
        description="Groupements 2027, retours d'expérience sur la plateforme.",
        recurrence="MONTHLY",
        occurrences=6,
        attendees=attendees,
    )
    calendars.create_event(
        actor=admin,
        workspace=workspace,
        title="Atelier en ligne : les clauses environnementales",
        starts_at=start + timedelta(days=7, hours=-4),
        ends_at=start + timedelta(days=7, hours=-3),
        video_url="https://visio.e-megalis.bzh/atelier-clauses",
        attendees=attendees,
    )
