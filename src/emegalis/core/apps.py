from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "emegalis.core"
    label = "core"
    verbose_name = "Noyau"

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import durable

        connection_created.connect(durable.refuse_asynchronous_commit)
