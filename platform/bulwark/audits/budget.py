"""The wall-clock budget of one audit attempt (AUDIT_MAX_SECONDS): when it runs out, the
transport is closed from a timer thread, which ends whatever read was waiting on the host."""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from workers.transports.base import Transport

log = logging.getLogger(__name__)


class BudgetExceeded(Exception):
    """The attempt ran past AUDIT_MAX_SECONDS (a host that trickles output for ever)."""


class Budget:
    """`with Budget(transport, seconds, what):` around the collection; once the budget ran out
    the block ends in BudgetExceeded, with the reason to record, whatever it raised."""

    def __init__(self, transport: Transport, seconds: float, what: str) -> None:
        self.transport, self.seconds, self.what = transport, seconds, what
        self.expired = threading.Event()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        self.expired.set()
        log.warning("%s: AUDIT_MAX_SECONDS (%g s) ran out; closing the connection", self.what,
                    self.seconds)  # fmt: skip
        try:
            self.transport.close()
        except Exception:  # the worker thread's own error handling records the audit
            log.exception("%s: closing the connection after the budget failed", self.what)

    def __enter__(self) -> Budget:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        # Even without an exception: the collection may have ended early on the closed
        # connection with partial facts, which must never be stored as a finished audit.
        if self.expired.is_set():
            raise BudgetExceeded(
                f"the audit ran longer than AUDIT_MAX_SECONDS ({self.seconds:g} s) and was "
                "stopped: the host kept it busy (endless or very slow output?)"
            ) from exc
