"""Sample @CTES messages, one of every type, shared by the codec tests."""

from datetime import date
from pathlib import Path

import pytest

from emegalis.actes import protocol as p

FIXTURES = Path(__file__).parent / "fixtures"
CLASSIFICATION_2017 = FIXTURES / "classification-exemple-2017-12-08.xml"

DEP, SIREN = "034", "000000000"
DECISION = date(2024, 12, 9)
NUMERO = "20241209_MR02"
STEM = p.TransactionStem(DEP, SIREN, DECISION, NUMERO, 1)
ID_ACTE = "034-000000000-20241209-20241209_MR02-DE"


def fichier(code: str, index: int, typologie: str | None = "99_DE", ext: str = "pdf"):
    return p.FichierSigne(nom_fichier=STEM.document_name(code, index, ext, typologie))


def make_acte(**overrides) -> p.Acte:
    values = dict(
        date_decision=DECISION,
        numero_interne=NUMERO,
        code_nature=1,
        matieres=(1, 3, 4),
        objet="Délibération portant création d'un marché « bio » - test n° 2 & suivants",
        classification_date=date(2017, 12, 8),
        document=fichier("1-1", 1),
        annexes=(fichier("1-1", 2, "21_DE"), fichier("1-1", 3, "99_SE", "xml")),
    )
    values.update(overrides)
    return p.Acte(**values)


def donnees(acte: p.Acte) -> p.DonneesActe:
    fields = {k: v for k, v in vars(acte).items() if k != "annexes_declarees"}
    return p.DonneesActe(**fields)


def classification() -> p.Classification:
    return p.Classification(
        date_classification=date(2017, 12, 8),
        natures=(
            p.NatureActe(
                code=1,
                libelle="Délibérations",
                type_abrege="DE",
                typologies=(
                    p.TypePJ(code="99_DE", libelle="Délibération"),
                    p.TypePJ(code="21_DE", libelle="Annexe"),
                ),
            ),
        ),
        matieres=(
            p.Matiere(
                code=1,
                libelle="Commande publique",
                niveau=1,
                enfants=(
                    p.Matiere(
                        code=3,
                        libelle="Marchés publics",
                        niveau=2,
                        enfants=(p.Matiere(code=4, libelle="Avenants", niveau=3),),
                    ),
                ),
            ),
        ),
    )


def all_messages() -> dict[str, p.Message]:
    acte = make_acte()
    courrier = dict(id_acte=ID_ACTE, date_courrier_pref=date(2025, 1, 6))
    return {
        "1-1": acte,
        "1-2": p.ARActe(
            id_acte=ID_ACTE,
            date_reception=date(2024, 12, 10),
            acte_recu=donnees(acte),
            classification_date_en_cours=date(2017, 12, 8),
        ),
        "1-3": p.AnomalieActe(
            date=date(2024, 12, 10),
            nature="042",
            detail="Classification inconnue",
            acte_recu=donnees(acte),
            classification_date_en_cours=date(2017, 12, 8),
        ),
        "2-1": p.CourrierSimple(**courrier, document=fichier("2-1", 1, None)),
        "2-2": p.ReponseCourrierSimple(**courrier, document=fichier("2-2", 1, "99_DE")),
        "3-1": p.DemandePieceComplementaire(
            **courrier,
            description_pieces="Le rapport de la commission d'appel d'offres.",
            document=fichier("3-1", 1, None),
        ),
        "3-2": p.ARDemandePieceComplementaire(**courrier),
        "3-3": p.RefusPieceComplementaire(**courrier, document=fichier("3-3", 1)),
        "3-4": p.PieceComplementaire(
            **courrier, documents=(fichier("3-4", 1), fichier("3-4", 2, "11_RA"))
        ),
        "3-5": p.ARPieceComplementaire(**courrier, date_reception=date(2025, 1, 8)),
        "4-1": p.LettreObservations(
            **courrier, motif="Incompétence de l'auteur.", document=fichier("4-1", 1, None)
        ),
        "4-2": p.ARLettreObservations(**courrier),
        "4-3": p.RejetLettreObservations(**courrier, document=fichier("4-3", 1)),
        "4-4": p.ReponseLettreObservations(**courrier, document=fichier("4-4", 1)),
        "4-5": p.ARReponseRejetLettreObservations(**courrier, date_reception=date(2025, 1, 9)),
        "5-1": p.DefereTA(
            id_acte=ID_ACTE,
            date_depot=date(2025, 2, 1),
            nature_illegalite="Vice de procédure",
            pieces_jointes=(fichier("5-1", 1, None), fichier("5-1", 2, None)),
        ),
        "6-1": p.Annulation(id_acte=ID_ACTE),
        "6-2": p.ARAnnulation(id_acte=ID_ACTE, date_reception=date(2024, 12, 11)),
        "7-1": p.DemandeClassification(date_classification=date(2017, 12, 8)),
        "7-2": p.RetourClassification(classification=classification()),
        "7-3": p.ReponseClassificationSansChangement(date_classification=date(2017, 12, 8)),
    }


ACTE_MESSAGE = STEM.message_name("1-1")


def enveloppe_cl(formulaires=(ACTE_MESSAGE,)) -> p.EnveloppeCLMISILL:
    return p.EnveloppeCLMISILL(
        emetteur=p.IDCL(siren=SIREN, departement=DEP, arrondissement="1", nature="31"),
        referent=p.Referent(nom="Élodie Martin", telephone="02 99 00 00 00", email="e.martin@x.fr"),
        adresses_retour=("retour-actes@e-megalis.fr", "e.martin@x.fr"),
        formulaires=tuple(formulaires),
    )


def all_envelopes() -> dict[str, p.Envelope]:
    return {
        "EnveloppeCLMISILL": enveloppe_cl(),
        "EnveloppeMISILLCL": p.EnveloppeMISILLCL(
            emetteur=p.ServicePrefecture(kind="SOUSPREF", departement=DEP, arrondissement="2"),
            formulaires=(STEM.message_name("1-2"),),
            destinataire_siren=SIREN,
        ),
        "AnomalieEnveloppe": p.AnomalieEnveloppe(
            date=date(2024, 12, 10),
            nature="005",
            detail="PREF-VERIF-02",
            enveloppe_recue=enveloppe_cl(),
        ),
    }


@pytest.fixture
def acte() -> p.Acte:
    return make_acte()


@pytest.fixture(scope="session")
def classification_2017_bytes() -> bytes:
    return CLASSIFICATION_2017.read_bytes()
