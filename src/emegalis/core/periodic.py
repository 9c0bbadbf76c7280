"""Periodic jobs without cron: `manage.py run_periodic` calls run_due() every few seconds.

A job (settings.PERIODIC_JOBS) runs either every N seconds or once a day at a Europe/Paris
time. Time is cut into slots (the N-second window, or the day after its time); a job is due
when its current slot is later than the last one recorded in PeriodicRun. The row is taken
FOR UPDATE SKIP LOCKED, so several schedulers (one per server, say) never enqueue the same
slot twice. The job itself is a django.tasks task: the db_worker runs it.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from . import clock
from .models import PeriodicRun

logger = logging.getLogger(__name__)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    name: str
    task: str
    every: timedelta | None = None
    daily_at: time | None = None
    if_setting: str = ""

    @classmethod
    def from_setting(cls, spec: dict) -> "Job":
        every = spec.get("every_seconds")
        daily = spec.get("daily_at")
        if (every is None) == (daily is None):
            raise ValueError(f"{spec.get('name')}: give either every_seconds or daily_at.")
        return cls(
            name=spec["name"],
            task=spec["task"],
            every=timedelta(seconds=int(every)) if every is not None else None,
            daily_at=time.fromisoformat(daily) if daily is not None else None,
            if_setting=spec.get("if_setting", ""),
        )

    @property
    def enabled(self) -> bool:
        return not self.if_setting or bool(getattr(settings, self.if_setting, None))

    def current_slot(self, now: datetime) -> datetime | None:
        """The start of the slot `now` falls in, or None when a daily job's time has not
        come yet today."""
        if self.every is not None:
            elapsed = (now - EPOCH) // self.every
            return EPOCH + elapsed * self.every
        local = timezone.localtime(now)
        start = local.replace(
            hour=self.daily_at.hour, minute=self.daily_at.minute, second=0, microsecond=0
        )
        return start if local >= start else None


def jobs() -> list[Job]:
    return [Job.from_setting(spec) for spec in getattr(settings, "PERIODIC_JOBS", [])]


def run_due(*, now: datetime | None = None) -> list[str]:
    """Enqueue every job due at `now`; returns the names enqueued."""
    return [name for name, _slot in enqueue_due(now=now)]


def enqueue_due(*, now: datetime | None = None) -> list[tuple[str, datetime]]:
    """Enqueue every job due at `now`; returns each job enqueued with the slot it ran for."""
    now = now or clock.now()
    enqueued = []
    for job in jobs():
        if not job.enabled:
            continue
        slot = job.current_slot(now)
        if slot is None:
            continue
        PeriodicRun.objects.get_or_create(name=job.name)
        with transaction.atomic():
            run = (
                PeriodicRun.objects.select_for_update(skip_locked=True)
                .filter(name=job.name)
                .first()
            )
            if run is None or (run.last_slot is not None and run.last_slot >= slot):
                continue
            run.last_slot = slot
            run.last_enqueued_at = now
            run.save(update_fields=["last_slot", "last_enqueued_at"])
            task = import_string(job.task)
            transaction.on_commit(lambda task=task, name=job.name: _enqueue(task, name))
        enqueued.append((job.name, slot))
    return enqueued


def _enqueue(task, name: str) -> None:
    try:
        task.enqueue()
    except Exception:
        logger.exception("Periodic job %s could not be enqueued", name)
