# Not for production: Django's ASGI handler spools every request body over
# FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file, which the deposit of plis forbids (their
# plaintext never touches disk). Serve emegalis.wsgi (README, "Production").
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emegalis.settings")
application = get_asgi_application()
