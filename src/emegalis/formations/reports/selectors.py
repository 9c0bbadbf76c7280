"""The reports: per course (sessions, fill rate, satisfaction) for the staff; per organisation
and per year (people trained, hours, courses) for its référent and the staff."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q

from ..models import (
    QUESTIONS,
    Certificate,
    Course,
    Evaluation,
    RegistrationState,
    SessionState,
)


def satisfaction(evaluations) -> dict[str, Decimal | None]:
    """The mean mark of each question, and overall, to the tenth."""
    rows = [e.answers for e in evaluations]
    means = {}
    for key in QUESTIONS:
        marks = [r[key] for r in rows if key in r]
        means[key] = (Decimal(sum(marks)) / len(marks)).quantize(Decimal("0.1")) if marks else None
    values = [v for v in means.values() if v is not None]
    means["ensemble"] = (sum(values) / len(values)).quantize(Decimal("0.1")) if values else None
    return means


@dataclass
class CourseReport:
    course: Course
    sessions: int
    held: int
    seats: int
    seated: int
    satisfaction: Decimal | None
    answers: int

    @property
    def fill_rate(self) -> int | None:
        return round(100 * self.seated / self.seats) if self.seats else None


def per_course() -> list[CourseReport]:
    reports = []
    for course in Course.objects.all():
        sessions = course.sessions.exclude(state=SessionState.ANNULEE).annotate(
            seated=Count("registrations", filter=Q(registrations__state=RegistrationState.INSCRITE))
        )
        evaluations = list(Evaluation.objects.filter(registration__session__course=course))
        reports.append(
            CourseReport(
                course=course,
                sessions=len(sessions),
                held=sum(1 for s in sessions if s.state == SessionState.TENUE),
                seats=sum(s.capacity for s in sessions),
                seated=sum(s.seated for s in sessions),
                satisfaction=satisfaction(evaluations)["ensemble"],
                answers=len(evaluations),
            )
        )
    return reports


def per_organisation(organisation, year: int) -> list[dict]:
    """The people of the organisation attested in the year, with their hours and courses."""
    certificates = Certificate.objects.filter(
        registration__organisation=organisation, issued_at__year=year
    ).select_related("registration__trainee", "registration__session__course")
    people: dict[int, dict] = {}
    for certificate in certificates:
        trainee = certificate.registration.trainee
        row = people.setdefault(
            trainee.pk,
            {"name": trainee.get_full_name() or trainee.email, "hours": Decimal(0), "courses": []},
        )
        row["hours"] += certificate.hours
        row["courses"].append(certificate.registration.session.course.title)
    return sorted(people.values(), key=lambda r: r["name"])
