"""URLs of the opendata pages (included by marches/urls.py)."""

urlpatterns: list = []
