"""The platform's own pages for everyone: legal notices, accessibility, personal data, terms
of use, site map and the help centre. Their variable parts (publisher, host, contacts) come
from settings.PLATFORM_IDENTITY."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from .help_topics import BY_SLUG, by_audience


def legal_notice(request):
    return render(request, "pages/legal_notice.html")


def accessibility(request):
    return render(request, "pages/accessibility.html", {"audit": settings.ACCESSIBILITY_AUDIT})


def personal_data(request):
    return render(request, "pages/personal_data.html")


def terms(request):
    return render(request, "pages/terms.html", {"version": settings.TERMS_VERSION})


def sitemap(request):
    return render(request, "pages/sitemap.html", {"topics": by_audience()})


def help_index(request):
    return render(request, "pages/help_index.html", {"topics": by_audience()})


def help_topic(request, slug: str):
    topic = BY_SLUG.get(slug)
    if topic is None:
        raise Http404("Page d'aide introuvable.")
    return render(request, f"help/{slug}.html", {"topic": topic})
