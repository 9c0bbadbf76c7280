"""Naming rules: identifiers and file names, each with its regex and French error."""

from datetime import date

import pytest

from emegalis.actes import protocol as p
from emegalis.actes.protocol import naming

from .conftest import STEM


@pytest.mark.parametrize("dep", ["001", "034", "02A", "02B", "095", "971", "974", "976"])
def test_valid_departements(dep):
    assert p.check_departement(dep) == dep


@pytest.mark.parametrize("dep", ["34", "0340", "134", "A34", "02C", "2A", "20A", "0|A", "", "03a"])
def test_bad_departements_are_refused_in_french(dep):
    with pytest.raises(p.NamingError) as exc:
        p.check_departement(dep)
    assert exc.value.field == "departement"
    assert "Code département invalide" in exc.value.message
    assert "02A" in exc.value.message  # says what is expected


@pytest.mark.parametrize("siren", ["12345678", "1234567890", "12345678A", " 123456789"])
def test_bad_siren(siren):
    with pytest.raises(p.NamingError, match="exactement 9 chiffres"):
        p.check_siren(siren)


@pytest.mark.parametrize("numero", ["D2024_12", "A", "2024", "A_B", "ABCDEFGHIJKLMNO"])
def test_valid_numeros_internes(numero):
    assert p.check_numero_interne(numero) == numero


@pytest.mark.parametrize(
    ("numero", "fragment"),
    [
        ("D-2024/12", "caractères interdits : « - » « / »"),
        ("délib1", "caractères interdits"),
        ("d2024", "caractères interdits : « d »"),
        ("D 12", "caractères interdits : «   »"),
        ("_D12", "ni commencer ni finir par un tiret bas"),
        ("D12_", "ni commencer ni finir par un tiret bas"),
        ("ABCDEFGHIJKLMNOP", "dépasse 15 caractères (16)"),
        ("", "obligatoire"),
    ],
)
def test_bad_numeros_internes_are_refused_with_the_reason(numero, fragment):
    with pytest.raises(p.NamingError) as exc:
        p.check_numero_interne(numero)
    assert fragment in exc.value.message
    assert exc.value.field == "numero_interne"


def test_id_acte_is_made_and_parsed():
    id_acte = p.make_id_acte(
        departement="034",
        siren="000000000",
        decision_date=date(2024, 12, 9),
        numero_interne="20241209_MR02",
        code_nature=1,
    )
    assert id_acte == "034-000000000-20241209-20241209_MR02-DE"
    assert naming.ID_ACTE_RE.match(id_acte)
    parts = p.parse_id_acte(id_acte)
    assert (parts.departement, parts.siren, parts.date, parts.nature) == (
        "034",
        "000000000",
        date(2024, 12, 9),
        "DE",
    )
    assert parts.code_nature == 1
    assert str(parts) == id_acte


@pytest.mark.parametrize(
    "bad",
    [
        "034-000000000-20241209-D1",  # no nature
        "134-000000000-20241209-D1-DE",  # département
        "034-00000000-20241209-D1-DE",  # SIREN
        "034-000000000-2024129-D1-DE",  # date
        "034-000000000-20241209-D-1-DE",  # numero with a dash
        "034-000000000-20241209-D1-de",  # lower-case nature
    ],
)
def test_bad_id_acte(bad):
    with pytest.raises(p.NamingError, match="Identifiant d'acte invalide"):
        p.parse_id_acte(bad)


def test_id_acte_with_impossible_date():
    with pytest.raises(p.NamingError, match="Date invalide"):
        p.parse_id_acte("034-000000000-20241332-D1-DE")


def test_envelope_and_archive_names():
    day = date(2015, 7, 29)
    env = p.envelope_name(quadrigramme="TACT", siren="123456789", day=day, serial=1)
    assert env == "TACT--123456789--20150729-1.xml"
    assert naming.ENVELOPE_NAME_RE.match(env)
    arc = p.archive_name(trigramme="abc", quadrigramme="TACT", siren="123456789", day=day, serial=1)
    assert arc == "abc-TACT--123456789--20150729-1.tar.gz"  # S²LOW's own test value
    assert naming.ARCHIVE_NAME_RE.match(arc)
    assert p.archive_name_for_envelope(env, trigramme="abc") == arc
    trigramme, parts = p.parse_archive_name(arc)
    assert trigramme == "abc" and parts.serial == 1 and parts.day == day
    ano = p.anomaly_envelope_name(env)
    assert ano == "ANO_TACT--123456789--20150729-1.xml"
    assert naming.ANOMALY_ENVELOPE_NAME_RE.match(ano)


def test_return_envelope_name_and_service_codes():
    assert p.service_code(departement="001", arrondissement="1") == "SPREF0011"
    assert p.service_code(departement="034") == "PREF034"
    assert p.service_code(departement="035", sgar=True) == "SGAR035"
    name = p.return_envelope_name(
        application="TACT", service="SPREF0011", siren="000000000", day=date(2017, 7, 21), serial=4
    )
    assert name == "TACT--SPREF0011-000000000-20170721-4.xml"  # the brief's example
    assert naming.RETURN_ENVELOPE_NAME_RE.match(name)
    with pytest.raises(p.NamingError, match="service préfectoral invalide"):
        p.return_envelope_name(
            application="TACT", service="MAIRIE", siren="000000000", day=date.today(), serial=1
        )


def test_message_and_document_names_follow_the_brief_examples():
    stem = p.TransactionStem("045", "214502494", date(2017, 7, 17), "D201717", 1)
    assert stem.message_name("1-1") == "045-214502494-20170717-D201717-DE-1-1_0.xml"
    stem2 = p.TransactionStem("034", "000000000", date(2024, 12, 9), "20241209_MR02", 1)
    doc = stem2.document_name("1-1", 1, "PDF", "99_DE")
    assert doc == "99_DE-034-000000000-20241209-20241209_MR02-DE-1-1_1.pdf"
    m = p.check_document_name(doc, require_typologie=True)
    assert m["typologie"] == "99_DE" and m["index"] == "1" and m["code"] == "1-1"
    assert p.check_message_name(stem2.message_name("3-4"))["code"] == "3-4"


def test_classification_request_name_leaves_the_act_slots_empty():
    stem = p.TransactionStem("034", "000000000")
    name = stem.message_name("7-1")
    assert name == "034-000000000----7-1_0.xml"
    assert naming.MESSAGE_NAME_RE.match(name)


def test_stem_from_an_id_acte():
    stem = p.TransactionStem.for_acte("034-000000000-20241209-20241209_MR02-DE")
    assert stem == STEM
    assert stem.message_name("6-1") == "034-000000000-20241209-20241209_MR02-DE-6-1_0.xml"


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: STEM.document_name("1-1", 1, "docx", "99_DE"), "Format de fichier non accepté"),
        (lambda: STEM.document_name("1-1", 0, "pdf", "99_DE"), "Rang de fichier invalide"),
        (lambda: STEM.document_name("1-1", 1, "pdf", "99DE"), "Code de typologie invalide"),
        (lambda: STEM.message_name("8-1"), "Code de message inconnu"),
        (lambda: p.TransactionStem("034", "000000000", date(2024, 1, 1)), "vont ensemble"),
        (lambda: p.check_document_name("a.pdf"), "Nom de pièce invalide"),
        (
            lambda: p.check_document_name(
                STEM.document_name("1-1", 1, "pdf"), require_typologie=True
            ),
            "doit commencer par son code de typologie",
        ),
        (lambda: p.check_message_name("acte.xml"), "Nom de message métier invalide"),
        (
            lambda: p.parse_envelope_name("TACT-123456789-20150729-1.xml"),
            "Nom d'enveloppe invalide",
        ),
        (lambda: p.parse_archive_name("archive.tar.gz"), "Nom d'archive invalide"),
        (
            lambda: p.envelope_name(
                quadrigramme="TACT", siren="123456789", day=date.today(), serial=10000
            ),
            "entre 1 et 9999",
        ),
        (
            lambda: p.archive_name(
                trigramme="ab", quadrigramme="TACT", siren="123456789", day=date.today(), serial=1
            ),
            "Trigramme",
        ),
    ],
)
def test_naming_errors_are_french(call, fragment):
    with pytest.raises(p.NamingError, match=fragment):
        call()


def test_daily_counter_starts_at_one_increments_and_resets_each_day():
    d1, d2 = date(2025, 3, 3), date(2025, 3, 4)
    first = p.next_daily_counter(None, d1)
    assert first == p.DailyCounter(d1, 1)
    second = p.next_daily_counter(first, d1)
    assert second.value == 2
    assert p.next_daily_counter(second, d2) == p.DailyCounter(d2, 1)


def test_daily_counter_stops_at_9999_and_refuses_a_clock_going_back():
    day = date(2025, 3, 3)
    assert p.next_daily_counter(p.DailyCounter(day, 9998), day).value == 9999
    with pytest.raises(p.NamingError, match="nombre maximal d'enveloppes par jour"):
        p.next_daily_counter(p.DailyCounter(day, 9999), day)
    with pytest.raises(p.NamingError, match="horloge"):
        p.next_daily_counter(p.DailyCounter(date(2025, 3, 5), 3), day)


def test_email_type_of_the_xsd():
    assert p.check_email("jean.dupont@mairie-x.fr")
    for bad in ("jean+x@mairie.fr", "o'neil@mairie.fr", "a@b.museums", "sans-arobase.fr"):
        with pytest.raises(p.NamingError, match="Adresse électronique refusée"):
            p.check_email(bad)


def test_document_formats():
    p.check_document_formats(
        code_nature=1,
        matieres=(1, 1),
        main_extension="pdf",
        annex_extensions=["pdf", "png", "jpg", "xml"],
    )
    p.check_document_formats(
        code_nature=5, matieres=(7, 1), main_extension="xml", annex_extensions=["pdf"]
    )
    with pytest.raises(p.NamingError, match="document budgétaire"):
        p.check_document_formats(code_nature=1, matieres=(7, 1), main_extension="xml")
    with pytest.raises(p.NamingError, match="annexes doivent être des PDF"):
        p.check_document_formats(
            code_nature=5, matieres=(7, 1), main_extension="xml", annex_extensions=["png"]
        )
    with pytest.raises(p.NamingError, match="doit être un PDF"):
        p.check_document_formats(code_nature=1, matieres=(1, 1), main_extension="docx")
    with pytest.raises(p.NamingError, match="non accepté"):
        p.check_document_formats(
            code_nature=1, matieres=(1, 1), main_extension="pdf", annex_extensions=["exe"]
        )
