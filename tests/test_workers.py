"""Workers: heartbeats say who is alive (on any host), the sweep is taken by one process at a time."""

import os
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models.functions import Now

from runs import cluster, driver, workers
from runs.models import ClusterHeartbeat, Lease

pytestmark = pytest.mark.django_db


def test_a_beat_makes_the_worker_and_its_cluster_alive():
    assert not cluster.cluster_alive()
    workers.beat()
    row = ClusterHeartbeat.objects.get()
    assert row.worker == workers.worker_name() and row.host == socket.gethostname()
    assert cluster.cluster_alive()
    assert workers.live_workers({row.worker, "otherhost:1:x"}) == {row.worker}
    workers.beat()
    assert ClusterHeartbeat.objects.count() == 1, "one row per worker, updated"


def test_a_stale_heartbeat_is_a_dead_worker_and_no_cluster():
    workers.beat()
    stale = settings.ERKWEB_WORKER_STALE
    ClusterHeartbeat.objects.update(beat_at=Now() - timedelta(seconds=stale + 1))
    assert not cluster.cluster_alive()
    assert workers.live_workers({workers.worker_name()}) == set()


def test_a_worker_of_this_host_whose_process_is_gone_is_dead_at_once():
    gone = subprocess.Popen(["true"])
    gone.wait()
    worker = f"{socket.gethostname()}:{gone.pid}:0000"
    ClusterHeartbeat.objects.create(worker=worker, host=socket.gethostname(), pid=gone.pid, cluster="x")
    assert workers.gone_from_this_host(worker)
    assert workers.live_workers({worker}) == set()
    # On another host, only the heartbeat can tell.
    assert not workers.gone_from_this_host(f"otherhost:{gone.pid}:0000")


def test_one_process_sweeps_at_a_time(monkeypatch):
    swept = []
    monkeypatch.setattr(driver, "sweep", lambda: swept.append(workers.worker_name()))
    monkeypatch.setattr(workers, "worker_name", lambda: "host:1:a")
    assert workers.try_sweep()
    monkeypatch.setattr(workers, "worker_name", lambda: "host:2:b")
    assert not workers.try_sweep(), "the first sweeper's lease has not expired"
    Lease.objects.update(expires_at=Now() - timedelta(seconds=1))
    assert workers.try_sweep()
    assert swept == ["host:1:a", "host:2:b"]


def test_threads_are_not_started_when_tasks_run_in_process(sync_tasks, monkeypatch):
    started = []
    monkeypatch.setattr(workers.threading, "Thread", lambda **kw: started.append(kw))
    workers.start(proc_name="Process-1")
    assert started == [] and not ClusterHeartbeat.objects.exists()


def test_a_pause_point_stops_the_first_process_to_reach_it_and_only_that(settings, tmp_path):
    import threading

    from runs import faults

    settings.DATA_DIR = tmp_path
    faults.pause_point("turn")  # not the point asked for: goes on
    settings.ERKWEB_PAUSE_AT = "turn"
    first = threading.Thread(target=faults.pause_point, args=("turn",), daemon=True)
    first.start()
    marker = tmp_path / "paused-at-turn"
    deadline = time.monotonic() + 10
    while not marker.exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    first.join(timeout=0.5)
    assert first.is_alive(), "it stays there, to be killed"
    faults.pause_point("turn")  # a second process reaching it goes on
    assert marker.read_text().strip() == str(os.getpid())


def test_the_sweep_is_scheduled_once_a_minute_as_a_backstop():
    """django-q2's scheduler runs about every 30 s in a cluster; its schedule is made on migrate, once."""
    from django_q.models import Schedule

    from runs.apps import SWEEP_SCHEDULE, ensure_sweep_schedule

    ensure_sweep_schedule(sender=None)  # a second migrate
    [schedule] = Schedule.objects.filter(name=SWEEP_SCHEDULE)
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == ("runs.tasks.sweep", "I", 1)
