"""Demo data of the formations service, through its services: the four courses of the
issue, a session already held (its sheets signed, the attendee's attestation issued), future
sessions (one for companies full, with a waiting list), and registrations: the Commune de
Lorient's référent registered, Hennebont's agent waiting for his référent's approval."""

from datetime import timedelta

from emegalis.core import clock
from emegalis.formations import services
from emegalis.formations.attendance import services as attendance
from emegalis.formations.certificates import services as certificates
from emegalis.formations.models import Course
from emegalis.organisations.models import Organisation, User

COMMON = {
    "prerequisites": "Savoir utiliser un navigateur web.",
    "assessment": "Exercices pratiques sur la plateforme de démonstration et quiz final.",
    "access_conditions": "Inscription en ligne jusqu'à la date limite de la session ; réponse "
    "sous 48 heures.",
    "accessibility": "Salles accessibles aux personnes à mobilité réduite ; pour tout autre "
    "aménagement, contactez-nous avant la session.",
    "contact": "formations@e-megalis.bzh — 02 97 00 00 00",
}
COURSES = [
    (
        "Déposer une offre électronique",
        "entreprises",
        3.5,
        "Retirer un DCE, poser une question, déposer un pli chiffré et obtenir son accusé de "
        "réception.",
        "Payant pour les entreprises : 90 € HT",
    ),
    (
        "Publier une consultation",
        "agents",
        7,
        "Créer une consultation, constituer le DCE, nommer la commission, publier et suivre les "
        "retraits et les questions.",
        "Gratuit pour les membres",
    ),
    (
        "Transmettre ses actes à la préfecture",
        "agents",
        3.5,
        "Transmettre un acte par @CTES, suivre l'accusé de réception, répondre aux courriers.",
        "Gratuit pour les membres",
    ),
    (
        "Travailler en groupement de commandes",
        "agents",
        7,
        "Constituer un groupement, recenser les besoins, lancer la consultation et répartir le "
        "marché.",
        "Gratuit pour les membres",
    ),
]


def _user(local_part: str) -> User | None:
    return User.objects.filter(email=f"{local_part}@demo.e-megalis.bzh").first()


def _session(staff, course, days, *, capacity, **extra):
    first = clock.today() + timedelta(days=days)
    while first.weekday() >= 5:
        first += timedelta(days=1)
    return services.create_session(
        actor=staff,
        course=course,
        first_day=first,
        last_day=first,
        halves="journee" if course.duration_hours > 4 else "matin",
        capacity=capacity,
        registration_deadline=first - timedelta(days=3),
        **extra,
    )


def load(organisations: dict[str, Organisation]) -> None:
    """Idempotent: running it again must not duplicate anything."""
    staff = _user("operateur")
    if staff is None or Course.objects.exists():
        return
    courses = {}
    for title, audience, hours, objectives, price in COURSES:
        courses[title] = services.create_course(
            actor=staff,
            title=title,
            audience=audience,
            duration_hours=hours,
            objectives=objectives,
            methods="Alternance d'exposés courts et de manipulations sur la plateforme, par "
            "groupes de 12 au plus.",
            price=price,
            **COMMON,
        )
    lorient, agglo = organisations.get("lorient"), organisations.get("agglo")
    referent_lorient, referent_agglo = _user("referent.lorient"), _user("referent.agglo")
    buyer = _user("acheteur.agglo")
    publish = courses["Publier une consultation"]
    # Held a month ago, the agglomération's buyer attended.
    with clock.shifted(timedelta(days=-40)):
        past = _session(staff, publish, 10, capacity=12, venue="Syndicat, Vannes")
        if buyer and agglo and referent_agglo:
            asked = services.request_registration(actor=buyer, organisation=agglo, session=past)
            services.decide(actor=referent_agglo, registration=asked, approve=True)
    # The trainer's sheets, on each half-day: the buyer checked in with the room's code.
    # (clock.shifted sets the offset from the real time: compute it outside any shift.)
    for slot in past.slots.all():
        with clock.shifted(timedelta(days=(slot.date - clock.today()).days)):
            sheet = attendance.open_sheet(actor=staff, slot=slot)
            if buyer and past.registrations.filter(trainee=buyer).exists():
                attendance.check_in(actor=buyer, slot=slot, code=sheet.code)
            attendance.countersign(actor=staff, slot=slot)
    services.close_due_sessions()
    services.mark_held(actor=staff, session=past)
    certificates.issue(actor=staff, session=past)
    upcoming = _session(staff, publish, 21, capacity=12, venue="Maison de l'agglomération, Lorient")
    hennebont, trainee = organisations.get("hennebont"), _user("stagiaire.hennebont")
    if hennebont and trainee:
        services.request_registration(actor=trainee, organisation=hennebont, session=upcoming)
    actes = _session(
        staff,
        courses["Transmettre ses actes à la préfecture"],
        14,
        capacity=10,
        video_url="https://visio.e-megalis.bzh/formation-actes",
    )
    if lorient and referent_lorient:
        asked = services.request_registration(
            actor=referent_lorient, organisation=lorient, session=actes
        )
        services.decide(actor=referent_lorient, registration=asked, approve=True)
    _session(
        staff,
        courses["Travailler en groupement de commandes"],
        35,
        capacity=12,
        venue="Maison de l'agglomération, Lorient",
    )
    # For companies: two seats, three companies — the third waits.
    companies = _session(
        staff, courses["Déposer une offre électronique"], 10, capacity=2, venue="CCI, Lorient"
    )
    for local_part, key in (
        ("entreprise.armor", "armor"),
        ("entreprise.breizh", "breizh"),
        ("entreprise.oceane", "oceane"),
    ):
        representative = _user(local_part)
        if representative and key in organisations:
            services.register_employee(
                actor=representative,
                company=organisations[key],
                session=companies,
                trainee=representative,
            )
