"""A per-item timeout for the 202,322 state-test items that costs next to nothing.

pytest-timeout's ``thread`` method starts a ``threading.Timer`` for every item and
joins it afterwards. On the shared 2-core machine that start/join pair costs about
3 ms per item (the new thread must be scheduled twice), three times what the engine
spends on a typical case. Here one daemon thread serves every item: arming and
disarming an item are attribute writes, and the thread polls the deadline at most
once a second. When a deadline passes it calls pytest-timeout's own ``timeout_timer``
(stack dump of every thread, then ``os._exit(1)``), so a hang reads the same as
before. The engine releases the GIL while it runs, so the thread also fires when
the engine itself hangs (a parallel-mode deadlock).
"""

from __future__ import annotations

import threading
import time

POLL_SECONDS = 1.0


class Watchdog:
    def __init__(self, on_timeout) -> None:
        self._on_timeout = on_timeout  # (item, settings) -> None; does not return
        # One tuple (deadline, item, settings) or None, replaced whole, so the thread
        # never sees the deadline of one item with another item.
        self._armed: tuple[float, object, object] | None = None
        self._thread: threading.Thread | None = None

    def arm(self, item, settings) -> None:
        self._armed = (time.monotonic() + settings.timeout, item, settings)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="conformance-watchdog", daemon=True)
            self._thread.start()

    def disarm(self, item) -> bool:
        """Stops watching item; False if it was not the item being watched."""
        armed = self._armed
        if armed is not None and armed[1] is item:
            self._armed = None
            return True
        return False

    def _run(self) -> None:
        while True:
            armed = self._armed
            if armed is None:
                time.sleep(POLL_SECONDS)
                continue
            remaining = armed[0] - time.monotonic()
            if remaining > 0:
                time.sleep(min(remaining, POLL_SECONDS))
            elif self._armed is armed:  # still the same item: it really overran
                self._on_timeout(armed[1], armed[2])
                self._armed = None  # on_timeout returned (a debugger is attached)
