from django import forms

from emegalis.core.forms import StyledFormMixin


class DecisionForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label="Motif (en cas de refus)", max_length=300, required=False)


class EmployeeForm(StyledFormMixin, forms.Form):
    trainee = forms.ChoiceField(label="Salarié à inscrire")

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.people = {str(p.pk): p for p in people}
        self.fields["trainee"].choices = [(str(p.pk), p.get_full_name() or p.email) for p in people]

    def person(self):
        return self.people[self.cleaned_data["trainee"]]


class CapacityForm(StyledFormMixin, forms.Form):
    capacity = forms.IntegerField(label="Places", min_value=1, max_value=500)


class CancelSessionForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label="Motif de l'annulation", max_length=300)


DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CourseForm(StyledFormMixin, forms.Form):
    title = forms.CharField(label="Intitulé", max_length=200)
    audience = forms.ChoiceField(label="Public")
    objectives = forms.CharField(label="Objectifs", widget=forms.Textarea(attrs={"rows": 3}))
    prerequisites = forms.CharField(
        label="Prérequis", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    duration_hours = forms.DecimalField(
        label="Durée (heures)", min_value=0.5, max_value=200, decimal_places=1, localize=True
    )
    methods = forms.CharField(
        label="Méthodes pédagogiques", widget=forms.Textarea(attrs={"rows": 2})
    )
    assessment = forms.CharField(
        label="Évaluation des acquis", widget=forms.Textarea(attrs={"rows": 2})
    )
    access_conditions = forms.CharField(
        label="Modalités et délais d'accès", widget=forms.Textarea(attrs={"rows": 2})
    )
    accessibility = forms.CharField(
        label="Accessibilité aux personnes en situation de handicap",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    price = forms.CharField(label="Tarif", max_length=200)
    contact = forms.CharField(label="Contact", max_length=200)

    def __init__(self, *args, **kwargs):
        from .models import Audience

        super().__init__(*args, **kwargs)
        self.fields["audience"].choices = Audience.choices


class SessionForm(StyledFormMixin, forms.Form):
    course = forms.ChoiceField(label="Formation")
    first_day = forms.DateField(label="Premier jour", widget=DATE)
    last_day = forms.DateField(label="Dernier jour", widget=DATE)
    halves = forms.ChoiceField(
        label="Demi-journées",
        choices=[
            ("journee", "Journées entières"),
            ("matin", "Matins"),
            ("apres_midi", "Après-midi"),
        ],
    )
    capacity = forms.IntegerField(label="Places", min_value=1, max_value=500)
    minimum = forms.IntegerField(label="Minimum pour tenir la session", min_value=1, initial=1)
    quota_per_organisation = forms.IntegerField(
        label="Places au plus par organisation", min_value=1, required=False
    )
    registration_deadline = forms.DateField(label="Date limite d'inscription", widget=DATE)
    venue = forms.CharField(label="Lieu", max_length=200, required=False)
    video_url = forms.URLField(label="Lien de visioconférence", required=False)
    trainers = forms.CharField(
        label="Formateurs (adresses électroniques, séparées par des virgules)",
        required=False,
        max_length=1000,
    )

    def __init__(self, *args, courses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.courses = {str(c.pk): c for c in courses}
        self.fields["course"].choices = [(str(c.pk), c.title) for c in courses]

    def clean_trainers(self):
        from emegalis.organisations.models import User

        emails = [e.strip().lower() for e in self.cleaned_data["trainers"].split(",") if e.strip()]
        users = list(User.objects.filter(email__in=emails, is_active=True))
        missing = sorted(set(emails) - {u.email.lower() for u in users})
        if missing:
            raise forms.ValidationError(f"Aucun compte actif pour : {', '.join(missing)}.")
        return users

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["course"] = self.courses[data["course"]]
        return data


class SessionChangeForm(SessionForm):
    """Moving a session: its dates, half-days, deadline, place and trainers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("course", "capacity", "minimum", "quota_per_organisation"):
            del self.fields[name]

    def values(self) -> dict:
        return dict(self.cleaned_data)
