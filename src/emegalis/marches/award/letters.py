"""The award letters as PDFs: rejection (with the reasons and the standstill end date),
award (intent to award), infructueux, and notification of the contract.

The rejection letter gives what CCP R2181-3 requires: the reasons for the rejection and,
for an offer that was ranked, the characteristics and relative advantages of the offer
retained (name of the winner, amount, marks per criterion), and the standstill end date."""

from datetime import date
from decimal import Decimal

from emegalis.core import clock
from emegalis.core.pdf import DocumentBuilder, format_date, format_euros, format_number
from emegalis.marches.award.models import AwardDecision, Contract


def mark(value) -> str:
    """« 17,60 » — a mark or total on 20 with two decimals (stored with three)."""
    if value in (None, ""):
        return "—"
    return format_number(Decimal(str(value)))


def _head(decision: AwardDecision, title: str) -> DocumentBuilder:
    consultation = decision.consultation
    doc = DocumentBuilder(title=f"{title} — {consultation.reference}", subject=consultation.title)
    doc.lines([consultation.organisation.name, consultation.contact_name])
    doc.paragraph(f"Le {format_date(clock.today())}", style="right")
    doc.title_line(title)
    doc.paragraph(f"{consultation.reference} — {consultation.title}", bold_label="Consultation :")
    if decision.lot is not None:
        doc.paragraph(f"Lot {decision.lot.number} — {decision.lot.title}", bold_label="Lot :")
    doc.paragraph(consultation.get_procedure_display(), bold_label="Procédure :")
    return doc


def _recipient(doc: DocumentBuilder, row: dict) -> None:
    siret = f" (SIRET {row['siret']})" if row.get("siret") else ""
    doc.paragraph(f"{row.get('company', '')}{siret}", bold_label="Destinataire :")


def _winner_row(decision: AwardDecision) -> dict:
    return next((r for r in decision.ranking if r["pli"] == decision.winner_id), {})


def _marks_table(doc: DocumentBuilder, rows: list[tuple[str, dict]]) -> None:
    """Marks per criterion of each named offer (criteria in the order of the first row)."""
    labels = list(rows[0][1].get("scores", {}).keys())
    header = ["Offre", *labels, "Note /20", "Rang"]
    table = [
        [
            name,
            *(mark(r.get("scores", {}).get(lbl)) for lbl in labels),
            mark(r.get("total")),
            str(r.get("rank") or "—"),
        ]
        for name, r in rows
    ]
    doc.table(table, header=header, align_right_columns=range(1, len(header)))


def _standstill(doc: DocumentBuilder, ends_on: date) -> None:
    doc.paragraph(
        f"Conformément à l'article R2182-1 du code de la commande publique, le marché ne sera "
        f"pas signé avant la fin du délai de suspension de 11 jours courant à compter de "
        f"l'envoi électronique de la présente lettre, soit le {format_date(ends_on)}.",
        bold_label="Délai de suspension :",
    )
    doc.paragraph(f"Fin du délai de suspension : {ends_on:%d/%m/%Y}")


def _signature(doc: DocumentBuilder, decision: AwardDecision) -> None:
    doc.spacer()
    doc.paragraph(f"Pour {decision.consultation.organisation.name}, le pouvoir adjudicateur.")
    doc.paragraph(
        "Lettre envoyée par la messagerie sécurisée de la plateforme e-mégalis ; sa première "
        "lecture est enregistrée (accusé de lecture).",
        style="small",
    )


def rejection_letter(decision: AwardDecision, row: dict, ends_on: date) -> bytes:
    """To a bidder whose offer was not retained (row: its line of the frozen ranking)."""
    doc = _head(decision, "Lettre de rejet de votre offre")
    _recipient(doc, row)
    doc.spacer(3)
    doc.paragraph("Nous avons le regret de vous informer que votre offre n'a pas été retenue.")
    winner = _winner_row(decision)
    if row.get("excluded"):
        doc.heading("Motif du rejet")
        doc.paragraph(f"Votre offre a été écartée sans être classée. {row.get('reason', '')}")
    elif row.get("rank"):
        doc.heading("Motif du rejet")
        doc.paragraph(
            f"Au regard des critères d'attribution, votre offre est classée au rang "
            f"{row['rank']} avec une note de {mark(row.get('total'))} sur 20, et n'est donc pas "
            "l'offre économiquement la plus avantageuse."
        )
    else:
        doc.heading("Motif du rejet")
        doc.paragraph("Votre offre n'a pas été classée.")
    doc.heading("Offre retenue : caractéristiques et avantages relatifs")
    doc.paragraph(winner.get("company", ""), bold_label="Attributaire :")
    doc.paragraph(format_euros(decision.amount, "HT"), bold_label="Montant de l'offre retenue :")
    doc.paragraph(mark(winner.get("total")) + " sur 20", bold_label="Note de l'offre retenue :")
    if row.get("rank") and not row.get("excluded"):
        _marks_table(doc, [("Offre retenue", winner), ("Votre offre", row)])
    elif winner:
        _marks_table(doc, [("Offre retenue", winner)])
    if decision.reason:
        doc.paragraph(decision.reason, bold_label="Motivation du choix :")
    _standstill(doc, ends_on)
    doc.paragraph(
        "Vous pouvez, pendant ce délai, former un référé précontractuel devant le tribunal "
        "administratif (articles L551-1 et suivants du code de justice administrative).",
        style="small",
    )
    _signature(doc, decision)
    return doc.build()


def award_letter(decision: AwardDecision, ends_on: date) -> bytes:
    """To the winner: intent to award, standstill, documents to provide before signature."""
    doc = _head(decision, "Lettre d'attribution")
    row = _winner_row(decision)
    _recipient(doc, row)
    doc.spacer(3)
    doc.paragraph(
        "Nous avons le plaisir de vous informer que nous envisageons de vous attribuer le "
        f"marché, pour un montant de {format_euros(decision.amount, 'HT')}. Votre offre est "
        f"classée au premier rang avec une note de {mark(row.get('total'))} sur 20."
    )
    _standstill(doc, ends_on)
    doc.paragraph(
        "Le marché ne vous sera notifié qu'après la fin de ce délai. Cette lettre ne vaut pas "
        "notification et ne vous autorise pas à commencer l'exécution."
    )
    doc.heading("Documents à fournir avant la signature")
    doc.lines(
        [
            "- les attestations fiscales et sociales prouvant que vous êtes à jour de vos "
            "obligations (articles R2143-7 et suivants du code de la commande publique) ;",
            "- l'attestation de vigilance de l'URSSAF de moins de six mois ;",
            "- un extrait Kbis ou équivalent de moins de trois mois.",
        ]
    )
    _signature(doc, decision)
    return doc.build()


def infructueux_letter(decision: AwardDecision, row: dict) -> bytes:
    """To every bidder of a lot declared infructueux."""
    doc = _head(decision, "Déclaration d'infructuosité")
    doc.paragraph(row.get("company", ""), bold_label="Destinataire :")
    doc.spacer(3)
    doc.paragraph(
        "Nous vous informons que la procédure a été déclarée infructueuse pour ce lot : "
        "aucun marché n'est attribué à l'issue de cette consultation."
    )
    doc.paragraph(decision.reason, bold_label="Motif :")
    if row.get("excluded"):
        doc.paragraph(row.get("reason", ""), bold_label="Votre offre :")
    _signature(doc, decision)
    return doc.build()


def notification_letter(contract: Contract) -> bytes:
    """The notification of the contract to its holder."""
    decision = contract.decision
    doc = _head(decision, f"Notification du marché n° {contract.number}")
    doc.paragraph(
        f"{contract.holder.name} (SIRET {contract.holder.siret})", bold_label="Titulaire :"
    )
    doc.spacer(3)
    doc.paragraph(
        f"Nous vous notifions le marché n° {contract.number}, conclu le "
        f"{format_date(contract.notified_on)}. La réception de la présente notification fait "
        "courir les délais d'exécution."
    )
    doc.table(
        [
            ["Numéro", contract.number],
            ["Objet", contract.object[:80] + ("…" if len(contract.object) > 80 else "")],
            ["Code CPV", contract.cpv],
            ["Montant", format_euros(contract.amount, "HT")],
            ["Durée", f"{contract.duration_months} mois"],
            ["Forme du prix", contract.forme_prix],
            ["Types de prix", ", ".join(contract.types_prix)],
            ["CCAG", contract.ccag],
            ["Date de notification", f"{contract.notified_on:%d/%m/%Y}"],
        ],
        col_widths_mm=(45, 125),
    )
    _signature(doc, decision)
    return doc.build()
