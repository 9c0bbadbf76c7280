"""Periodic jobs: each slot enqueued once, daily jobs after their time, jobs behind a setting
only when it is set; the real close_due_consultations task runs through the scheduler."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from emegalis.core import periodic
from emegalis.core.models import PeriodicRun
from emegalis.marches.consultations.models import State
from tests.marches.helpers import deadlines

CLOSE = "marches.close_due_consultations"
ALERTS = "marches.send_search_alerts"
MAILBOX = "actes.poll_mailbox"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.django_db
def test_a_slot_is_enqueued_once_and_the_next_slot_again(settings):
    settings.ACTES_IMAP_HOST = ""
    first = periodic.run_due(now=at("2026-12-01T10:00:05+01:00"))
    assert CLOSE in first
    assert CLOSE not in periodic.run_due(now=at("2026-12-01T10:00:50+01:00"))
    assert CLOSE in periodic.run_due(now=at("2026-12-01T10:01:01+01:00"))
    run = PeriodicRun.objects.get(name=CLOSE)
    assert run.last_slot == at("2026-12-01T10:01:00+01:00")


@pytest.mark.django_db
def test_the_scheduler_logs_each_job_with_the_slot_it_enqueued(settings, capsys):
    settings.ACTES_IMAP_HOST = ""
    settings.PERIODIC_JOBS = [j for j in settings.PERIODIC_JOBS if j["name"] == CLOSE]
    call_command("run_periodic", "--once")
    slot = PeriodicRun.objects.get(name=CLOSE).last_slot
    assert f"Mise en file : {CLOSE} (créneau {slot.isoformat()})" in capsys.readouterr().out
    call_command("run_periodic", "--once")  # the same slot is not enqueued again
    assert slot.isoformat() not in capsys.readouterr().out


@pytest.mark.django_db
def test_daily_job_runs_after_its_paris_time_once_a_day(settings):
    assert ALERTS not in periodic.run_due(now=at("2026-12-01T06:59:00+01:00"))
    assert ALERTS in periodic.run_due(now=at("2026-12-01T07:00:30+01:00"))
    assert ALERTS not in periodic.run_due(now=at("2026-12-01T18:00:00+01:00"))
    assert ALERTS in periodic.run_due(now=at("2026-12-02T07:05:00+01:00"))


@pytest.mark.django_db
def test_a_job_behind_a_setting_runs_only_when_it_is_set(settings):
    settings.ACTES_IMAP_HOST = ""
    assert MAILBOX not in periodic.run_due(now=at("2026-12-01T10:00:00+01:00"))
    settings.ACTES_IMAP_HOST = "127.0.0.1"
    settings.PERIODIC_JOBS = [j for j in settings.PERIODIC_JOBS if j["name"] == MAILBOX]
    # The job is due but not run here: the mailbox task would try to connect.
    job = periodic.jobs()[0]
    assert job.enabled and job.current_slot(at("2026-12-01T10:02:00+01:00")) is not None


def test_a_job_needs_exactly_one_schedule():
    with pytest.raises(ValueError):
        periodic.Job.from_setting({"name": "x", "task": "y"})
    with pytest.raises(ValueError):
        periodic.Job.from_setting(
            {"name": "x", "task": "y", "every_seconds": 5, "daily_at": "07:00"}
        )


def test_slots_are_aligned_and_daily_time_is_paris_time():
    job = periodic.Job.from_setting({"name": "x", "task": "y", "every_seconds": 300})
    assert job.current_slot(at("2026-12-01T10:07:59+01:00")) == at("2026-12-01T10:05:00+01:00")
    daily = periodic.Job.from_setting({"name": "x", "task": "y", "daily_at": "07:00"})
    # 07:00 in Paris is 06:00 UTC in winter and 05:00 UTC in summer.
    assert daily.current_slot(at("2026-12-01T06:30:00+00:00")) == at("2026-12-01T06:00:00+00:00")
    assert daily.current_slot(at("2026-07-01T05:30:00+00:00")) == at("2026-07-01T05:00:00+00:00")
    assert daily.current_slot(at("2026-07-01T04:59:00+00:00")) is None


@pytest.mark.django_db
def test_the_scheduler_closes_a_consultation_whose_deadline_passed(
    make_consultation,  # noqa: F811
    monkeypatch,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.PERIODIC_JOBS = [j for j in settings.PERIODIC_JOBS if j["name"] == CLOSE]
    consultation = make_consultation(**deadlines(40))
    later = consultation.bids_deadline + timedelta(minutes=2)
    monkeypatch.setattr("emegalis.core.clock.now", lambda: later)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_periodic", "--once")
    consultation.refresh_from_db()
    assert consultation.state == State.CLOTUREE
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("run_periodic", "--once")
    assert callbacks == []
