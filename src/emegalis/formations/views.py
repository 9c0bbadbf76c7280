"""Pages of the formations service: the public catalogue, registering, the référent's
approvals, the trainee's registrations, the staff's and trainers' sessions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from emegalis.core.forms import add_service_errors, error_messages
from emegalis.organisations.roles import Role
from emegalis.organisations.selectors import roles_in

from . import selectors, services
from .certificates import services as certificates
from .forms import (
    CancelSessionForm,
    CapacityForm,
    CourseForm,
    DecisionForm,
    EmployeeForm,
    SessionChangeForm,
    SessionForm,
)
from .models import Audience, RegistrationState


def _flash(request, exc) -> None:
    for message in error_messages(exc):
        messages.error(request, message)


def catalogue(request):
    return render(
        request,
        "formations/catalogue.html",
        {"courses": selectors.public_courses(), "audiences": Audience},
    )


def course(request, slug):
    found = selectors.get_public_course(slug)
    organisation = getattr(request, "organisation", None)
    is_company_rep = bool(
        request.user.is_authenticated
        and organisation is not None
        and Role.ENTREPRISE in roles_in(request.user, organisation)
    )
    sessions = list(selectors.sessions_of(found))
    return render(
        request,
        "formations/course.html",
        {
            "course": found,
            "sessions": sessions,
            "is_company_rep": is_company_rep,
            "employee_form": EmployeeForm(people=selectors.company_people(organisation))
            if is_company_rep
            else None,
        },
    )


@login_required
@require_POST
def register(request, pk):
    session = selectors.get_session(pk)
    organisation = request.organisation
    try:
        if organisation is None:
            raise PermissionDenied("Choisissez d'abord votre organisation.")
        if Role.ENTREPRISE in roles_in(request.user, organisation):
            form = EmployeeForm(request.POST, people=selectors.company_people(organisation))
            if not form.is_valid():
                raise ValidationError("Choisissez la personne à inscrire.")
            registration = services.register_employee(
                actor=request.user, company=organisation, session=session, trainee=form.person()
            )
        else:
            registration = services.request_registration(
                actor=request.user, organisation=organisation, session=session
            )
    except (ValidationError, PermissionDenied) as exc:
        _flash(request, exc)
        return redirect("formations_course", slug=session.course.slug)
    messages.success(
        request,
        f"Inscription de {registration.trainee.get_full_name() or registration.trainee.email} : "
        f"{registration.get_state_display().lower()}.",
    )
    return redirect(
        "formations_mine" if registration.trainee == request.user else "formations_approvals"
    )


@login_required
def mine(request):
    registrations = list(selectors.my_registrations(request.user))
    return render(
        request,
        "formations/mine.html",
        {
            "registrations": [
                (r, services.cancellation_refusal(request.user, r)) for r in registrations
            ],
            "states": RegistrationState,
        },
    )


@login_required
def approvals(request):
    organisation = request.organisation
    if not selectors.manages_registrations(request.user, organisation):
        raise PermissionDenied(
            "Les inscriptions de votre organisation se gèrent par son référent (ou le "
            "représentant d'une entreprise)."
        )
    registrations = list(selectors.organisation_registrations(request.user, organisation))
    return render(
        request,
        "formations/approvals.html",
        {
            "pending": [r for r in registrations if r.state == RegistrationState.A_VALIDER],
            "registrations": [
                (r, services.cancellation_refusal(request.user, r))
                for r in registrations
                if r.state != RegistrationState.A_VALIDER
            ],
            "form": DecisionForm(),
        },
    )


@login_required
@require_POST
def registration_action(request, pk, action):
    registration = selectors.get_registration(request.user, request.organisation, pk)
    try:
        if action in ("accepter", "refuser"):
            form = DecisionForm(request.POST)
            form.is_valid()
            services.decide(
                actor=request.user,
                registration=registration,
                approve=action == "accepter",
                reason=form.cleaned_data.get("reason", ""),
            )
        elif action in ("confirmer", "decliner"):
            services.answer_offer(
                actor=request.user, registration=registration, accept=action == "confirmer"
            )
        elif action == "annuler":
            services.cancel(actor=request.user, registration=registration)
        else:
            raise ValidationError("Action inconnue.")
    except (ValidationError, PermissionDenied) as exc:
        _flash(request, exc)
    else:
        registration.refresh_from_db()
        messages.success(request, f"Inscription : {registration.get_state_display().lower()}.")
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/formations/") else "formations_mine")


@login_required
def sessions(request):
    found = selectors.staff_sessions(request.user)
    if not request.user.is_platform_staff and not found.exists():
        raise PermissionDenied("Cette page est celle de l'équipe du syndicat et des formateurs.")
    return render(request, "formations/sessions.html", {"sessions": found})


@login_required
def session_detail(request, pk):
    session = selectors.get_managed_session(request.user, pk)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "tenue":
                services.mark_held(actor=request.user, session=session)
                messages.success(request, "Session marquée comme tenue.")
            elif request.POST.get("action") == "attestations":
                issued = certificates.issue(actor=request.user, session=session)
                messages.success(request, f"{len(issued)} attestation(s) délivrée(s).")
            elif request.POST.get("action") == "modifier":
                form = SessionChangeForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(
                        [
                            f"{form.fields[k].label} : {e}"
                            for k, errs in form.errors.items()
                            for e in errs
                        ]
                    )
                services.update_session(actor=request.user, session=session, **form.values())
                messages.success(
                    request, "Session modifiée : les inscrits ont reçu la mise à jour."
                )
            elif "capacity" in request.POST:
                form = CapacityForm(request.POST)
                if not form.is_valid():
                    raise ValidationError("Nombre de places invalide.")
                services.set_capacity(
                    actor=request.user, session=session, capacity=form.cleaned_data["capacity"]
                )
                messages.success(request, "Capacité modifiée.")
            else:
                form = CancelSessionForm(request.POST)
                form.is_valid()
                services.cancel_session(
                    actor=request.user,
                    session=session,
                    reason=form.cleaned_data.get("reason", ""),
                )
                messages.success(request, "Session annulée : les inscrits sont prévenus.")
        except (ValidationError, PermissionDenied) as exc:
            _flash(request, exc)
        return redirect("formations_session", pk=session.pk)
    return render(
        request,
        "formations/session.html",
        {
            "session": session,
            "registrations": session.registrations.select_related(
                "trainee", "organisation", "certificate"
            ),
            "slots": session.slots.all(),
            "capacity_form": CapacityForm(initial={"capacity": session.capacity}),
            "cancel_form": CancelSessionForm(),
            "change_form": SessionChangeForm(
                initial={
                    "first_day": session.slots.order_by("date").first().date
                    if session.slots.exists()
                    else None,
                    "last_day": session.slots.order_by("-date").first().date
                    if session.slots.exists()
                    else None,
                    "registration_deadline": session.registration_deadline,
                    "venue": session.venue,
                    "video_url": session.video_url,
                    "trainers": ", ".join(t.email for t in session.trainers.all()),
                }
            ),
        },
    )


@login_required
def course_create(request):
    if not request.user.is_platform_staff:
        raise PermissionDenied("Seule l'équipe du syndicat gère le catalogue.")
    form = CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.create_course(actor=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Formation « {created.title} » ajoutée au catalogue.")
            return redirect("formations_course", slug=created.slug)
    return render(request, "formations/form.html", {"form": form, "title": "Nouvelle formation"})


@login_required
def session_create(request):
    if not request.user.is_platform_staff:
        raise PermissionDenied("Seule l'équipe du syndicat programme les sessions.")
    form = SessionForm(request.POST or None, courses=selectors.public_courses())
    if request.method == "POST" and form.is_valid():
        try:
            created = services.create_session(actor=request.user, **form.values())
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Session programmée.")
            return redirect("formations_session", pk=created.pk)
    return render(request, "formations/form.html", {"form": form, "title": "Nouvelle session"})
