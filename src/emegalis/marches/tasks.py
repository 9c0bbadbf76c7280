"""Background work of the procurement room (django.tasks).

Enqueued by the scheduler (`manage.py run_periodic`, settings.PERIODIC_JOBS):
`close_due_consultations` and `issue_missing_receipts` every minute, `send_search_alerts`
once a day.
"""

from django.tasks import task

from . import receipt_issuance, services
from .models import SavedSearch


@task()
def send_search_alerts() -> int:
    """E-mail every alert's new matching consultations; returns how many e-mails were sent."""
    sent = 0
    for alert in SavedSearch.objects.select_related("user").order_by("pk").iterator():
        if services.send_alert(alert=alert):
            sent += 1
    return sent


@task()
def close_due_consultations() -> int:
    return services.close_due_consultations()


@task()
def issue_missing_receipts() -> int:
    return receipt_issuance.issue_missing_receipts()
