"""Identifiers and file names of the @CTES protocol, each with its regex and a French error.

Sources: domain brief §2 (archive, envelope, message and document names, daily serial), §4
(NumeroInterne), §5 (IDActe, département). The ``*_RE`` patterns are the *reading* forms
(what we accept from the ministry); the ``make_*``/``*_name`` functions apply the stricter rules
we follow when we write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .constants import (
    ANNEX_EXTENSIONS,
    DAILY_SERIAL_MAX,
    MESSAGE_TYPES_BY_CODE,
    NATURES,
    NATURES_BY_ABBREVIATION,
    NUMERO_INTERNE_MAX_LENGTH,
)
from .errors import NamingError

# --- building blocks (no anchors: they are combined below) ---------------------------------

_DEP = r"(?:0[0-9][0-9AB]|9[0-9][0-9AB])"
_SIREN = r"[0-9]{9}"
_DAY = r"[0-9]{8}"
_SERIAL = r"[1-9][0-9]{0,3}"
_NUMERO = r"[a-zA-Z0-9_]{1,15}"
_CODE = r"[1-7]-[1-5]"
_SERVICE = rf"(?:PREF{_DEP}|SPREF{_DEP}[0-9]|SGAR{_DEP})"

# --- identifiers ---------------------------------------------------------------------------

DEPARTEMENT_RE = re.compile(rf"^{_DEP}$")
SIREN_RE = re.compile(rf"^{_SIREN}$")
ARRONDISSEMENT_RE = re.compile(r"^[0-9]$")
AUTHORITY_NATURE_RE = re.compile(r"^[0-9]{2}$")
# S²LOW's rule, stricter than the XSD (≤ 15 characters) and than IDActe ([a-zA-Z0-9_]{1,15}).
NUMERO_INTERNE_RE = re.compile(r"^([A-Z0-9][A-Z0-9_]{0,13})?[A-Z0-9]$")
ID_ACTE_RE = re.compile(
    rf"^(?P<departement>{_DEP})-(?P<siren>{_SIREN})-(?P<date>{_DAY})"
    rf"-(?P<numero_interne>{_NUMERO})-(?P<nature>[A-Z]{{2}})$"
)
TYPOLOGIE_RE = re.compile(r"^[A-Z0-9_]{5}$")
TRIGRAMME_RE = re.compile(r"^[A-Za-z0-9]{3}$")
QUADRIGRAMME_RE = re.compile(r"^[A-Za-z0-9]{4}$")
# The XSD's Email type (implicitly anchored there).
EMAIL_RE = re.compile(
    r"^[_a-zA-Z0-9\-]+(\.[_a-zA-Z0-9\-]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*\.[a-zA-Z]{2,6}$"
)
# Prefecture services in return envelope names: PREF{dep}, SPREF{dep}{arrondissement},
# SGAR{dep}. The brief writes \d{3}; we also accept 02A/02B (Corsica) [derived].
SERVICE_RE = re.compile(rf"^{_SERVICE}$")

# --- file names ----------------------------------------------------------------------------

_TRANSACTION_STEM = (
    rf"(?P<departement>{_DEP})-(?P<siren>{_SIREN})-"
    rf"(?:(?P<date>{_DAY})-(?P<numero_interne>{_NUMERO})-(?P<nature>[A-Z]{{2}})|--)"
)
ARCHIVE_NAME_RE = re.compile(
    rf"^(?P<trigramme>[A-Za-z0-9]{{3}})-(?P<quadrigramme>[A-Za-z0-9]{{4}})"
    rf"--(?P<siren>{_SIREN})--(?P<date>{_DAY})-(?P<serial>{_SERIAL})\.tar\.gz$"
)
ENVELOPE_NAME_RE = re.compile(
    rf"^(?P<quadrigramme>[A-Za-z0-9]{{4}})--(?P<siren>{_SIREN})"
    rf"--(?P<date>{_DAY})-(?P<serial>{_SERIAL})\.xml$"
)
ANOMALY_ENVELOPE_NAME_RE = re.compile(
    rf"^ANO_(?P<quadrigramme>[A-Za-z0-9]{{4}})--(?P<siren>{_SIREN})"
    rf"--(?P<date>{_DAY})-(?P<serial>{_SERIAL})\.xml$"
)
RETURN_ENVELOPE_NAME_RE = re.compile(
    rf"^(?P<application>[A-Za-z0-9]{{4}})--(?P<service>{_SERVICE})"
    rf"-(?P<siren>{_SIREN})-(?P<date>{_DAY})-(?P<serial>{_SERIAL})\.xml$"
)
MESSAGE_NAME_RE = re.compile(rf"^{_TRANSACTION_STEM}-(?P<code>{_CODE})_0\.xml$")
DOCUMENT_NAME_RE = re.compile(
    rf"^(?:(?P<typologie>[A-Z0-9_]{{5}})-)?{_TRANSACTION_STEM}-(?P<code>{_CODE})"
    rf"_(?P<index>[1-9][0-9]{{0,3}})\.(?P<extension>[A-Za-z0-9]{{1,5}})$"
)


# --- checks --------------------------------------------------------------------------------


def check_departement(value: str, *, field: str = "departement") -> str:
    """Return the département code if it is valid (``034``, ``02A``, ``974``…)."""
    if not isinstance(value, str) or not DEPARTEMENT_RE.fullmatch(value):
        raise NamingError(
            f"Code département invalide : « {value} ». Il faut 3 caractères : 0 ou 9, un "
            "chiffre, puis un chiffre, A ou B (ex. 034, 02A, 974).",
            field=field,
        )
    return value


def check_siren(value: str, *, field: str = "siren") -> str:
    if not isinstance(value, str) or not SIREN_RE.fullmatch(value):
        raise NamingError(
            f"SIREN invalide : « {value} ». Il doit comporter exactement 9 chiffres.",
            field=field,
        )
    return value


def check_arrondissement(value: str, *, field: str = "arrondissement") -> str:
    if not isinstance(value, str) or not ARRONDISSEMENT_RE.fullmatch(value):
        raise NamingError(
            f"Arrondissement invalide : « {value} ». Il doit comporter 1 chiffre.", field=field
        )
    return value


def check_authority_nature(value: str, *, field: str = "nature_collectivite") -> str:
    if not isinstance(value, str) or not AUTHORITY_NATURE_RE.fullmatch(value):
        raise NamingError(
            f"Code nature de la collectivité invalide : « {value} ». Il doit comporter "
            "2 chiffres (ex. 31 pour une commune).",
            field=field,
        )
    return value


def check_numero_interne(value: str, *, field: str = "numero_interne") -> str:
    """Apply S²LOW's rule: A–Z, 0–9 and ``_``, 1 to 15 characters, no ``_`` at either end."""
    if not isinstance(value, str) or value == "":
        raise NamingError("Le numéro interne de l'acte est obligatoire.", field=field)
    if len(value) > NUMERO_INTERNE_MAX_LENGTH:
        raise NamingError(
            f"Le numéro interne « {value} » dépasse 15 caractères ({len(value)}).", field=field
        )
    if not NUMERO_INTERNE_RE.fullmatch(value):
        bad = sorted({c for c in value if not re.match(r"[A-Z0-9_]", c)})
        if bad:
            shown = " ".join(f"« {c} »" for c in bad)
            raise NamingError(
                f"Le numéro interne « {value} » contient des caractères interdits : {shown}. "
                "Seuls les lettres majuscules sans accent, les chiffres et le tiret bas (_) "
                "sont autorisés.",
                field=field,
            )
        raise NamingError(
            f"Le numéro interne « {value} » ne doit ni commencer ni finir par un tiret bas (_).",
            field=field,
        )
    return value


def check_typologie(value: str, *, field: str = "typologie") -> str:
    if not isinstance(value, str) or not TYPOLOGIE_RE.fullmatch(value):
        raise NamingError(
            f"Code de typologie invalide : « {value} ». Il doit comporter 5 caractères parmi "
            "A–Z, 0–9 et _ (ex. 99_DE).",
            field=field,
        )
    return value


def check_email(value: str, *, field: str = "email") -> str:
    """The XSD's e-mail type: no ``+`` nor apostrophe, a top-level domain of 2 to 6 letters."""
    if not isinstance(value, str) or not EMAIL_RE.fullmatch(value):
        raise NamingError(
            f"Adresse électronique refusée par le protocole @CTES : « {value} ». Seuls les "
            "lettres sans accent, chiffres, points, tirets et tirets bas sont admis, avec une "
            "extension de domaine de 2 à 6 lettres.",
            field=field,
        )
    return value


def check_trigramme(value: str) -> str:
    if not isinstance(value, str) or not TRIGRAMME_RE.fullmatch(value):
        raise NamingError(
            f"Trigramme d'opérateur invalide : « {value} » (3 lettres ou chiffres).",
            field="trigramme",
        )
    return value


def check_quadrigramme(value: str) -> str:
    if not isinstance(value, str) or not QUADRIGRAMME_RE.fullmatch(value):
        raise NamingError(
            f"Quadrigramme d'application invalide : « {value} » (4 lettres ou chiffres).",
            field="quadrigramme",
        )
    return value


def check_serial(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= DAILY_SERIAL_MAX:
        raise NamingError(
            f"Numéro d'ordre d'enveloppe invalide : {value}. Il doit être compris entre 1 et "
            f"{DAILY_SERIAL_MAX}.",
            field="serial",
        )
    return value


def nature_abbreviation(code_nature: int) -> str:
    try:
        return NATURES[int(code_nature)].abbreviation
    except (KeyError, TypeError, ValueError):
        raise NamingError(
            f"Code nature d'acte inconnu : « {code_nature} » (1 à 6 attendu).",
            field="code_nature",
        ) from None


def _message_code(code: str) -> str:
    if code not in MESSAGE_TYPES_BY_CODE:
        raise NamingError(f"Code de message inconnu : « {code} ».", field="code")
    return code


# --- IDActe --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActeId:
    """The parts of a unique act identifier, ``DEP-SIREN-YYYYMMDD-NumeroInterne-NN``."""

    departement: str
    siren: str
    date: date
    numero_interne: str
    nature: str  # two-letter abbreviation (DE, AR, …)

    def __str__(self) -> str:
        return (
            f"{self.departement}-{self.siren}-{self.date:%Y%m%d}-{self.numero_interne}"
            f"-{self.nature}"
        )

    @property
    def code_nature(self) -> int | None:
        info = NATURES_BY_ABBREVIATION.get(self.nature)
        return info.code if info else None


def _day(text: str, what: str, field: str) -> date:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise NamingError(f"Date invalide dans {what} : « {text} ».", field=field) from None


def parse_id_acte(value: str, *, field: str = "id_acte") -> ActeId:
    """Split an ``IDActe`` into its parts; raise :class:`NamingError` if it is malformed."""
    m = ID_ACTE_RE.fullmatch(value) if isinstance(value, str) else None
    if not m:
        raise NamingError(
            f"Identifiant d'acte invalide : « {value} ». Format attendu : "
            "DEP-SIREN-AAAAMMJJ-NumeroInterne-NN (ex. 034-000000000-20241209-D2024_12-DE).",
            field=field,
        )
    return ActeId(
        departement=m["departement"],
        siren=m["siren"],
        date=_day(m["date"], "l'identifiant d'acte", field),
        numero_interne=m["numero_interne"],
        nature=m["nature"],
    )


def check_id_acte(value: str, *, field: str = "id_acte") -> str:
    parse_id_acte(value, field=field)
    return value


def make_id_acte(
    *, departement: str, siren: str, decision_date: date, numero_interne: str, code_nature: int
) -> str:
    """The identifier the ministry assigns (our prefecture counterpart uses this)."""
    check_departement(departement)
    check_siren(siren)
    check_numero_interne(numero_interne)
    return f"{departement}-{siren}-{decision_date:%Y%m%d}-{numero_interne}-" + (
        nature_abbreviation(code_nature)
    )


# --- file names ----------------------------------------------------------------------------


def envelope_name(*, quadrigramme: str, siren: str, day: date, serial: int) -> str:
    """``{quadrigramme}--{SIREN}--{YYYYMMDD}-{n}.xml`` (root ``EnveloppeCLMISILL``)."""
    check_quadrigramme(quadrigramme)
    check_siren(siren)
    check_serial(serial)
    return f"{quadrigramme}--{siren}--{day:%Y%m%d}-{serial}.xml"


def archive_name(*, trigramme: str, quadrigramme: str, siren: str, day: date, serial: int) -> str:
    """``{trigramme}-{quadrigramme}--{SIREN}--{YYYYMMDD}-{n}.tar.gz``."""
    check_trigramme(trigramme)
    stem = envelope_name(quadrigramme=quadrigramme, siren=siren, day=day, serial=serial)
    return f"{trigramme}-{stem.removesuffix('.xml')}.tar.gz"


def archive_name_for_envelope(envelope_file_name: str, *, trigramme: str) -> str:
    """The archive name that goes with an envelope name: the trigramme is prefixed."""
    check_trigramme(trigramme)
    parse_envelope_name(envelope_file_name)
    return f"{trigramme}-{envelope_file_name.removesuffix('.xml')}.tar.gz"


def anomaly_envelope_name(envelope_file_name: str) -> str:
    """``ANO_`` + the name of the rejected envelope."""
    parse_envelope_name(envelope_file_name)
    return f"ANO_{envelope_file_name}"


def service_code(*, departement: str, arrondissement: str | None = None, sgar: bool = False) -> str:
    """``PREF034``, ``SPREF0341`` (sous-préfecture of arrondissement 1), ``SGAR035``."""
    check_departement(departement)
    if sgar:
        return f"SGAR{departement}"
    if arrondissement is None:
        return f"PREF{departement}"
    check_arrondissement(arrondissement)
    return f"SPREF{departement}{arrondissement}"


def return_envelope_name(
    *, application: str, service: str, siren: str, day: date, serial: int
) -> str:
    """``{APPLI}--{SERVICE}-{SIREN}-{YYYYMMDD}-{n}.xml`` (root ``EnveloppeMISILLCL``)."""
    check_quadrigramme(application)
    if not SERVICE_RE.fullmatch(service):
        raise NamingError(
            f"Code de service préfectoral invalide : « {service} » (PREF034, SPREF0341, SGAR035…).",
            field="service",
        )
    check_siren(siren)
    check_serial(serial)
    return f"{application}--{service}-{siren}-{day:%Y%m%d}-{serial}.xml"


@dataclass(frozen=True)
class TransactionStem:
    """What every business message and document name of one act transaction shares.

    ``{DEP}-{SIREN}-{decisionYYYYMMDD}-{NumeroInterne}-{NatureAbr}``; for a classification
    request the date, number and nature slots stay empty (``{DEP}-{SIREN}---``).
    """

    departement: str
    siren: str
    decision_date: date | None = None
    numero_interne: str | None = None
    code_nature: int | None = None

    def __post_init__(self) -> None:
        check_departement(self.departement)
        check_siren(self.siren)
        slots = (self.decision_date, self.numero_interne, self.code_nature)
        if any(s is not None for s in slots) and any(s is None for s in slots):
            raise NamingError(
                "La date de décision, le numéro interne et la nature vont ensemble : "
                "renseignez les trois ou aucun.",
            )
        # Names of incoming messages may carry numbers that S²LOW's stricter rule refuses; the
        # name itself only needs the IDActe form (the stricter check gives the French message).
        if self.numero_interne is not None and not re.fullmatch(_NUMERO, self.numero_interne):
            check_numero_interne(self.numero_interne)
        if self.code_nature is not None:
            nature_abbreviation(self.code_nature)

    @classmethod
    def for_acte(cls, id_acte: str) -> TransactionStem:
        """The stem of the act an ``IDActe`` designates (for letters, cancellations…)."""
        parts = parse_id_acte(id_acte)
        info = NATURES_BY_ABBREVIATION.get(parts.nature)
        if info is None:
            raise NamingError(
                f"Nature « {parts.nature} » inconnue dans l'identifiant « {id_acte} ».",
                field="id_acte",
            )
        return cls(parts.departement, parts.siren, parts.date, parts.numero_interne, info.code)

    def __str__(self) -> str:
        if self.decision_date is None:
            return f"{self.departement}-{self.siren}---"
        abbr = nature_abbreviation(self.code_nature)  # type: ignore[arg-type]
        return (
            f"{self.departement}-{self.siren}-{self.decision_date:%Y%m%d}"
            f"-{self.numero_interne}-{abbr}"
        )

    def message_name(self, code: str) -> str:
        """``{stem}-{family}-{code}_0.xml``: ``045-214502494-20170717-D201717-DE-1-1_0.xml``."""
        return f"{self}-{_message_code(code)}_0.xml"

    def document_name(
        self, code: str, index: int, extension: str, typologie: str | None = None
    ) -> str:
        """``{typologie}-{stem}-{code}_{k}.{ext}``; main document ``k = 1``, annexes 2, 3…"""
        _message_code(code)
        if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= 9999:
            raise NamingError(f"Rang de fichier invalide : {index} (1 à 9999).", field="index")
        ext = extension.lower().lstrip(".")
        if ext not in ANNEX_EXTENSIONS:
            raise NamingError(
                f"Format de fichier non accepté : « .{ext} » (PDF, XML, JPG ou PNG).",
                field="extension",
            )
        prefix = f"{check_typologie(typologie)}-" if typologie is not None else ""
        return f"{prefix}{self}-{code}_{index}.{ext}"


def message_name(stem: TransactionStem, code: str) -> str:
    return stem.message_name(code)


def document_name(
    stem: TransactionStem, code: str, index: int, extension: str, typologie: str | None = None
) -> str:
    return stem.document_name(code, index, extension, typologie)


# --- parsing names -------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvelopeName:
    quadrigramme: str
    siren: str
    day: date
    serial: int


def parse_envelope_name(name: str) -> EnvelopeName:
    m = ENVELOPE_NAME_RE.fullmatch(name)
    if not m:
        raise NamingError(
            f"Nom d'enveloppe invalide : « {name} ». Format attendu : "
            "QUADRIGRAMME--SIREN--AAAAMMJJ-n.xml.",
            field="nom_fichier",
        )
    return EnvelopeName(
        m["quadrigramme"],
        m["siren"],
        _day(m["date"], "le nom d'enveloppe", "nom_fichier"),
        int(m["serial"]),
    )


def parse_archive_name(name: str) -> tuple[str, EnvelopeName]:
    """Return ``(trigramme, envelope name parts)`` of an archive name."""
    m = ARCHIVE_NAME_RE.fullmatch(name)
    if not m:
        raise NamingError(
            f"Nom d'archive invalide : « {name} ». Format attendu : "
            "tri-QUADRIGRAMME--SIREN--AAAAMMJJ-n.tar.gz.",
            field="nom_fichier",
        )
    day = _day(m["date"], "le nom d'archive", "nom_fichier")
    return m["trigramme"], EnvelopeName(m["quadrigramme"], m["siren"], day, int(m["serial"]))


def check_message_name(name: str) -> re.Match[str]:
    m = MESSAGE_NAME_RE.fullmatch(name)
    if not m:
        raise NamingError(
            f"Nom de message métier invalide : « {name} ». Format attendu : "
            "DEP-SIREN-AAAAMMJJ-NUMERO-NN-f-c_0.xml.",
            field="nom_fichier",
        )
    return m


def check_document_name(name: str, *, require_typologie: bool = False) -> re.Match[str]:
    m = DOCUMENT_NAME_RE.fullmatch(name)
    if not m:
        raise NamingError(
            f"Nom de pièce invalide : « {name} ». Format attendu : "
            "TYPOL-DEP-SIREN-AAAAMMJJ-NUMERO-NN-f-c_k.ext.",
            field="nom_fichier",
        )
    if require_typologie and not m["typologie"]:
        raise NamingError(
            f"Le nom de pièce « {name} » doit commencer par son code de typologie (ex. 99_DE-).",
            field="nom_fichier",
        )
    return m


# --- daily envelope counter ----------------------------------------------------------------


@dataclass(frozen=True)
class DailyCounter:
    """The last envelope serial allocated for one authority on one day."""

    day: date
    value: int


def next_daily_counter(previous: DailyCounter | None, today: date) -> DailyCounter:
    """The serial for the next envelope of an authority, reset every day, 1 to 9999.

    Pure: the caller reads ``previous`` and stores the result in one transaction.
    """
    if previous is None or previous.day < today:
        return DailyCounter(today, 1)
    if previous.day > today:
        raise NamingError(
            f"Le dernier numéro d'enveloppe date du {previous.day:%d/%m/%Y}, postérieur à "
            f"aujourd'hui ({today:%d/%m/%Y}) : l'horloge a-t-elle reculé ?",
            field="serial",
        )
    if previous.value >= DAILY_SERIAL_MAX:
        raise NamingError(
            f"Le nombre maximal d'enveloppes par jour ({DAILY_SERIAL_MAX}) est atteint pour "
            "cette collectivité ; réessayez demain.",
            field="serial",
        )
    return DailyCounter(today, previous.value + 1)


# --- document formats ----------------------------------------------------------------------


def check_document_formats(
    *,
    code_nature: int,
    matieres: tuple[int, ...] | list[int],
    main_extension: str,
    annex_extensions: list[str] | tuple[str, ...] = (),
) -> None:
    """S²LOW's format rules (brief §4): the main document is a PDF, or XML for a budget
    document (nature 5, matière 7.1), in which case the annexes must be PDF; annexes are PDF,
    XML, JPG or PNG."""
    main = main_extension.lower().lstrip(".")
    budget = int(code_nature) == 5 and tuple(matieres[:2]) == (7, 1)
    if main == "xml" and not budget:
        raise NamingError(
            "Le document principal au format XML n'est admis que pour un document budgétaire "
            "(nature 5, matière 7.1) ; joignez un PDF.",
            field="document",
        )
    if main not in ("pdf", "xml"):
        raise NamingError(
            f"Le document principal doit être un PDF (format reçu : « .{main} »).",
            field="document",
        )
    for i, ext in enumerate(annex_extensions, start=1):
        e = ext.lower().lstrip(".")
        if main == "xml" and e != "pdf":
            raise NamingError(
                f"Annexe {i} : avec un document budgétaire XML, les annexes doivent être des PDF.",
                field="annexes",
            )
        if e not in ANNEX_EXTENSIONS:
            raise NamingError(
                f"Annexe {i} : format « .{e} » non accepté (PDF, XML, JPG ou PNG).",
                field="annexes",
            )
