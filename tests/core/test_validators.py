"""One-line identifiers: the same French refusal for services, forms and API schemas."""

import pytest
from django import forms
from django.core.exceptions import ValidationError

from emegalis.core.validators import (
    SingleLineValidator,
    check_single_line,
    forbidden_characters,
    pydantic_single_line,
)


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("2026\n001", "retour à la ligne"),
        ("2026\r001", "retour chariot"),
        ("2026\t001", "tabulation"),
        ("2026\x00001", "caractère nul"),
        ("2026\u2028001", "séparateur de ligne"),
        ("REF\u202eFDP", "U+202E"),
        ("REF\u200b1", "U+200B"),
        ("REF\x85", "U+0085"),
    ],
)
def test_control_and_invisible_characters_are_refused_by_name(value, named):
    with pytest.raises(ValidationError) as caught:
        check_single_line(value, label="La référence")
    message = caught.value.messages[0]
    assert message.startswith("La référence ne peut contenir aucun caractère de contrôle")
    assert named in message


@pytest.mark.parametrize("value", ["2026-015", "2026/015", "MAPA n° 12 — Écoles", "Œ (1)", ""])
def test_visible_characters_pass(value):
    assert check_single_line(value) == value
    assert forbidden_characters(value) == []


def test_the_form_validator_and_the_schema_check_say_the_same():
    class F(forms.Form):
        reference = forms.CharField(validators=[SingleLineValidator("La référence")])

    form = F({"reference": "A\tB"})
    assert not form.is_valid()
    with pytest.raises(ValueError) as caught:
        pydantic_single_line("La référence")("A\tB")
    assert form.errors["reference"] == [str(caught.value)]
    assert pydantic_single_line()("AB") == "AB"
    assert pydantic_single_line()(None) is None
