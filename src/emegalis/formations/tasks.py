"""Background work of the formations service, enqueued by `run_periodic`."""

from django.tasks import task

from . import services


@task()
def expire_offers() -> int:
    """A seat offered and not confirmed in time passes to the next person waiting."""
    return services.expire_offers()


@task()
def close_due_sessions() -> int:
    """Close the registrations of the sessions whose deadline has passed."""
    return services.close_due_sessions()


@task()
def send_reminders() -> int:
    """Two days before a session, remind each person seated."""
    from . import convocations

    return convocations.send_reminders()
