"""URLs of the award pages (included by marches/urls.py)."""

urlpatterns: list = []
