"""Set-up shared by the sealed-bid benches: an authority whose convention opens « marchés »,
its buyer and a 2-of-3 opening commission whose shares are all collected, a published
consultation, and company accounts. Runs inside a configured Django process."""

from datetime import date, timedelta

PASSWORD = "banc-d-essai-2026"  # noqa: S105 - throw-away database


def organisation(prefix: str, name: str, kind: str, **extra):
    from emegalis.organisations.identifiers import siren_from_prefix, siret_from_siren
    from emegalis.organisations.models import Organisation

    siren = siren_from_prefix(prefix)
    return Organisation.objects.create(
        siren=siren, name=name, kind=kind, siret=siret_from_siren(siren), **extra
    )


def member(email: str, role: str, org):
    from emegalis.organisations.models import Membership, User

    user = User.objects.create_user(email=email, password=PASSWORD)
    Membership.objects.create(user=user, organisation=org).roles.create(role=role)
    return user


def sealed_consultation(
    *,
    prefix: str,
    name: str,
    reference: str,
    title: str,
    text: str,
    domain: str,
    shares: list[str] | None = None,
):
    """A published consultation of a new commune, with its commission's shares collected
    (their words appended to ``shares`` if given: tests open the plis with them)."""
    from django.core.files.base import ContentFile

    from emegalis.adhesions.models import (
        Convention,
        ConventionService,
        ConventionStatus,
        ConventionStatusChange,
    )
    from emegalis.core import clock
    from emegalis.marches.consultations import dce
    from emegalis.marches.consultations import services as consultations_services
    from emegalis.marches.opening import member_side
    from emegalis.marches.opening import services as opening_services
    from emegalis.organisations.roles import Role

    commune = organisation(prefix, name, "commune", departement="056")
    convention = Convention.objects.create(
        organisation=commune,
        kind="charte",
        reference=reference,
        start_date=date(2020, 1, 1),
        current_status=ConventionStatus.ADHERENT,
    )
    ConventionStatusChange.objects.create(
        convention=convention, status=ConventionStatus.ADHERENT, effective_on=date(2020, 1, 1)
    )
    ConventionService.objects.create(convention=convention, service="marches")
    buyer = member(f"acheteur@{domain}", Role.ACHETEUR, commune)
    members = [member(f"commission{i}@{domain}", Role.COMMISSION, commune) for i in (1, 2, 3)]
    keys = {m.pk: member_side.create_key(m) for m in members}  # as their browsers do
    now = clock.now()
    consultation = consultations_services.create_consultation(
        actor=buyer,
        organisation=commune,
        reference=reference,
        title=title,
        object=text,
        procedure="mapa",
        nature="services",
        cpv_main="79000000-4",
        questions_deadline=now + timedelta(days=20),
        bids_deadline=now + timedelta(days=30),
    )
    rc = ContentFile(b"%PDF-1.4 RC")
    rc.name = "RC.pdf"
    dce.add_dce_file(actor=buyer, consultation=consultation, uploaded_file=rc)
    # The commission is named before publication (publish requires it).
    opening_services.create_opening_commission(
        actor=buyer, consultation=consultation, members=members, threshold=2
    )
    for m in members:
        words = member_side.collect(m, keys[m.pk], consultation.pk)
        if shares is not None:
            shares.append(words)
    consultations_services.publish(actor=buyer, consultation=consultation)
    consultation.refresh_from_db()
    return consultation
