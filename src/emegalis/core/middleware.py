"""Request-wide fixes that belong to no domain app."""

from django.http import Http404


class OutOfRangeIdMiddleware:
    """An id in a page's URL past the database's integer range (SQLite's driver refuses to
    bind it: OverflowError) names no object: a 404 like any unknown id, not a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OverflowError):
            raise Http404("Page introuvable.") from exception
        return None
