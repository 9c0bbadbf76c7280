"""Showing a service's refusal in a page.

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
