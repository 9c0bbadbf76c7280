urlpatterns: list = []
# Paths dictated by existing client software (S²LOW-style), mounted at the site root.
legacy_urlpatterns: list = []
