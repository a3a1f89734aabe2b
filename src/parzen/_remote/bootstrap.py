"""What each trial's Spark job carries: a few lines that load the trial-running code once per Python worker.

The code that runs a trial on an executor (`parzen._remote.run`, standard library
only) travels by value, since executors need not have parzen. Pickled into every job it
would cost about 40 KB of pickling on the driver and of unpickling on the executor per
trial: at a few dozen trials a second on a small machine, that is a tenth of the
throughput. Instead the driver pickles it once per Spark session into a broadcast
variable (`task_code`), each job carries only the closure below (a few hundred bytes:
the broadcast's handle, a key and the objective's source), and each Python worker
unpickles the code the first time it meets that key and keeps it for later tasks.

Like `_task`, this module imports only the standard library and is pickled by value.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Callable, Iterator
from typing import Any

_SHARED = "_parzen_task_code"  # a module in sys.modules: the loaded code outlives this copy of the closure


def spark_task(code: Any, key: str, source: Any) -> Callable[[Iterator[Any]], Iterator[bytes]]:
    """The function a trial's single-task job maps over its one-element partition.

    `code` is the broadcast pickled ``run_payload`` (identified by `key`, a hash of it);
    `source` is the pickled objective or its broadcast.
    """

    def run_partition(iterator: Iterator[Any]) -> Iterator[bytes]:
        from pyspark import TaskContext

        payloads = list(iterator)  # consume all input so Spark reuses this Python worker
        context = TaskContext.get()
        attempt = context.attemptNumber() if context is not None else 0
        run = _runner(code, key)
        for payload in payloads:
            yield run(payload, source, attempt)

    return run_partition


def _runner(code: Any, key: str) -> Callable[[dict[str, Any], Any, int], bytes]:
    """``run_payload`` for `key`: unpickled from the broadcast once per Python worker, then reused."""
    state = sys.modules.get(_SHARED)
    if state is None:
        state = type(sys)(_SHARED)
        sys.modules[_SHARED] = state
    runners: dict[str, Any] = getattr(state, "runners", None) or {}
    run = runners.get(key)
    if run is None:
        run = pickle.loads(code.value)
        state.runners = {key: run}  # type: ignore[attr-defined]  # one driver's code per worker
    return run
