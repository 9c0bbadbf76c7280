"""OCDS 1.1 (Open Contracting Data Standard): one release package per public consultation.

Releases, in the order of the contracting process (ocid = OCDS_OCID_PREFIX + "-" + pk):
- `tender` at publication: status, procurementMethod, mainProcurementCategory, periods,
  estimated value, lots (lots extension: `tender.lots`, `items[].relatedLot`);
- `tenderUpdate` at the opening session: numberOfTenderers (a count, never a bid's content);
- `tenderCancellation` / `tenderUpdate` when the consultation is cancelled or unsuccessful;
- `award` per AwardDecision once communicated (letters sent, or the contract notified): the
  winning supplier and the amount awarded — never another offer's price; the tenderers
  (names and SIRET) are listed only from then on;
- `contract` per notified Contract, and `contractAmendment` per ContractModification.

Organisations are identified by their SIRET under the org-id.guide scheme « FR-RCS » (the
French register list, whose own examples are SIRET; « FR-INSEE » is deprecated in its favour;
there is no « FR-SIRET » scheme). The ocid prefix « ocds-emegal » is a placeholder: a real
prefix must be registered with the Open Contracting Partnership before publishing.

Validation: the official release package schema (draft-04), whose `$ref` to the release
schema is resolved locally with `referencing` (no network), with date-time format checked
(ISO 8601 with a time zone)."""

import calendar
import json
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from emegalis.marches.award.models import AwardDecision, Contract, DecisionOutcome
from emegalis.marches.consultations.models import Consultation, Nature, Procedure, State
from emegalis.marches.deposit.models import PliStatus
from emegalis.marches.opendata.decp import cpv_code, number, path_of
from emegalis.organisations.models import Organisation

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"


DEFAULT_OCID_PREFIX = "ocds-emegal"


SCHEME = "FR-RCS"


LOTS_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/"
    "v1.1.5/extension.json"
)


LICENSE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence"


METHODS = {
    Procedure.MAPA: "open",
    Procedure.AO_OUVERT: "open",
    Procedure.AO_RESTREINT: "selective",
    Procedure.NEGOCIATION: "selective",
    Procedure.DIALOGUE: "selective",
    Procedure.SANS_PUBLICITE: "limited",
}


CATEGORIES = {Nature.TRAVAUX: "works", Nature.FOURNITURES: "goods", Nature.SERVICES: "services"}


def ocid(consultation: Consultation) -> str:
    prefix = getattr(settings, "OCDS_OCID_PREFIX", DEFAULT_OCID_PREFIX)
    return f"{prefix}-{consultation.pk}"


def when(moment: datetime | date) -> str:
    """ISO 8601 with the Paris offset: « 2026-03-02T14:00:00+01:00 » (a date: its midnight)."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))
    return timezone.localtime(moment).isoformat(timespec="seconds")


def value(amount: Decimal | None) -> dict | None:
    return None if amount is None else {"amount": number(amount), "currency": "EUR"}


def party_id(organisation: Organisation) -> str:
    return f"{SCHEME}-{organisation.siret or organisation.siren}"


def party(organisation: Organisation, roles: list[str]) -> dict:
    data = {
        "id": party_id(organisation),
        "name": organisation.name,
        "identifier": {
            "scheme": SCHEME,
            "id": organisation.siret or organisation.siren,
            "legalName": organisation.name,
        },
        "roles": roles,
    }
    address = {
        "streetAddress": organisation.address,
        "locality": organisation.city,
        "postalCode": organisation.postcode,
    }
    address = {k: v for k, v in address.items() if v}
    if address:
        data["address"] = {**address, "countryName": "France"}
    return data


def reference(organisation: Organisation) -> dict:
    return {"id": party_id(organisation), "name": organisation.name}


def _lot_id(lot) -> str:
    return f"lot-{lot.number}"


def _release(consultation: Consultation, suffix: str, moment, tag: str, **parts) -> dict:
    data = {
        "ocid": ocid(consultation),
        "id": f"{ocid(consultation)}-{suffix}",
        "date": when(moment),
        "tag": [tag],
        "initiationType": "tender",
        "language": "fr",
        "buyer": reference(consultation.organisation),
    }
    data.update(parts)
    return data


def tender_release(consultation: Consultation) -> dict:
    lots = list(consultation.lots.all())
    if lots:
        items = [
            {
                "id": str(lot.number),
                "description": lot.title,
                "classification": {
                    "scheme": "CPV",
                    "id": cpv_code(lot.cpv or consultation.cpv_main),
                },
                "relatedLot": _lot_id(lot),
            }
            for lot in lots
        ]
    else:
        items = [
            {
                "id": "1",
                "description": consultation.title,
                "classification": {"scheme": "CPV", "id": cpv_code(consultation.cpv_main)},
            }
        ]
    tender = {
        "id": consultation.reference,
        "title": consultation.title,
        "description": consultation.object,
        "status": "active",
        "procuringEntity": reference(consultation.organisation),
        "items": items,
        "procurementMethod": METHODS.get(consultation.procedure, "open"),
        "procurementMethodDetails": Procedure(consultation.procedure).label,
        "mainProcurementCategory": CATEGORIES[consultation.nature],
        "submissionMethod": [
            "electronicSubmission" if consultation.electronic_submission else "written"
        ],
        "tenderPeriod": {
            "startDate": when(consultation.published_at),
            "endDate": when(consultation.bids_deadline),
        },
        "enquiryPeriod": {
            "startDate": when(consultation.published_at),
            "endDate": when(consultation.questions_deadline),
        },
        # Only answered questions are public (on the notice, without the asker).
        "hasEnquiries": consultation.questions.filter(answered_at__isnull=False).exists(),
    }
    if consultation.estimated_value is not None:
        tender["value"] = value(consultation.estimated_value)
    if lots:
        tender["lots"] = [
            {"id": _lot_id(lot), "title": lot.title, "status": "active"}
            | ({"value": value(lot.estimated_value)} if lot.estimated_value is not None else {})
            for lot in lots
        ]
    return _release(
        consultation,
        "tender",
        consultation.published_at,
        "tender",
        parties=[party(consultation.organisation, ["buyer", "procuringEntity"])],
        tender=tender,
    )


def _tenderers(consultation: Consultation) -> list[Organisation]:
    """Companies with a pli opened at the session (in time, not replaced)."""
    ids = consultation.plis.filter(status=PliStatus.RECU).values("company")
    return list(Organisation.objects.filter(pk__in=ids).order_by("name", "pk"))


def opening_release(consultation: Consultation) -> dict | None:
    session = getattr(consultation, "opening_session", None)
    if session is None:
        return None
    count = consultation.plis.filter(status=PliStatus.RECU).count()
    return _release(
        consultation,
        "ouverture",
        session.opened_at,
        "tenderUpdate",
        tender={"id": consultation.reference, "status": "active", "numberOfTenderers": count},
    )


def _published_decisions(consultation: Consultation):
    decisions = consultation.decisions.select_related("lot", "winner__company").order_by(
        "decided_at", "pk"
    )
    return [d for d in decisions if d.letters_sent_at or hasattr(d, "contract")]


def award_id(decision: AwardDecision) -> str:
    return f"attribution-{decision.pk}"


def award_release(consultation: Consultation, decision: AwardDecision, tenderers) -> dict:
    award = {
        "id": award_id(decision),
        "title": str(decision.lot) if decision.lot_id else consultation.title,
        "date": when(decision.decided_at),
        "status": "active" if decision.outcome == DecisionOutcome.ATTRIBUE else "unsuccessful",
    }
    parties = [party(consultation.organisation, ["buyer", "procuringEntity"])]
    winner = decision.winner.company if decision.winner_id else None
    if decision.outcome == DecisionOutcome.ATTRIBUE and winner is not None:
        award["suppliers"] = [reference(winner)]
        if decision.amount is not None:
            award["value"] = value(decision.amount)
    if decision.lot_id:
        award["relatedLots"] = [_lot_id(decision.lot)]
    for company in tenderers:
        roles = ["tenderer"] + (["supplier"] if winner and company.pk == winner.pk else [])
        parties.append(party(company, roles))
    if winner is not None and all(c.pk != winner.pk for c in tenderers):
        parties.append(party(winner, ["tenderer", "supplier"]))
    tender = {
        "id": consultation.reference,
        "status": "complete" if consultation.state == State.ATTRIBUEE else "active",
        "tenderers": [reference(c) for c in tenderers],
        "numberOfTenderers": len(tenderers),
    }
    return _release(
        consultation,
        f"attribution-{decision.pk}",
        decision.decided_at,
        "award",
        parties=parties,
        tender=tender,
        awards=[award],
    )


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _period(start: date, months: int) -> dict:
    return {"startDate": when(start), "endDate": when(add_months(start, months))}


def _contract_data(contract: Contract) -> dict:
    return {
        "id": f"marche-{contract.pk}",
        "awardID": award_id(contract.decision),
        "title": contract.object[:255],
        "description": f"Marché n° {contract.number}",
        "status": "active",
        "value": value(contract.amount),
        "dateSigned": when(contract.notified_on),
        "period": _period(contract.notified_on, contract.duration_months),
    }


def contract_releases(consultation: Consultation, contract: Contract) -> list[dict]:
    parties = [
        party(consultation.organisation, ["buyer", "procuringEntity"]),
        party(contract.holder, ["supplier"]),
    ]
    releases = [
        _release(
            consultation,
            f"marche-{contract.pk}",
            contract.notified_on,
            "contract",
            parties=parties,
            contracts=[_contract_data(contract)],
        )
    ]
    amendments = []
    for modification in contract.modifications.select_related("holder").order_by("sequence"):
        amendments.append(
            {
                "id": str(modification.sequence),
                "date": when(modification.notified_on),
                "description": f"Modification n° {modification.sequence}",
                "rationale": modification.reason,
            }
        )
        data = _contract_data(contract)
        data["amendments"] = list(amendments)
        if modification.amount is not None:
            data["value"] = value(modification.amount)
        if modification.duration_months is not None:
            data["period"] = _period(contract.notified_on, modification.duration_months)
        mod_parties = list(parties)
        if modification.holder_id is not None:
            mod_parties.append(party(modification.holder, ["supplier"]))
        releases.append(
            _release(
                consultation,
                f"marche-{contract.pk}-modification-{modification.sequence}",
                modification.notified_on,
                "contractAmendment",
                parties=mod_parties,
                contracts=[data],
            )
        )
    return releases


def end_release(consultation: Consultation) -> dict | None:
    moment = consultation.state_changed_at or consultation.published_at
    if consultation.state == State.ANNULEE:
        tag, status = "tenderCancellation", "cancelled"
    elif consultation.state == State.INFRUCTUEUSE:
        tag, status = "tenderUpdate", "unsuccessful"
    else:
        return None
    return _release(
        consultation, "fin", moment, tag, tender={"id": consultation.reference, "status": status}
    )


def releases(consultation: Consultation) -> list[dict]:
    """Every release of a public consultation, oldest first (a draft has none)."""
    if not consultation.is_public or consultation.published_at is None:
        return []
    found = [tender_release(consultation)]
    opening = opening_release(consultation)
    if opening:
        found.append(opening)
    decisions = _published_decisions(consultation)
    tenderers = _tenderers(consultation) if decisions else []
    for decision in decisions:
        found.append(award_release(consultation, decision, tenderers))
        contract = Contract.objects.filter(decision=decision).select_related("holder").first()
        if contract is not None:
            found += contract_releases(consultation, contract)
    ending = end_release(consultation)
    if ending:
        found.append(ending)
    return found


def release_package(consultation: Consultation) -> dict:
    found = releases(consultation)
    path = reverse("marches_ocds", args=[consultation.pk])
    return {
        "uri": f"{settings.SITE_URL.rstrip('/')}{path}",
        "version": "1.1",
        "extensions": [LOTS_EXTENSION],
        "publishedDate": max((r["date"] for r in found), default=when(consultation.updated_at)),
        "publisher": {"name": "e-mégalis", "uri": settings.SITE_URL},
        "license": LICENSE,
        "releases": found,
    }


def _load(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime_with_zone(instance) -> bool:
    if not isinstance(instance, str):
        return True
    return datetime.fromisoformat(instance).tzinfo is not None


@cache
def _validator() -> Draft4Validator:
    package, release = _load("release-package-schema.json"), _load("release-schema.json")
    registry = Registry().with_resource(release["id"], Resource.from_contents(release, DRAFT4))
    return Draft4Validator(package, registry=registry, format_checker=FORMATS)


def package_errors(package: dict) -> list[str]:
    """The release package schema's verdict (French wording of the path, schema message)."""
    errors = sorted(_validator().iter_errors(package), key=lambda e: [str(p) for p in e.path])
    return [f"{path_of(e.absolute_path)} : {e.message}" for e in errors]
