"""Background work of the procurement room (django.tasks).

Enqueued by the scheduler (`manage.py run_periodic`, settings.PERIODIC_JOBS):
`close_due_consultations` and `issue_missing_receipts` every minute, `send_search_alerts`
once a day.
"""

from django.tasks import task

from emegalis.marches.consultations import alerts
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import SavedSearch
from emegalis.marches.deposit import receipts


@task()
def send_search_alerts() -> int:
    """E-mail every alert's new matching consultations; returns how many e-mails were sent."""
    sent = 0
    for alert in SavedSearch.objects.select_related("user").order_by("pk").iterator():
        if alerts.send_alert(alert=alert):
            sent += 1
    return sent


@task()
def close_due_consultations() -> int:
    return consultations_services.close_due_consultations()


@task()
def issue_missing_receipts() -> int:
    return receipts.issue_missing_receipts()
