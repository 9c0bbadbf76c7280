"""Pages of the satisfaction questionnaire and of the reports (with their CSV exports)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render

from emegalis.core import clock, csv_export
from emegalis.core.downloads import name_download
from emegalis.core.forms import error_messages
from emegalis.organisations.roles import Role
from emegalis.organisations.selectors import roles_in

from .. import selectors
from ..models import QUESTIONS
from . import selectors as reports
from . import services


@login_required
def evaluate(request, pk):
    registration = selectors.get_registration(request.user, request.organisation, pk)
    if registration.trainee_id != request.user.pk:
        raise PermissionDenied("Seul le stagiaire donne son avis sur sa formation.")
    errors = []
    if request.method == "POST":
        try:
            services.evaluate(
                actor=request.user,
                registration=registration,
                answers={key: request.POST.get(key, "") for key in QUESTIONS},
                comment=request.POST.get("comment", ""),
            )
        except (ValidationError, PermissionDenied) as exc:
            errors = error_messages(exc)
        else:
            messages.success(request, "Merci : votre avis est enregistré.")
            return redirect("formations_mine")
    return render(
        request,
        "formations/evaluate.html",
        {
            "registration": registration,
            "questions": QUESTIONS,
            "errors": errors,
            "marks": range(1, 6),
        },
    )


def _csv(name: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name_download(response, name)
    response.write("\ufeff")  # BOM: spreadsheet software then reads UTF-8 correctly
    writer = csv_export.writer(response, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    return response


COURSE_HEADER = [
    "Formation",
    "Sessions",
    "Tenues",
    "Places",
    "Inscrits",
    "Remplissage (%)",
    "Satisfaction (sur 5)",
    "Réponses",
]


@login_required
def per_course(request, export: bool = False):
    if not request.user.is_platform_staff:
        raise PermissionDenied("Les rapports par formation sont ceux de l'équipe du syndicat.")
    rows = reports.per_course()
    if export:
        return _csv(
            "formations-rapport.csv",
            COURSE_HEADER,
            [
                [
                    r.course.title,
                    r.sessions,
                    r.held,
                    r.seats,
                    r.seated,
                    r.fill_rate or "",
                    r.satisfaction or "",
                    r.answers,
                ]
                for r in rows
            ],
        )
    return render(request, "formations/report_courses.html", {"rows": rows})


@login_required
def per_organisation(request, export: bool = False):
    organisation = request.organisation
    if organisation is None or Role.REFERENT not in roles_in(request.user, organisation):
        raise PermissionDenied("Le rapport de l'organisation est celui de son référent.")
    try:
        year = int(request.GET.get("annee", clock.today().year))
    except ValueError:
        year = clock.today().year
    rows = reports.per_organisation(organisation, year)
    if export:
        return _csv(
            f"formations-{year}.csv",
            ["Agent", "Heures", "Formations"],
            [[r["name"], r["hours"], " ; ".join(r["courses"])] for r in rows],
        )
    return render(
        request,
        "formations/report_organisation.html",
        {"rows": rows, "year": year, "hours": sum(r["hours"] for r in rows)},
    )
