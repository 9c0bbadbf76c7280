"""The shared 2017 RetourClassification loads; typology and matière checks; 7-1 request."""

from datetime import date

import pytest

from emegalis.actes import protocol as p


@pytest.fixture(scope="module")
def classification(classification_2017_bytes) -> p.Classification:
    return p.parse_classification(classification_2017_bytes)


def test_the_2017_sample_is_valid_against_the_xsd(classification_2017_bytes):
    p.validate(classification_2017_bytes)
    assert isinstance(p.parse_message(classification_2017_bytes), p.RetourClassification)


def test_the_2017_sample_loads_with_the_expected_counts(classification):
    assert classification.date_classification == date(2017, 12, 8)
    assert classification.count_by_level() == {1: 9, 2: 57, 3: 225, 4: 0, 5: 0}
    typologies = {n.type_abrege: len(n.typologies) for n in classification.natures}
    assert typologies == {"DE": 19, "AR": 9, "AI": 37, "CC": 48, "BF": 3, "AU": 2}
    assert {n.code for n in classification.natures} == {1, 2, 3, 4, 5, 6}
    assert [m.libelle for m in classification.matieres][0] == "Commande Publique"
    assert [m.code for m in classification.matieres] == list(range(1, 10))


def test_labels_are_read_as_unicode(classification):
    libelles = [m.libelle for _, m in classification.iter_matieres()]
    assert any(
        "œ" in label
        for label in libelles + [t.libelle for n in classification.natures for t in n.typologies]
    )
    assert classification.nature(5).typology("99_BU").libelle == "Document budgétaire"


def test_typology_allowed_for_a_nature(classification):
    assert classification.is_typology_allowed(1, "99_DE")
    assert classification.is_typology_allowed(4, "11_AE")
    assert not classification.is_typology_allowed(1, "11_AE")
    assert classification.is_typology_allowed(3, "99_SE")  # signature file: every nature
    assert not classification.is_typology_allowed(9, "99_DE")
    assert classification.check_typology(5, "99_BU").libelle == "Document budgétaire"


def test_typology_not_allowed_gets_a_french_message_with_the_choices(classification):
    with pytest.raises(p.ClassificationError) as exc:
        classification.check_typology(6, "99_DE", field="type_acte")
    assert exc.value.field == "type_acte"
    assert "n'est pas autorisée pour la nature « Autres »" in exc.value.message
    assert "99_AU" in exc.value.message
    with pytest.raises(p.ClassificationError, match="n'existe pas dans la classification"):
        classification.nature(7)


def test_matiere_paths(classification):
    path = classification.matiere_path([1, 1])
    assert [m.niveau for m in path] == [1, 2]
    assert path[0].libelle == "Commande Publique"
    three = next(code for code, m in classification.iter_matieres() if len(code) == 3)
    assert len(classification.matiere_path(three)) == 3
    with pytest.raises(p.ClassificationError, match="au moins les niveaux 1 et 2"):
        classification.matiere_path([1])
    with pytest.raises(p.ClassificationError, match="La matière 1.99 n'existe pas"):
        classification.matiere_path([1, 99])
    with pytest.raises(p.ClassificationError, match="au plus 5 niveaux"):
        classification.matiere_path([1, 1, 1, 1, 1, 1])


def test_the_2017_classification_round_trips_through_our_builder(classification):
    xml = p.build_retour_classification(p.RetourClassification(classification=classification))
    assert p.parse_classification(xml) == classification


def test_five_levels_are_read_and_written():
    deep = p.Matiere(code=1, libelle="n5", niveau=5)
    for level in (4, 3, 2, 1):
        deep = p.Matiere(code=1, libelle=f"n{level}", niveau=level, enfants=(deep,))
    c = p.Classification(
        date_classification=date(2024, 1, 1),
        natures=(
            p.NatureActe(
                code=6,
                libelle="Autres",
                type_abrege="AU",
                typologies=(p.TypePJ(code="99_AU", libelle="Autre"),),
            ),
        ),
        matieres=(deep,),
    )
    back = p.parse_classification(
        p.build_retour_classification(p.RetourClassification(classification=c))
    )
    assert back.count_by_level() == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}
    assert len(back.matiere_path([1, 1, 1, 1, 1])) == 5


def test_nature_without_code_is_derived_from_its_abbreviation():
    xml = b"""<actes:RetourClassification xmlns:actes="http://www.interieur.gouv.fr/ACTES#v1.1-20040216">
  <actes:DateClassification>2020-01-01</actes:DateClassification>
  <actes:NaturesActes><actes:NatureActe actes:Libelle="Autres" actes:TypeAbrege="AU">
    <actes:TypePJNatureActe actes:CodeTypePJ="99_AU" actes:Libelle="Autre"/>
  </actes:NatureActe></actes:NaturesActes>
  <actes:Matieres><actes:Matiere1 actes:CodeMatiere="9" actes:Libelle="Autres">
    <actes:Matiere2 actes:CodeMatiere="1" actes:Libelle="Divers"/></actes:Matiere1></actes:Matieres>
</actes:RetourClassification>"""
    p.validate(xml)
    assert p.parse_classification(xml).nature(6).libelle == "Autres"


def test_demande_classification_with_and_without_the_date_held():
    with_date = p.build_demande_classification(
        p.DemandeClassification(date_classification=date(2017, 12, 8))
    )
    assert b"<actes:DateClassification>2017-12-08</actes:DateClassification>" in with_date
    without = p.build_demande_classification(p.DemandeClassification())
    assert b"DateClassification" not in without
    name = p.TransactionStem("034", "000000000").message_name("7-1")
    assert name == "034-000000000----7-1_0.xml"
