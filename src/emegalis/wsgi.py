import os

from django.core.wsgi import get_wsgi_application

from emegalis.core.process_tuning import tune_server_process

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emegalis.settings")
application = get_wsgi_application()
tune_server_process()
