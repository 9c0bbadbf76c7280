"""Legal minimum delays between the publication of a notice and its deadlines.

Every rule of the platform about minimum delays lives here, with its legal source. Delays are
counted in calendar days, in the Europe/Paris time zone, from the publication of the notice
(the date the notice is sent, which the platform treats as the publication date).

Sources (Code de la commande publique, CCP; figures as restated by the domain brief
docs/domain/marches.md §7, marked [secondary] there — check against Légifrance before
relying on them in a dispute):

- Appel d'offres ouvert — CCP R2161-2: 35 days from the sending of the notice; reduced by
  5 days (30) when bids may be sent electronically. CCP R2161-3: 15 days when a prior
  information notice (avis de préinformation) was published, 15 days in duly justified urgency.
- Appel d'offres restreint — CCP R2161-6: applications 30 days (15 in urgency, R2161-8);
  the bids deadline is set later, in the invitation (30 days, 25 electronic, 10 with a prior
  information notice or in urgency — R2161-7, R2161-8). The consultation published here is the
  call for applications, so its deadline follows the applications rule.
- Procédure avec négociation — CCP R2161-12: applications 30 days (15 in urgency, R2161-13).
- Dialogue compétitif — CCP R2161-24: applications 30 days.
- Procédure adaptée (MAPA) — the buyer sets a reasonable delay suited to the contract (CCP
  R2123-4 and the general rule on delays, R2143-1 [unconfirmed]); no figure in the code.
  Practitioners advise at least 20 days: the platform warns, it does not refuse.
- Marché sans publicité ni mise en concurrence préalable — no notice, no minimum.
- Plausible deadlines (a platform rule, not the code's): a deadline more than
  MAX_DEADLINE_YEARS (2) years ahead is refused. The code sets no maximum, but no
  consultation stays open that long: the longest real delays (competitive dialogue, large
  works with a prior information notice) are a few months. Two years leave every real case
  through and stop a mistyped year (9999, 2062 for 2026), which would otherwise keep the
  consultation « open » in every search and alert for decades.
- Additional information — CCP R2132-6: in formalised procedures the buyer sends additional
  information at least 6 days before the bids deadline (4 days in urgency), so questions must
  close early enough for the answer to reach every company in time."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

MAPA_RECOMMENDED_DAYS = 20


ANSWER_LEAD_DAYS = 6  # CCP R2132-6


ANSWER_LEAD_DAYS_URGENCY = 4  # CCP R2132-6, urgency


MAX_DEADLINE_YEARS = 2  # plausibility, see the module's docstring


_DEADLINE_LABELS = {
    "questions_deadline": "La date limite des questions",
    "bids_deadline": "La date limite de remise des plis",
}


@dataclass(frozen=True)
class Minimum:
    days: int
    reason: str


def minimum_delay(
    procedure: str, *, electronic: bool, prior_information: bool, urgency: bool
) -> Minimum | None:
    """The legal minimum number of days between publication and deadline, with its reason.

    None when the law sets no figure (MAPA, no-publicity procedure).
    """
    from emegalis.marches.consultations.models import Procedure

    if procedure == Procedure.AO_OUVERT:
        if urgency:
            return Minimum(15, "15 jours en cas d'urgence dûment justifiée (CCP R2161-3)")
        if prior_information:
            return Minimum(15, "15 jours après un avis de préinformation (CCP R2161-3)")
        if electronic:
            return Minimum(
                30,
                "35 jours réduits à 30 jours lorsque les offres sont transmises par voie "
                "électronique (CCP R2161-2)",
            )
        return Minimum(35, "35 jours à compter de l'envoi de l'avis (CCP R2161-2)")
    if procedure == Procedure.AO_RESTREINT:
        if urgency:
            return Minimum(15, "15 jours pour les candidatures en cas d'urgence (CCP R2161-8)")
        return Minimum(30, "30 jours pour la remise des candidatures (CCP R2161-6)")
    if procedure == Procedure.NEGOCIATION:
        if urgency:
            return Minimum(15, "15 jours pour les candidatures en cas d'urgence (CCP R2161-13)")
        return Minimum(30, "30 jours pour la remise des candidatures (CCP R2161-12)")
    if procedure == Procedure.DIALOGUE:
        return Minimum(30, "30 jours pour la remise des candidatures (CCP R2161-24)")
    return None


def is_formalised(procedure: str) -> bool:
    from emegalis.marches.consultations.models import Procedure

    return procedure in {
        Procedure.AO_OUVERT,
        Procedure.AO_RESTREINT,
        Procedure.NEGOCIATION,
        Procedure.DIALOGUE,
    }


def _local_date(moment: datetime):
    return timezone.localtime(moment).date()


def calendar_days(start: datetime, end: datetime) -> int:
    """Whole calendar days between two moments, counted on Europe/Paris dates."""
    return (_local_date(end) - _local_date(start)).days


def latest_plausible_deadline(now: datetime) -> datetime:
    """MAX_DEADLINE_YEARS years after `now`, same day and time (28 February for the 29th)."""
    try:
        return now.replace(year=now.year + MAX_DEADLINE_YEARS)
    except ValueError:
        return now.replace(year=now.year + MAX_DEADLINE_YEARS, day=28)


def _shown(moment: datetime) -> str:
    try:
        return f"{timezone.localtime(moment):%d/%m/%Y}"
    except (OverflowError, ValueError):  # 31/12/9999 at -05:00 has no Paris date
        return f"{moment:%d/%m/%Y}"


def implausible_deadlines(*, now: datetime, **deadlines: datetime | None) -> dict[str, list[str]]:
    """Errors (by field, in French, with the reason) for deadlines too far ahead to be real;
    see the module's docstring for the limit."""
    latest = latest_plausible_deadline(now)
    errors: dict[str, list[str]] = {}
    for name, value in deadlines.items():
        if value is not None and value > latest:
            errors[name] = [
                f"{_DEADLINE_LABELS.get(name, 'La date limite')} ({_shown(value)}) est à plus "
                f"de {MAX_DEADLINE_YEARS} ans d'aujourd'hui : aucune consultation ne reste "
                "ouverte aussi longtemps, vérifiez l'année saisie. Date possible au plus tard "
                f"le {_shown(latest)}."
            ]
    return errors


def check_deadlines(
    *,
    procedure: str,
    publication: datetime,
    questions_deadline: datetime | None,
    bids_deadline: datetime | None,
    electronic: bool,
    prior_information: bool,
    urgency: bool,
) -> None:
    """Raise a ValidationError (by field, in French, with the legal reason) when a deadline
    is impossible or shorter than the legal minimum."""
    errors: dict[str, list[str]] = {}
    if bids_deadline is None:
        errors["bids_deadline"] = ["Indiquez la date limite de remise des plis."]
    elif bids_deadline <= publication:
        errors["bids_deadline"] = [
            "La date limite de remise des plis doit être postérieure à la publication."
        ]
    else:
        minimum = minimum_delay(
            procedure, electronic=electronic, prior_information=prior_information, urgency=urgency
        )
        days = calendar_days(publication, bids_deadline)
        if minimum is not None and days < minimum.days:
            first_allowed = _local_date(publication) + timedelta(days=minimum.days)
            errors["bids_deadline"] = [
                f"Délai trop court : {days} jour{'s' if days > 1 else ''} entre la publication "
                f"et la date limite, le minimum légal est de {minimum.reason}. Date limite "
                f"possible au plus tôt le {first_allowed:%d/%m/%Y}."
            ]
    if questions_deadline is None:
        errors["questions_deadline"] = ["Indiquez la date limite des questions."]
    elif questions_deadline <= publication:
        errors["questions_deadline"] = [
            "La date limite des questions doit être postérieure à la publication."
        ]
    elif bids_deadline is not None and questions_deadline >= bids_deadline:
        errors["questions_deadline"] = [
            "La date limite des questions doit précéder la date limite de remise des plis."
        ]
    elif bids_deadline is not None and is_formalised(procedure):
        lead = ANSWER_LEAD_DAYS_URGENCY if urgency else ANSWER_LEAD_DAYS
        if bids_deadline - questions_deadline < timedelta(days=lead):
            errors["questions_deadline"] = [
                f"Les questions doivent être closes au moins {lead} jours avant la date limite "
                "de remise des plis : les réponses doivent parvenir à toutes les entreprises "
                f"{lead} jours avant cette date (CCP R2132-6)."
            ]
    if errors:
        raise ValidationError(errors)


def mapa_warning(*, procedure: str, publication: datetime, bids_deadline: datetime) -> str:
    """A recommendation (not a refusal) for adapted procedures with a short delay."""
    from emegalis.marches.consultations.models import Procedure

    if procedure != Procedure.MAPA:
        return ""
    days = calendar_days(publication, bids_deadline)
    if days >= MAPA_RECOMMENDED_DAYS:
        return ""
    return (
        f"Délai de {days} jours : le code impose seulement un délai raisonnable pour une "
        f"procédure adaptée, mais {MAPA_RECOMMENDED_DAYS} jours au moins sont recommandés."
    )


# Standstill (délai de suspension) between the rejection letters and the signature of the
# contract — CCP R2182-1: at least 11 days after the sending of the rejection decisions by
# electronic means, 16 days when they are sent by other means. The platform always sends its
# letters electronically (secure messaging), hence 11 days.
STANDSTILL_DAYS_ELECTRONIC = 11


STANDSTILL_DAYS_OTHER = 16


def standstill_end(sent_at: datetime, *, electronic: bool = True) -> date:
    """The last day of the standstill: the Europe/Paris date of sending + 11 days (16 when
    the letters were not sent electronically). The contract may be signed and notified from
    the day after.

    The code requires the standstill only for formalised procedures; the platform applies it
    to every procedure (MAPA included), which is the prudent practice and costs little.
    """
    days = STANDSTILL_DAYS_ELECTRONIC if electronic else STANDSTILL_DAYS_OTHER
    return _local_date(sent_at) + timedelta(days=days)
