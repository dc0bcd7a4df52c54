"""The embedded default (no CELERY_BROKER_URL): tasks run in a background thread pool of the
process that enqueues them, and schedules fire from an in-process celery beat reading the same
django-celery-beat tables as the production `beat` service.

EMBEDDED_TASKS=thread (the default) makes "audit now" return at once; EMBEDDED_TASKS=eager runs
each task in the caller when it is enqueued (the test suite and one-shot scripts).
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from celery import Task
from celery.beat import Service
from celery.contrib.django.task import DjangoTask
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError, close_old_connections, connections
from django_celery_beat.schedulers import DatabaseScheduler

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
# Tasks submitted and not finished (waiting on their countdown, queued or running): a retry is
# submitted before the attempt that asked for it ends, so the count is 0 only when nothing is
# left to do.
_in_flight = 0
_idle = threading.Condition()


def threaded() -> bool:
    """True when tasks go to this process's background pool (no broker, EMBEDDED_TASKS=thread)."""
    return getattr(settings, "EMBEDDED_TASKS", "") == "thread"


def pool() -> ThreadPoolExecutor:
    """The process's task pool, made on first use. Its threads are not daemons: a command that
    enqueued audits (manage.py audit without --wait) finishes them before it exits."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.EMBEDDED_WORKERS, thread_name_prefix="bulwark-task"
            )
        return _pool


def submit(task: Task, args: tuple[Any, ...], kwargs: dict[str, Any], delay: float) -> None:
    """Run the task in the pool, after `delay` seconds (a retry's countdown)."""
    _count(+1)
    if delay > 0:
        timer = threading.Timer(delay, _enqueue, (task, args, kwargs))
        timer.daemon = True
        timer.start()
        return
    _enqueue(task, args, kwargs)


def wait_idle(timeout: float) -> bool:
    """Wait until no submitted task is left (none waiting, queued or running); False when some
    still are after `timeout` seconds."""
    with _idle:
        return _idle.wait_for(lambda: _in_flight == 0, timeout)


def _count(change: int) -> None:
    global _in_flight
    with _idle:
        _in_flight += change
        if _in_flight == 0:
            _idle.notify_all()


def _enqueue(task: Task, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        pool().submit(_run, task, args, kwargs)
    except RuntimeError:  # the pool is shut down (the process is exiting): nothing will run
        _count(-1)
        raise


def _run(task: Task, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    close_old_connections()
    try:
        # apply() is Celery's own in-process execution: the task's retries and error logging
        # behave as in the eager mode.
        task.apply(args, kwargs)
    except Exception:
        log.exception("embedded task %s%r failed", task.name, args)
    finally:
        # Each pool thread has its own connection; close it rather than leak one per thread.
        connections.close_all()
        _count(-1)


class EmbeddedTask(DjangoTask):  # type: ignore[misc]
    """The app's task class (Django's, with delay_on_commit): with a broker, Celery sends it;
    embedded, it goes to the pool."""

    def apply_async(
        self,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        *rest: Any,
        **options: Any,
    ) -> Any:
        if not threaded():
            return super().apply_async(args, kwargs, *rest, **options)
        delay = float(options.get("countdown") or 0)
        submit(self, tuple(args or ()), dict(kwargs or {}), delay)
        return None


# -- the in-process scheduler ---------------------------------------------------------------------


class RecordingScheduler(DatabaseScheduler):  # type: ignore[misc]
    """django-celery-beat's scheduler, except that a busy database never loses a run's record.

    Upstream's sync() drops the entry it was saving when the database errs (SQLite busy with an
    audit's results, here in the same process), and a lost last_run_at fires the schedule again
    after a restart. This one retries, and keeps what still failed for the next sync.
    """

    def sync(self) -> None:
        for attempt in range(5):
            close_old_connections()
            busy = False
            for name in list(self._dirty):
                try:
                    self._schedule[name].save()
                except (KeyError, TypeError, ObjectDoesNotExist):
                    continue  # kept, as upstream does (the task was deleted or is changing)
                except DatabaseError as exc:
                    log.info("recording the run of %s: %s (retrying)", name, exc)
                    busy = True
                    continue
                self._dirty.discard(name)
            if not busy:
                return
            time.sleep(0.2 * (attempt + 1))
        log.warning("runs not recorded yet (kept for the next sync): %s", sorted(self._dirty))


class Scheduler(threading.Thread):
    """celery beat's Service with the DatabaseScheduler, in a daemon thread of this process.

    Only one process per data folder runs it (an exclusive lock on var/scheduler.lock), so
    several web processes on one embedded database never fire a schedule twice.
    """

    def __init__(self, app: Any, lock_path: Path, *, max_interval: float = 5.0) -> None:
        super().__init__(name="bulwark-scheduler", daemon=True)
        self.app = app
        self.lock_path = lock_path
        self.service = Service(app, max_interval=max_interval, scheduler_cls=RecordingScheduler)
        self._lock_file: IO[str] | None = None

    def acquire(self) -> bool:
        """Take the data folder's scheduler lock; False when another process holds it."""
        handle = self.lock_path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def run(self) -> None:
        self.app.set_current()
        try:
            self.service.start()
        except Exception:
            log.exception("the embedded scheduler stopped")
        finally:
            connections.close_all()
            if self._lock_file is not None:
                self._lock_file.close()  # releases the lock

    def stop(self) -> None:
        self.service.stop(wait=True)
        self.join(timeout=30)


_scheduler: Scheduler | None = None


def start_scheduler() -> Scheduler | None:
    """Start this process's in-process scheduler in the embedded default, once. None when a
    broker is configured (celery beat runs the schedules), or another process holds the lock."""
    global _scheduler
    if not threaded():
        return None
    from bulwark.celery_app import app

    with _lock:
        if _scheduler is not None and _scheduler.is_alive():
            return _scheduler
        scheduler = Scheduler(app, Path(settings.DATA_DIR) / "scheduler.lock")
        if not scheduler.acquire():
            log.info("the embedded scheduler runs in another process (lock held)")
            return None
        scheduler.start()
        _scheduler = scheduler
        return scheduler
