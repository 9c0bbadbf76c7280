from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError

from emegalis.core.forms import add_service_errors, error_messages


class _Form(forms.Form):
    name = forms.CharField()
    document = forms.CharField(required=False)


def _bound_form() -> _Form:
    form = _Form({"name": "Lorient"})
    assert form.is_valid()
    return form


def test_error_messages_of_both_kinds_of_refusal():
    assert error_messages(ValidationError(["Un.", "Deux."])) == ["Un.", "Deux."]
    assert error_messages(PermissionDenied("Interdit.")) == ["Interdit."]


def test_service_errors_go_to_the_whole_form_by_default():
    form = _bound_form()
    add_service_errors(form, ValidationError("Refusé."))
    add_service_errors(form, PermissionDenied("Interdit."))
    assert form.non_field_errors() == ["Refusé.", "Interdit."]


def test_service_errors_about_a_form_field_go_to_that_field():
    form = _bound_form()
    add_service_errors(
        form,
        ValidationError({"name": "Nom déjà pris.", "siren": "SIREN invalide."}),
        "document",
    )
    assert form.errors["name"] == ["Nom déjà pris."]
    assert form.errors["document"] == ["SIREN invalide."]
    assert NON_FIELD_ERRORS not in form.errors
