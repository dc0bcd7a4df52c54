"""embedded.wait_idle: nothing submitted to the pool is left once it says idle, retries
(submitted with a countdown, before the attempt that asked for them ends) included."""

from __future__ import annotations

import threading
from typing import Any

from bulwark import embedded


class _Task:
    """The one method of a Celery task the pool calls: apply()."""

    def __init__(self, body: Any) -> None:
        self.name, self.body = "test.task", body

    def apply(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.body(*args, **kwargs)


def test_idle_waits_for_a_task_and_the_retry_it_submits() -> None:
    release = threading.Event()
    done: list[str] = []

    def retry() -> None:
        done.append("retry")

    def first() -> None:
        release.wait(5)
        embedded.submit(_Task(retry), (), {}, delay=0.3)  # a retry's countdown
        done.append("first")

    embedded.submit(_Task(first), (), {}, delay=0)
    assert not embedded.wait_idle(0.2)  # the first is waiting for its release
    release.set()
    assert embedded.wait_idle(10)
    assert done == ["first", "retry"]


def test_a_task_that_raises_still_counts_as_finished() -> None:
    def broken() -> None:
        raise ValueError("boom")

    embedded.submit(_Task(broken), (), {}, delay=0)
    assert embedded.wait_idle(10)
