"""Demo data of the actes service, loaded after the region's organisations and users.

Every demo authority whose convention opens « actes » receives the real 2017 classification.
The Commune de Lorient gets a few acts in various states, exchanged with our prefecture
counterpart through the real codec and services — the wire between the two is simulated here
(archives handed over in-process) so that loading needs no running server:
- DEMO2026_001 acknowledged and published;
- DEMO2026_002 acknowledged, then a demande de pièces complémentaires from the prefecture;
- DEMO2026_003 refused by an AnomalieActe (erreur);
- DEMO2026_004 created through the API, waiting for an agent's confirmation (17).
Idempotent: acts already there are left alone.
"""

import io
from datetime import date

from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.actes import documents, lifecycle, outgoing
from emegalis.actes import protocol as p
from emegalis.actes.acts import services as acts_services
from emegalis.actes.models import Transaction
from emegalis.actes.returns import services as returns_services
from emegalis.actes.transmission import services as transmission_services
from emegalis.adhesions.access import may_use
from emegalis.core import clock
from emegalis.core.pdf import DocumentBuilder
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import Organisation, User
from emegalis.prefecture import services as prefecture
from emegalis.prefecture.models import OutgoingReturn, ReceivedAct

S = p.ActStatus
ON = date(2026, 6, 1)


def _pdf(title: str, body: str) -> SimpleUploadedFile:
    doc = DocumentBuilder(title=title)
    doc.title_line(title)
    doc.paragraph(body)
    doc.paragraph("Document de démonstration — données fictives.", style="small")
    return SimpleUploadedFile(f"{title[:40]}.pdf", doc.build(), content_type="application/pdf")


def _deliver_returns() -> None:
    """Hand the counterpart's pending returns to the platform (the simulated wire)."""
    for out in OutgoingReturn.objects.filter(sent_at__isnull=True).order_by("pk"):
        with out.archive.open("rb") as fh:
            returns_services.receive_return_archive(source=fh, channel="local", name=out.name)
        OutgoingReturn.objects.filter(pk=out.pk).update(sent_at=clock.now())


def _transmit(acte: Transaction) -> None:
    """17 → 1 → 2 → 3 as the send task would, then the counterpart reads the archive."""
    lifecycle.set_status(acte, S.POSTE, message="Envoi confirmé (démo)")
    env = transmission_services.build_envelope(tx=acte)
    lifecycle.set_status(acte, S.EN_ATTENTE_TRANSMISSION, message="Archive construite (démo)")
    env.post_started_at = env.sent_at = acte.sent_at = clock.now()
    env.http_status = 200
    env.save()
    acte.save(update_fields=["sent_at"])
    lifecycle.set_status(acte, S.TRANSMIS, message="Archive remise (démo)")
    with env.archive.open("rb") as fh:
        prefecture.receive_archive(source=fh, name=env.archive_name)
    _deliver_returns()


def _create(org, agent, numero, objet, matieres, decision: date) -> Transaction:
    return acts_services.create_acte(
        actor=agent,
        organisation=org,
        data=acts_services.ActeInput(
            nature=1,
            numero_interne=numero,
            decision_date=decision,
            objet=objet,
            matieres=matieres,
            document=documents.Upload.of(_pdf(f"Délibération {numero}", objet), "99_DE"),
        ),
        confirm=False,
    )


def load(organisations: dict[str, Organisation]) -> None:
    """Idempotent: running it again must not duplicate anything."""
    xml = prefecture.classification_bytes()
    for org in organisations.values():
        if org.departement and org.insee_nature and may_use(org, Service.ACTES, ON):
            acts_services.import_classification(organisation=org, xml=xml)

    lorient = organisations.get("lorient")
    agent = User.objects.filter(email="referent.lorient@demo.e-megalis.bzh").first()
    pref_org = organisations.get("prefecture")
    pref_agent = User.objects.filter(email="prefecture@demo.e-megalis.bzh").first()
    if lorient is None or agent is None:
        return
    if Transaction.objects.filter(organisation=lorient, numero_interne="DEMO2026_001").exists():
        return

    acte = _create(
        lorient,
        agent,
        "DEMO2026_001",
        "Approbation du compte rendu de la séance du conseil municipal du 12 janvier 2026",
        [5, 2],
        date(2026, 1, 12),
    )
    _transmit(acte)
    acte.refresh_from_db()
    if acte.status == S.ACQUITTEMENT_RECU:
        acts_services.publish_acte(actor=agent, acte=acte, published_on=date(2026, 1, 19))

    acte2 = _create(
        lorient,
        agent,
        "DEMO2026_002",
        "Acquisition d'une parcelle rue de Belle-Île pour la future médiathèque",
        [3, 1],
        date(2026, 2, 2),
    )
    _transmit(acte2)
    received = ReceivedAct.objects.filter(id_acte=Transaction.objects.get(pk=acte2.pk).id_acte)
    if pref_org is not None and pref_agent is not None and received.exists():
        prefecture.send_letter(
            actor=pref_agent,
            prefecture=pref_org,
            act=received.get(),
            code="3-1",
            details="L'avis du service des domaines sur la valeur de la parcelle.",
            document=io.BytesIO(
                _pdf("Demande de pièces", "Merci de nous adresser l'avis des domaines.").read()
            ),
            document_name="demande-de-pieces.pdf",
        )
        _deliver_returns()

    acte3 = _create(
        lorient,
        agent,
        "DEMO2026_003",
        "Création d'un emploi permanent d'agent d'accueil",
        [4, 1],
        date(2026, 2, 16),
    )
    lifecycle.set_status(acte3, S.POSTE, message="Envoi confirmé (démo)")
    env = transmission_services.build_envelope(tx=acte3)
    lifecycle.set_status(acte3, S.EN_ATTENTE_TRANSMISSION, message="Archive construite (démo)")
    env.post_started_at = env.sent_at = clock.now()
    env.save()
    lifecycle.set_status(acte3, S.TRANSMIS, message="Archive remise (démo)")
    message = p.parse_acte(p.build_acte(outgoing.acte_message(acte3)))
    echo = p.DonneesActe(**{k: v for k, v in vars(message).items() if k != "annexes_declarees"})
    prefecture.queue_return(
        departement=lorient.departement,
        siren=lorient.siren,
        message_name=outgoing.transaction_stem(acte3).message_name("1-3"),
        message=p.AnomalieActe(
            date=date(2026, 2, 17),
            nature="005",
            detail="PREF-VERIF-02 (démonstration)",
            acte_recu=echo,
            classification_date_en_cours=date(2017, 12, 8),
        ),
    )
    _deliver_returns()

    _create(
        lorient,
        agent,
        "DEMO2026_004",
        "Tarifs municipaux de la saison culturelle 2026-2027",
        [7, 1],
        date(2026, 3, 9),
    )
