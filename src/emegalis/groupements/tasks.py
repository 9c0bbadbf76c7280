"""Background work of the groupements service, enqueued by `run_periodic`."""

from django.tasks import task

from . import services


@task()
def close_due_surveys() -> int:
    """Close every needs survey whose deadline has passed (its snapshot hashed in the journal)."""
    return services.close_due_surveys()


@task()
def remind_due_surveys() -> int:
    """Two days before a survey's deadline, e-mail the members that entered nothing yet."""
    return services.remind_due_surveys()
