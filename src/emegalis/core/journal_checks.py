"""The journal's full check run in the background from the operator's screen: a request is a
row (JournalVerification), a worker runs journal_audit.verify and writes the outcome there."""

from django.db import transaction

from . import clock, journal, journal_audit
from .models import JournalVerification, JournalVerificationStatus


def request_verification(*, actor) -> JournalVerification:
    """Record the request and queue the check once the row is committed."""
    from .tasks import verify_journal_in_background

    with transaction.atomic():
        verification = JournalVerification.objects.create(
            requested_at=clock.now(), requested_by_label=actor.email
        )
        journal.record(
            action="journal.verification_requested",
            actor=actor,
            object_type="journal_verification",
            object_id=str(verification.pk),
        )
        transaction.on_commit(lambda: verify_journal_in_background.enqueue(verification.pk))
    return verification


def run_verification(verification_pk: int) -> JournalVerification:
    verification = JournalVerification.objects.get(pk=verification_pk)
    verification.status = JournalVerificationStatus.RUNNING
    verification.save(update_fields=["status"])
    try:
        report = journal_audit.verify()
    except Exception as exc:  # the outcome is shown to the operator, whatever it is
        verification.status = JournalVerificationStatus.FAILED
        verification.message = f"La vérification n'a pas pu aller au bout : {exc}"
    else:
        verification.entries = report.entries
        problem = report.first_problem
        if problem is None:
            verification.status = JournalVerificationStatus.INTACT
            verification.message = f"{report.entries} entrées vérifiées : chaînage intact" + (
                f", dernière entrée attestée par un témoin extérieur : n° "
                f"{report.last_witnessed} ({report.last_witness_source})."
                if report.last_witnessed
                else ", aucune entrée encore attestée par un témoin extérieur."
            )
        else:
            more = len(report.problems) - 1
            verification.status = JournalVerificationStatus.ALTERED
            verification.message = f"Journal altéré : {problem.message}." + (
                f" ({more} autre(s) anomalie(s))" if more else ""
            )
    verification.finished_at = clock.now()
    verification.save(update_fields=["status", "message", "entries", "finished_at"])
    return verification
