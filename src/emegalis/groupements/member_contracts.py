"""A member's own marché (« procédure seule »): the salle des marchés' contract it stands for,
so that its essential data are built and checked by the same DECP code, and its notification
letter as a PDF."""

from datetime import date
from decimal import Decimal

from emegalis.core.pdf import DocumentBuilder, format_date, format_euros
from emegalis.marches.award.models import Contract
from emegalis.marches.award.services import place_code

from .models import MemberContract

# The DECP fields a member enters when it signs, as the salle des marchés asks them at its
# notification (marches.award.forms.ContractForm).
DECP_FIELDS = (
    "duration_months",
    "forme_prix",
    "types_prix",
    "ccag",
    "techniques",
    "modalites_execution",
    "considerations_sociales",
    "considerations_environnementales",
    "marche_innovant",
    "attribution_avance",
    "taux_avance",
    "sous_traitance_declaree",
    "type_groupement",
)


def lot_object(contract: MemberContract) -> str:
    decision = contract.allocation.decision
    obj = decision.consultation.object.strip()
    if decision.lot is not None:
        obj = f"{obj} — Lot {decision.lot.number} : {decision.lot.title}"
    return obj[:1000]


def as_contract(
    contract: MemberContract, *, number: str, decp: dict, notified_on: date
) -> Contract:
    """The (unsaved) salle des marchés contract of this member's marché: the member as buyer,
    its share as amount, the DECP fields it entered."""
    decision = contract.allocation.decision
    consultation = decision.consultation
    cpv = ((decision.lot.cpv if decision.lot is not None else "") or consultation.cpv_main).split(
        "-"
    )[0]
    taux = decp.get("taux_avance")
    return Contract(
        decision=decision,
        consultation=consultation,
        buyer=contract.member.organisation,
        holder=decision.winner.company,
        number=number,
        object=lot_object(contract),
        cpv=cpv,
        amount=contract.amount,
        notified_on=notified_on,
        data_published_on=notified_on,
        offers_received=max(1, len(decision.ranking)),
        place_code=place_code(consultation.departement),
        place_code_type="Code département",
        **{
            **{k: decp[k] for k in DECP_FIELDS if k in decp},
            "taux_avance": Decimal(str(taux)) if taux not in (None, "") else None,
        },
    )


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


def notification_letter(
    contract: MemberContract, lines: list[tuple[str, Decimal, Decimal, Decimal]]
) -> bytes:
    """The member's notification of its marché to the holder (lines: designation, quantity,
    awarded unit price, amount of the line)."""
    allocation = contract.allocation
    decision = allocation.decision
    consultation = decision.consultation
    groupement = allocation.lot.survey.groupement
    buyer = contract.member.organisation
    holder = decision.winner.company
    title = f"Notification du marché n° {contract.number}"
    doc = DocumentBuilder(
        title=f"{title} — {buyer.name}", author=buyer.name, subject=consultation.title
    )
    doc.lines([buyer.name])
    doc.paragraph(f"Le {format_date(contract.notified_on)}", style="right")
    doc.title_line(title)
    doc.paragraph(f"{holder.name} (SIRET {holder.siret})", bold_label="Titulaire :")
    doc.paragraph(
        f"{consultation.reference} — {consultation.title}, passée par {groupement.coordinator.name}"
        f", coordonnateur du groupement de commandes « {groupement.object} »",
        bold_label="Consultation :",
    )
    if decision.lot is not None:
        doc.paragraph(f"Lot {decision.lot.number} — {decision.lot.title}", bold_label="Lot :")
    doc.spacer(3)
    doc.paragraph(
        f"Nous vous notifions le marché n° {contract.number}, part de {buyer.name} du marché "
        "attribué par le groupement : la convention constitutive laisse à chaque membre la "
        "signature, la notification et l'exécution de son marché (art. L2113-7 du code de la "
        "commande publique). La réception de la présente notification fait courir les délais "
        "d'exécution."
    )
    doc.table(
        [
            [designation, _quantity(quantity), format_euros(price), format_euros(amount)]
            for designation, quantity, price, amount in lines
        ],
        header=["Article", "Quantité", "Prix unitaire HT", "Montant HT"],
        col_widths_mm=[80, 25, 32, 33],
    )
    decp = contract.decp
    doc.table(
        [
            ["Numéro", contract.number],
            ["Montant", format_euros(contract.amount, "HT")],
            ["Durée", f"{decp.get('duration_months')} mois"],
            ["Forme du prix", decp.get("forme_prix", "")],
            ["Types de prix", ", ".join(decp.get("types_prix", []))],
            ["CCAG", decp.get("ccag", "")],
            ["Date de notification", f"{contract.notified_on:%d/%m/%Y}"],
        ],
        col_widths_mm=(45, 125),
    )
    doc.spacer()
    signer = contract.signed_by.get_full_name() if contract.signed_by else ""
    signed = format_date(contract.signed_at.date()) if contract.signed_at else ""
    doc.paragraph(f"Pour {buyer.name}, marché signé le {signed} par {signer}.")
    doc.paragraph(
        "Lettre envoyée par la messagerie sécurisée de la plateforme e-mégalis ; sa première "
        "lecture est enregistrée (accusé de lecture).",
        style="small",
    )
    return doc.build()
