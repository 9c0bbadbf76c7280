r"""DECP v2 (données essentielles de la commande publique, arrêté du 22 décembre 2022, annexe
15): build the `marche` record of a notified contract and check it.

Pure functions, no database write. Two layers of checks:

- the official JSON schema (schema_decp_v2.0.3.json, draft-07), shipped in data/schemas/ —
  its errors are translated to French, one message per problem: « chemin : ce qui ne va pas »;
- what the schema leaves to the publisher (`platform_errors`): every SIRET (buyer, holders,
  subcontractors) has 14 digits and a right check key (Luhn; La Poste, SIREN 356000000, uses
  its own rule — organisations.validators.validate_siret knows both), dates are real calendar
  dates, modifications are numbered 1, 2, … and notified after the contract, the `id` has 1
  to 16 characters without & " \ < space comma semicolon.

A record is publishable when both layers find nothing (`record_errors`). Initial values are
never rewritten: a change is a `modification` (ContractModification rows, append-only)."""

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from jsonschema import Draft7Validator

from emegalis.marches.award.models import Contract, ContractModification
from emegalis.marches.opendata import decp_vocabulary
from emegalis.organisations.models import Organisation
from emegalis.organisations.validators import validate_siret

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "schemas" / "schema_decp_v2.0.3.json"


# The platform only runs « marchés » in the ordinary sense (no partnership or defence ones).
NATURE = "Marché"


def cpv_code(code: str) -> str:
    """« 45000000-7 » → « 45000000 »: the DECP accepts the check digit but advises to omit it."""
    return (code or "").strip().split("-")[0]


def number(value: Decimal | int | None) -> int | float | None:
    """A JSON number: an integer when the amount has no cents (480000), else a float."""
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def titulaire(organisation: Organisation) -> dict:
    return {"titulaire": {"typeIdentifiant": "SIRET", "id": organisation.siret}}


def _or_neutral(values: list, neutral: str) -> list:
    """An empty choice is written with the DECP's own « none » value of that list."""
    return list(values) if values else [neutral]


def modification_record(modification: ContractModification) -> dict:
    data: dict = {"id": modification.sequence}
    if modification.duration_months is not None:
        data["dureeMois"] = modification.duration_months
    if modification.amount is not None:
        data["montant"] = number(modification.amount)
    if modification.holder_id is not None:
        data["titulaires"] = [titulaire(modification.holder)]
    data["dateNotificationModification"] = modification.notified_on.isoformat()
    data["datePublicationDonneesModification"] = modification.data_published_on.isoformat()
    return {"modification": data}


def marche_record(contract: Contract) -> dict:
    """The DECP `marche` object of a notified contract, with its modifications (in order)."""
    consultation = contract.consultation
    record: dict = {
        "id": contract.number,
        "acheteur": {"id": contract.buyer.siret},
        "nature": NATURE,
        "objet": contract.object,
        "codeCPV": cpv_code(contract.cpv),
        "procedure": decp_vocabulary.PROCEDURES.get(consultation.procedure, consultation.procedure),
        "techniques": {"technique": _or_neutral(contract.techniques, "Sans objet")},
        "modalitesExecution": {
            "modaliteExecution": _or_neutral(contract.modalites_execution, "Sans objet")
        },
        "marcheInnovant": contract.marche_innovant,
        "ccag": contract.ccag,
        "offresRecues": contract.offers_received,
        "attributionAvance": contract.attribution_avance,
        "typeGroupementOperateurs": contract.type_groupement,
        "sousTraitanceDeclaree": contract.sous_traitance_declaree,
        "lieuExecution": {"code": contract.place_code, "typeCode": contract.place_code_type},
        "dureeMois": contract.duration_months,
        "dateNotification": contract.notified_on.isoformat(),
        "datePublicationDonnees": contract.data_published_on.isoformat(),
        "montant": number(contract.amount),
        "formePrix": contract.forme_prix,
        "typesPrix": {"typePrix": list(contract.types_prix)},
        "titulaires": [titulaire(contract.holder)],
        "considerationsSociales": {
            "considerationSociale": _or_neutral(
                contract.considerations_sociales, "Pas de considération sociale"
            )
        },
        "considerationsEnvironnementales": {
            "considerationEnvironnementale": _or_neutral(
                contract.considerations_environnementales,
                "Pas de considération environnementale",
            )
        },
    }
    if contract.attribution_avance and contract.taux_avance is not None:
        record["tauxAvance"] = number(contract.taux_avance)
    # .all(): served by prefetch_related("modifications__holder") when the caller did it. An
    # unsaved contract (built only to be checked and published) has no modifications.
    saved = contract.pk is not None
    ordered = sorted(contract.modifications.all(), key=lambda m: m.sequence) if saved else []
    modifications = [modification_record(m) for m in ordered]
    if modifications:
        record["modifications"] = modifications
    return record


def document(records: Iterable[dict]) -> dict:
    """The root of a DECP file: {"marches": {"marche": [...]}}."""
    return {"marches": {"marche": list(records)}}


def dumps(data: dict) -> str:
    """The JSON text of a DECP document (UTF-8 characters kept, indented for reading)."""
    return json.dumps(data, ensure_ascii=False, indent=2)


@cache
def _validator() -> Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


TYPES = {
    "string": "une chaîne de caractères",
    "integer": "un nombre entier",
    "number": "un nombre",
    "boolean": "un booléen (true ou false)",
    "object": "un objet",
    "array": "une liste",
    "null": "null",
}


PATTERNS = {
    r"\d{4}-\d{2}-\d{2}": "une date au format AAAA-MM-JJ est attendue",
    r"^[0-9]{8}(-[0-9])?$": "un code CPV de 8 chiffres est attendu (par exemple 45000000)",
    r"^[0-9]{14}$": "un SIRET de 14 chiffres est attendu",
}


def path_of(parts: Iterable) -> str:
    """['marches', 'marche', 0, 'titulaires', 0] → « marches.marche[0].titulaires[0] »."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "document"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def _explain(error) -> str:
    """What is wrong, in French, for one jsonschema error."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "required":
        match = re.match(r"^'(.+)' is a required property$", error.message)
        name = match.group(1) if match else ", ".join(k for k in expected if k not in instance)
        return f"le champ « {name} » est obligatoire et manque"
    if keyword == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        extra = ", ".join(f"« {k} »" for k in instance if k not in known)
        return f"champ inconnu du format DECP : {extra}"
    if keyword == "enum":
        allowed = ", ".join(f"« {v} »" for v in expected)
        return f"la valeur « {instance} » n'est pas autorisée ; valeurs possibles : {allowed}"
    if keyword == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        return f"{' ou '.join(TYPES.get(t, t) for t in wanted)} est attendu, pas « {instance} »"
    if keyword == "pattern":
        return f"format invalide (« {instance} ») : " + PATTERNS.get(
            expected, f"motif attendu {expected}"
        )
    if keyword == "minimum":
        return f"la valeur {instance} est trop petite : au moins {expected} est attendu"
    if keyword == "maximum":
        return f"la valeur {instance} est trop grande : au plus {expected} est attendu"
    if keyword == "minLength":
        return f"le texte est trop court : au moins {_plural(expected, 'caractère')}"
    if keyword == "maxLength":
        return (
            f"le texte est trop long ({_plural(len(instance), 'caractère')}) : "
            f"au plus {_plural(expected, 'caractère')}"
        )
    if keyword == "minItems":
        return f"la liste doit contenir au moins {_plural(expected, 'valeur')}"
    if keyword == "uniqueItems":
        return "la liste contient deux fois la même valeur"
    if keyword == "anyOf" and error.path == error.relative_path and "marches" in error.path:
        return "le document doit contenir une liste « marche » ou « contrat-concession »"
    return f"non conforme au schéma ({error.message})"


def schema_errors(data: dict) -> list[str]:
    """The official schema's verdict on a whole document, as French messages (empty: valid)."""
    return sorted(
        f"{path_of(e.absolute_path)} : {_explain(e)}" for e in _validator().iter_errors(data)
    )


ID_FORBIDDEN = set('&"\\<,; ')


def siret_error(value: str) -> str | None:
    """None if the SIRET is right, else why (length, check key; La Poste's rule included)."""
    try:
        validate_siret(value or "")
    except ValidationError as exc:
        message = exc.messages[0]
        return message[0].lower() + message[1:]
    return None


def _real_date(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _identifier_errors(path: str, ident: dict) -> list[str]:
    if not isinstance(ident, dict) or ident.get("typeIdentifiant") != "SIRET":
        return []
    problem = siret_error(str(ident.get("id", "")))
    return [f"{path}.id : « {ident.get('id', '')} » — {problem}"] if problem else []


def _titulaires_errors(path: str, titulaires) -> list[str]:
    found = []
    for i, item in enumerate(titulaires if isinstance(titulaires, list) else []):
        found += _identifier_errors(f"{path}[{i}].titulaire", (item or {}).get("titulaire"))
    return found


def _date_errors(path: str, record: dict, names: Iterable[str]) -> list[str]:
    found = []
    for name in names:
        value = record.get(name)
        if isinstance(value, str) and _real_date(value) is None:
            found.append(f"{path}.{name} : « {value} » n'est pas une date réelle (AAAA-MM-JJ)")
    return found


def platform_errors(record: dict, path: str = "marche") -> list[str]:
    """The checks the official schema does not make, on one `marche` object (French)."""
    if not isinstance(record, dict):
        return [f"{path} : un objet est attendu"]
    found: list[str] = []
    ident = record.get("id")
    if isinstance(ident, str):
        bad = sorted({c for c in ident if c in ID_FORBIDDEN}, key=ident.index)
        if bad:
            shown = ", ".join("espace" if c == " " else f"« {c} »" for c in bad)
            found.append(f"{path}.id : caractère à éviter dans l'identifiant ({shown})")
        if not 1 <= len(ident) <= 16:
            found.append(f"{path}.id : l'identifiant doit compter de 1 à 16 caractères")
    buyer = record.get("acheteur")
    if isinstance(buyer, dict) and "id" in buyer:
        problem = siret_error(str(buyer["id"]))
        if problem:
            found.append(f"{path}.acheteur.id : « {buyer['id']} » — {problem}")
    found += _titulaires_errors(f"{path}.titulaires", record.get("titulaires"))
    for i, item in enumerate(record.get("actesSousTraitance") or []):
        acte = (item or {}).get("acteSousTraitance") or {}
        found += _identifier_errors(
            f"{path}.actesSousTraitance[{i}].acteSousTraitance.sousTraitant",
            acte.get("sousTraitant"),
        )
    found += _date_errors(path, record, ("dateNotification", "datePublicationDonnees"))
    notified = _real_date(record.get("dateNotification"))
    published = _real_date(record.get("datePublicationDonnees"))
    if notified and published and published < notified:
        found.append(
            f"{path}.datePublicationDonnees : les données ne peuvent pas être publiées "
            f"({published.isoformat()}) avant la notification ({notified.isoformat()})"
        )
    previous = notified
    for i, item in enumerate(record.get("modifications") or []):
        mod_path = f"{path}.modifications[{i}].modification"
        mod = (item or {}).get("modification") or {}
        if mod.get("id") != i + 1:
            found.append(
                f"{mod_path}.id : les modifications sont numérotées 1, 2, 3… dans l'ordre ; "
                f"{i + 1} est attendu, pas « {mod.get('id')} »"
            )
        found += _date_errors(
            mod_path, mod, ("dateNotificationModification", "datePublicationDonneesModification")
        )
        found += _titulaires_errors(f"{mod_path}.titulaires", mod.get("titulaires"))
        mod_notified = _real_date(mod.get("dateNotificationModification"))
        if mod_notified and notified and mod_notified < notified:
            found.append(
                f"{mod_path}.dateNotificationModification : la modification "
                f"({mod_notified.isoformat()}) ne peut pas précéder la notification du marché "
                f"({notified.isoformat()})"
            )
        elif mod_notified and previous and mod_notified < previous:
            found.append(
                f"{mod_path}.dateNotificationModification : les modifications doivent suivre "
                "l'ordre de leur notification"
            )
        mod_published = _real_date(mod.get("datePublicationDonneesModification"))
        if mod_notified and mod_published and mod_published < mod_notified:
            found.append(
                f"{mod_path}.datePublicationDonneesModification : la republication "
                f"({mod_published.isoformat()}) ne peut pas précéder la notification de la "
                f"modification ({mod_notified.isoformat()})"
            )
        previous = mod_notified or previous
    return found


def _record_path(path: str) -> str:
    return path.removeprefix("marches.marche[0].").removeprefix("marches.marche[0]")


# Verdicts already computed, by SHA-256 of the record's canonical JSON: the schema check costs
# about 2 ms a record in pure Python, and the public file re-checks every record on each
# request. Bounded; a pure function's memo, so sharing it between requests is safe.
_VERDICTS: dict[str, tuple[str, ...]] = {}


_VERDICTS_MAX = 50_000


def record_errors(record: dict) -> list[str]:
    """Both layers on one `marche` object; paths relative to the record (« montant : … »)."""
    text = json.dumps(record, sort_keys=True, ensure_ascii=False)
    key = hashlib.sha256(text.encode()).hexdigest()
    found = _VERDICTS.get(key)
    if found is None:
        official = [_record_path(m) for m in schema_errors(document([record]))]
        platform = [m.removeprefix("marche.") for m in platform_errors(record)]
        found = tuple(official + platform)
        if len(_VERDICTS) >= _VERDICTS_MAX:
            _VERDICTS.clear()
        _VERDICTS[key] = found
    return list(found)


def validate_document(data: dict) -> list[str]:
    """Both layers on a whole document (a file to publish or received from elsewhere)."""
    found = schema_errors(data)
    marches = data.get("marches") if isinstance(data, dict) else None
    records = marches.get("marche") if isinstance(marches, dict) else None
    for i, record in enumerate(records if isinstance(records, list) else []):
        found += platform_errors(record, path=f"marches.marche[{i}]")
    return found


def decp_errors(contract: Contract) -> list[str]:
    """Why this contract's DECP record is not publishable, in French (empty: it is).

    For the notification service: refuse to record a contract whose essential data would
    be invalid, and show these messages on the form."""
    return record_errors(marche_record(contract))


@dataclass
class Export:
    """A DECP file made of the valid records; the invalid ones are left out, with why."""

    document: dict
    included: list[Contract] = field(default_factory=list)
    rejected: list[tuple[Contract, list[str]]] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.rejected


def build_export(contracts: Iterable[Contract]) -> Export:
    records, included, rejected = [], [], []
    for contract in contracts:
        record = marche_record(contract)
        errors = record_errors(record)
        if errors:
            rejected.append((contract, errors))
        else:
            records.append(record)
            included.append(contract)
    return Export(document=document(records), included=included, rejected=rejected)
