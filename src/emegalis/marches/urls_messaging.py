"""URLs of the messaging pages (included by marches/urls.py)."""

urlpatterns: list = []
