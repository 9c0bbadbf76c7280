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
