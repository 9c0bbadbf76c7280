from functools import wraps

from .access import require_service


def service_required(service: str):
    """Refuse a view (403 with a French message) unless the active organisation may use it."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            require_service(getattr(request, "organisation", None), service)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
