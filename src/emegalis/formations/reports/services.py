"""The satisfaction questionnaire, answered once by a trainee after a held session."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from emegalis.core import clock

from ..models import QUESTIONS, Evaluation, Registration, RegistrationState, SessionState
from ..services import journal_entry


@transaction.atomic
def evaluate(*, actor, registration: Registration, answers: dict, comment: str = "") -> Evaluation:
    if registration.trainee_id != actor.pk:
        raise PermissionDenied("Seul le stagiaire donne son avis sur sa formation.")
    if registration.state != RegistrationState.INSCRITE:
        raise ValidationError("Seuls les stagiaires inscrits donnent leur avis.")
    if registration.session.state != SessionState.TENUE:
        raise ValidationError("Le questionnaire s'ouvre une fois la session tenue.")
    if Evaluation.objects.filter(registration=registration).exists():
        raise ValidationError("Vous avez déjà donné votre avis sur cette session.")
    marks, errors = {}, []
    for key, label in QUESTIONS.items():
        try:
            mark = int(str(answers.get(key, "")).strip())
        except ValueError:
            mark = 0
        if not 1 <= mark <= 5:
            errors.append(f"« {label} » : une note de 1 à 5.")
        marks[key] = mark
    if errors:
        raise ValidationError(errors)
    evaluation = Evaluation.objects.create(
        registration=registration,
        answers=marks,
        comment=str(comment or "").strip()[:2000],
        submitted_at=clock.now(),
    )
    journal_entry(
        "evaluated",
        actor=actor,
        organisation=registration.organisation,
        target=evaluation,
        session=registration.session_id,
    )
    return evaluation
