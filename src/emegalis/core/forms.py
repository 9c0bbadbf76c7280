"""Shared form pieces: Bootstrap styling of every form, and a service's refusal shown in a page.

Services raise ValidationError (bad input, illegal transition) or PermissionDenied, with
messages in French. Views catch them around the service call and hand them here, so the
messages reach the user on the form they submitted or in a flash message.
"""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError


def error_messages(exc: ValidationError | PermissionDenied) -> list[str]:
    """The messages a service's refusal carries."""
    return list(exc.messages) if isinstance(exc, ValidationError) else [str(exc)]


def add_service_errors(
    form: forms.BaseForm, exc: ValidationError | PermissionDenied, field: str | None = None
) -> None:
    """Put a service's refusal on a bound form.

    Errors the service tied to a field the form has go to that field; the others go to
    `field`, by default the errors of the whole form.
    """
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else field, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(field, exc)
    else:
        form.add_error(field, str(exc))


class StyledFormMixin:
    """Bootstrap classes on every widget, and `is-invalid` on fields with errors.

    Django itself adds `aria-invalid` and `aria-describedby` (pointing at the error list
    `<id>_error` and the help text `<id>_helptext`), which `core/_field.html` renders.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            elif isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            else:
                css = "form-control"
            classes = widget.attrs.get("class", "").split()
            if css not in classes:
                widget.attrs["class"] = " ".join([*classes, css])

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
